"""Our evaluator against the reference evaluator's own numbers (tests/data/golden/evaluator, see its README.md):
two geometries in the reference's file formats, ground truth, seven prediction variants, and what the reference's
``DensePoseCocoEval`` computed on them (AP/AR, per-image similarity matrices, a traced pair point by point)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from densepose_ext.evaluation.evaluate import evaluate_densepose, score_image
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.results_file import load_results
from densepose_ext.surface.chart_vertex_geodesic import ChartVertexGeodesic
from densepose_ext.surface.smpl import load_smpl_chart_vertices

GOLDEN = Path(__file__).parent.parent / "data" / "golden" / "evaluator"
GEOMETRIES = ("toy", "tube")
VARIANTS = ("perfect", "perfect_div256", "uv_noise_0.05", "uv_noise_0.15", "part_flip_0.2", "box_jitter_0.1",
            "miss_fp_0.2")
# The contract: every number within 0.1 (percent) of the reference's.
TOLERANCE = 0.1


def load_json(path: Path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="module", params=GEOMETRIES)
def geometry(request):
    root = GOLDEN / request.param
    return {
        "name": request.param,
        "root": root,
        "gt": DensePoseGroundTruth(load_json(root / "gt.json"), str(root / "gt.json")),
        "distance": ChartVertexGeodesic.from_files(root / "geometry"),
        "expected": load_json(root / "expected.json")["variants"],
        "diagnostics": load_json(root / "diagnostics.json"),
    }


def reference_protocol(geometry, records):
    return evaluate_densepose(geometry["gt"], records, "per-part", geometry["distance"], points="reference",
                              geodesic="chart-vertex")


def test_fixtures_are_the_published_ones():
    manifest = load_json(GOLDEN / "manifest.json")["files"]
    copied = [p for p in GOLDEN.rglob("*") if p.is_file() and p.name not in ("manifest.json", "README.md")]
    assert len(copied) > 40
    for path in copied:
        entry = manifest[str(path.relative_to(GOLDEN))]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], path


@pytest.mark.parametrize("variant", VARIANTS)
def test_reference_protocol_reproduces_the_reference(geometry, variant):
    records = load_results(str(geometry["root"] / "results_json" / f"results_{variant}.json"))
    report = reference_protocol(geometry, records)
    expected = geometry["expected"][variant]
    assert report["conventions"] == {"kappa": report["kappa"], "points": "reference", "geodesic": "chart-vertex"}
    for metric in ("GPS", "GPSm", "IoU"):
        for key, value in expected[metric].items():
            assert report[metric][key] == pytest.approx(value, abs=TOLERANCE), (metric, key)


@pytest.mark.parametrize("variant", ["uv_noise_0.15", "box_jitter_0.1", "miss_fp_0.2"])
def test_per_image_similarities_equal_the_references(geometry, variant):
    """GPS, mask IoU and box IoU of every detection with every ground truth, as the reference's matrices."""
    gt = geometry["gt"]
    records = load_results(str(geometry["root"] / "results_json" / f"results_{variant}.json"))
    for image in geometry["diagnostics"]["variants"][variant]["per_image"]:
        people = gt.people(image["image_id"])
        assert [p["id"] for p in people] == image["gt_ids"]
        dets = [records[k - 1] for k in image["det_ids"]]  # detection id = position in the file + 1
        scores = score_image(people, dets, gt.image_sizes[image["image_id"]], "per-part", geometry["distance"],
                             "gt", points="reference")
        for ours, theirs in (("GPS", "gps"), ("IoU", "mask_iou"), ("box_iou", "box_iou")):
            # The reference stores no matrix (None) for an image without detections.
            expected = np.zeros(scores[ours].shape) if image[theirs] is None else np.array(image[theirs])
            np.testing.assert_allclose(scores[ours], expected, atol=1e-9, err_msg=f"image {image['image_id']} {ours}")


def test_traced_points_snap_and_measure_as_the_reference(geometry):
    """Chart-vertex snapping (nearest vertex of the part in (U, V)) and the distance file's pair order, point by point
    against the reference's own trace."""
    distance = geometry["distance"]
    for variant in VARIANTS:
        trace = [p for p in geometry["diagnostics"]["variants"][variant]["traced_pair"]["points"] if p["pred_I"]]
        gt_vertex = distance.nearest_chart_vertex([int(p["dp_I"]) for p in trace], [p["dp_U"] for p in trace],
                                                  [p["dp_V"] for p in trace])
        assert (gt_vertex + 1).tolist() == [p["gt_chart_vertex"] for p in trace]
        pred_vertex = distance.nearest_chart_vertex([p["pred_I"] for p in trace],
                                                    [p["pred_U_uint8"] / 255.0 for p in trace],
                                                    [p["pred_V_uint8"] / 255.0 for p in trace])
        assert (pred_vertex + 1).tolist() == [p["pred_chart_vertex"] for p in trace]
        assert (distance.distances.index[pred_vertex] + 1).tolist() == [p["pred_mesh_vertex"] for p in trace]
        np.testing.assert_allclose(distance.distances.vertex_distance(gt_vertex, pred_vertex),
                                   [p["geodesic_m"] for p in trace], atol=1e-7)


def test_reference_distances_have_the_planar_toys_geometry():
    """The toy is flat: its stored geodesics (shortest paths on the mesh's edges and diagonals) lie between the
    straight-line distance and 15 % more. Read in scipy's condensed order instead, they are off by 0.5 m on average."""
    distance = ChartVertexGeodesic.from_files(GOLDEN / "toy" / "geometry")
    info = load_json(GOLDEN / "toy" / "geometry" / "geometry_info.json")["layout"]
    res, metres = info["res"], info["meters"]
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, len(distance.distances.index), (2, 3000))
    # Chart vertex position on the doll: part p = 1 + 4 row + col covers a (B - A) / 4 x (B - A) / 6 cell.
    cv = load_smpl_chart_vertices(GOLDEN / "toy" / "geometry")
    col, row = (cv.part - 1) % info["cols"], (cv.part - 1) // info["cols"]
    width, height = (info["B"] - info["A"]) / info["cols"], (info["B"] - info["A"]) / info["rows"]
    xy = np.stack([info["A"] + (col + cv.uv[:, 0]) * width, info["A"] + (row + cv.uv[:, 1]) * height], 1)
    straight = np.linalg.norm(xy[a] - xy[b], axis=1) * metres / 256
    stored = distance.distances.vertex_distance(a, b)
    assert res == 5 and np.all(stored >= straight - 1e-5) and np.all(stored <= straight * 1.15 + 1e-5)
