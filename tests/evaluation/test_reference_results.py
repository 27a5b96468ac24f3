"""The reference's stored results (.pth as its evaluator writes it, and the same numbers as .npz) as input: read
without torch or the reference's classes, they give the detections of the golden JSON and the reference's scores."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

from densepose_ext.evaluation.__main__ import main
from densepose_ext.evaluation.evaluate import decode_detection
from densepose_ext.evaluation.reference_results import load_any_results, load_reference_results
from densepose_ext.evaluation.results_file import load_results

from .test_golden_reference import GOLDEN, TOLERANCE

TOY = GOLDEN / "toy"


@pytest.mark.parametrize("variant", ["perfect", "miss_fp_0.2"])
def test_pth_and_npz_hold_the_detections_of_the_json(variant):
    pth = load_reference_results(str(TOY / "pred_reference" / f"pred_{variant}.pth"), person_category_id=1)
    npz = load_reference_results(str(TOY / "pred_plain" / f"pred_{variant}.npz"), person_category_id=1)
    ours = load_results(str(TOY / "results_json" / f"results_{variant}.json"))
    assert len(pth) == len(npz) == len(ours) > 40
    for a, b, c in zip(pth, npz, ours):
        for key in ("image_id", "category_id", "bbox", "score"):
            assert a[key] == b[key] == c[key], key
        for x, y, z in zip(decode_detection(a), decode_detection(b), decode_detection(c)):
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(x, z)


def test_cli_scores_the_references_pth_as_the_reference(tmp_path, capsys):
    report = main(["--gt", str(TOY / "gt.json"), "--results", str(TOY / "pred_reference" / "pred_miss_fp_0.2.pth"),
                   "--kappa", "per-part", "--surface", "smpl", "--surface-data", str(TOY / "geometry"),
                   "--out", str(tmp_path / "report.json")])
    expected = json.loads((TOY / "expected.json").read_text())["variants"]["miss_fp_0.2"]
    for metric in ("GPS", "GPSm", "IoU"):
        for key, value in expected[metric].items():
            assert report[metric][key] == pytest.approx(value, abs=TOLERANCE), (metric, key)
    assert "kappa=per-part, points=reference, geodesic=chart-vertex" in capsys.readouterr().out
    assert json.loads((tmp_path / "report.json").read_text())["conventions"]["geodesic"] == "chart-vertex"


def test_json_still_read_by_the_same_entry_point():
    path = str(TOY / "results_json" / "results_perfect.json")
    assert load_any_results(path, 1) == load_results(path)


def test_bad_reference_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="not_a_zip.pth: expected a torch.save zip archive"):
        (tmp_path / "not_a_zip.pth").write_bytes(b"plain bytes")
        load_reference_results(str(tmp_path / "not_a_zip.pth"), 1)
    torch.save([{"densepose": torch.nn.Linear(1, 1)}], tmp_path / "foreign.pth")
    with pytest.raises(ValueError, match="foreign.pth: expected the reference's DensePose results .* found torch"):
        load_reference_results(str(tmp_path / "foreign.pth"), 1)
    torch.save([{"image_id": 1, "category_id": 0, "bbox": [0.0, 0, 2, 2], "score": 0.5, "densepose": None}],
               tmp_path / "no_result.pth")
    with pytest.raises(ValueError, match="record 0: field 'densepose': expected a DensePoseChartResultQuantized"):
        load_reference_results(str(tmp_path / "no_result.pth"), 1)

    with np.load(TOY / "pred_plain" / "pred_perfect.npz") as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(tmp_path / "cat.npz", **dict(arrays, category_id=arrays["category_id"] + 3))
    with pytest.raises(ValueError, match="record 0: field 'category_id': expected 0 .* found 3"):
        load_reference_results(str(tmp_path / "cat.npz"), 1)
    np.savez(tmp_path / "short.npz", **{k: v for k, v in arrays.items() if k != "score"})
    with pytest.raises(ValueError, match=r"short.npz: expected arrays .* found \['score'\] missing"):
        load_reference_results(str(tmp_path / "short.npz"), 1)
    flat = arrays["labels_uv_uint8_flat"].copy()
    flat[0] = 30  # channel 0 of the first grid is the part label
    np.savez(tmp_path / "label.npz", **dict(arrays, labels_uv_uint8_flat=flat))
    with pytest.raises(ValueError, match="record 0: field 'labels_uv_uint8': expected part labels 0..24"):
        load_reference_results(str(tmp_path / "label.npz"), 1)


def test_pth_archive_layout_is_the_references():
    """The fixture is a torch zip archive whose pickle names only the reference's result class and torch's rebuild
    helpers: what the reader is built for."""
    with zipfile.ZipFile(TOY / "pred_reference" / "pred_perfect.pth") as archive:
        names = archive.namelist()
        pickled = archive.read(next(n for n in names if n.endswith("/data.pkl")))
    assert b"DensePoseChartResultQuantized" in pickled and b"_rebuild_tensor_v2" in pickled
    assert any(n.endswith("/byteorder") for n in names)
