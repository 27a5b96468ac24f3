"""Speed and memory of the reference protocol on geometry of the reference's real size; prints one JSON line.

    python bench/bench_evaluator_reference.py [--geometry DIR] [--people 200] [--points 120] [--pdist mapped|loaded]

Geometry: the three files the reference evaluator reads, at its real size (27,554 mesh vertices: Pdist_matrix.pkl
is 1.5 GB), written once into DIR (default ~/.cache/densepose_ext/bench_reference_geometry) in the layout of the
golden fixtures (tests/data/golden/evaluator/README.md): the planar "paper doll" (4 x 6 parts of 34 x 34 chart
vertices, 27,744 chart vertices on a 133 x 199 vertex grid, 1,087 further mesh vertices outside the doll that no
chart vertex uses, so that M = 27,554), straight-line distances (the doll is flat), pickled by numpy itself at
protocol 4 in the reference's pair order.

Timed (wall and CPU, from one process): loading the geometry (``ChartVertexGeodesic.from_files``), the ground truth
and evaluate_densepose with the reference's conventions (per-part κ, /255 points, chart-vertex geodesics) on
bench_evaluator's scene (people x points, 3 people per 640 x 480 image, one detection each plus one false positive
per image, results decoded from their PNGs). Memory: peak growth of anonymous resident memory (``RssAnon``: what
the process allocates) and of file-backed resident memory (``RssFile``: pages of the mapped distance file that
were read, shared with the page cache; reclaimable), and the whole process's peak (``VmHWM``: torch, the inputs and
those file pages included). ``--pdist loaded`` reads the matrix with pickle.load instead, as before.
Reference figures to compare with (same scene): 11.4 s and 3.7 GB.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
import torch
from scipy.io import savemat

from bench_evaluator import PeakRSS, build
from densepose_ext.evaluation.evaluate import evaluate_densepose
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.surface.chart_vertex_geodesic import ChartVertexGeodesic
from densepose_ext.surface.smpl import PDIST_FILE, PrecomputedDistances, load_smpl_chart_vertices

MESH_VERTICES = 27554
COLS, ROWS, RES = 4, 6, 33  # parts across and down; quads per part side
A, B, METRES_PER_UNIT = 16.0, 240.0, 1.8 / 256  # the doll covers [A, B)^2 of the 256 x 256 frame


def write_geometry(directory: Path) -> None:
    """The doll's three reference files (module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    grid_w, grid_h = COLS * RES + 1, ROWS * RES + 1
    gx, gy = np.meshgrid(np.arange(grid_w), np.arange(grid_h))
    xy = np.stack([A + gx.ravel() * (B - A) / (COLS * RES), A + gy.ravel() * (B - A) / (ROWS * RES)], 1)
    pad = MESH_VERTICES - len(xy)
    xy = np.concatenate([xy, np.stack([np.linspace(A, B, pad), np.full(pad, B + 10.0)], 1)]) * METRES_PER_UNIT
    part, u, v, mesh = [], [], [], []
    for p in range(COLS * ROWS):
        row, col = divmod(p, COLS)
        i, j = np.meshgrid(np.arange(RES + 1), np.arange(RES + 1), indexing="ij")
        part.append(np.full(i.size, p + 1))
        u.append(j.ravel() / RES)
        v.append(i.ravel() / RES)
        mesh.append((row * RES + i.ravel()) * grid_w + col * RES + j.ravel())
    savemat(directory / "SMPL_subdiv.mat", {
        "U_subdiv": np.concatenate(u)[:, None], "V_subdiv": np.concatenate(v)[:, None],
        "Part_ID_subdiv": np.concatenate(part)[:, None].astype(np.int32)})
    savemat(directory / "SMPL_SUBDIV_TRANSFORM.mat", {"index": (np.concatenate(mesh) + 1)[:, None].astype(np.int32)})
    # Pair a < b at b(b-1)/2 + a: for each b, the distances of vertices 0..b-1 to it.
    condensed = np.empty(MESH_VERTICES * (MESH_VERTICES - 1) // 2, dtype=np.float32)
    for b in range(1, MESH_VERTICES):
        start = b * (b - 1) // 2
        condensed[start:start + b] = np.hypot(*(xy[:b] - xy[b]).T)
    with open(directory / PDIST_FILE, "wb") as fh:
        pickle.dump({"Pdist_matrix": condensed[:, None]}, fh, protocol=4)


class AnonPeak(PeakRSS):
    """Peak anonymous resident memory (RssAnon of /proc/self/status), MB."""

    @staticmethod
    def read_mb() -> float:
        return _status_mb("RssAnon")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def load_geometry(directory: Path, pdist: str) -> ChartVertexGeodesic:
    if pdist == "mapped":
        return ChartVertexGeodesic.from_files(directory)
    with open(directory / PDIST_FILE, "rb") as fh:
        matrix = pickle.load(fh, encoding="latin1")["Pdist_matrix"]
    mapped = ChartVertexGeodesic.from_files(directory).distances
    return ChartVertexGeodesic(load_smpl_chart_vertices(directory), PrecomputedDistances(matrix, mapped.index))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--geometry", type=Path, default=Path.home() / ".cache/densepose_ext/bench_reference_geometry")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--points", type=int, default=120)
    parser.add_argument("--pdist", choices=("mapped", "loaded"), default="mapped")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not (args.geometry / PDIST_FILE).is_file():
        t = time.perf_counter()
        write_geometry(args.geometry)
        print(json.dumps({"wrote_geometry": str(args.geometry), "seconds": round(time.perf_counter() - t, 1)}))
    dataset, records = build(args.people, args.points, per_image=3)
    file_start = _status_mb("RssFile")
    with AnonPeak() as anon, PeakRSS() as rss:
        t, cpu = time.perf_counter(), time.process_time()
        geometry = load_geometry(args.geometry, args.pdist)
        load_s = time.perf_counter() - t
        gt = DensePoseGroundTruth(dataset, "bench")
        report = evaluate_densepose(gt, records, "per-part", geometry, points="reference", geodesic="chart-vertex")
        seconds, cpu_seconds = time.perf_counter() - t, time.process_time() - cpu
        file_mb = _status_mb("RssFile") - file_start
    print(json.dumps({
        "bench": "evaluator_reference",
        "pdist": args.pdist,
        "mesh_vertices": geometry.distances.n,
        "pdist_file_mb": round((args.geometry / PDIST_FILE).stat().st_size / 2**20, 1),
        "people": args.people,
        "points_per_person": args.points,
        "detections": len(records),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "geometry_load_seconds": round(load_s, 3),
        "peak_anon_growth_mb": round(anon.peak_mb - anon.start_mb, 1),
        "peak_rss_growth_mb": round(rss.peak_mb - rss.start_mb, 1),
        "mapped_file_resident_mb": round(file_mb, 1),
        "process_peak_rss_mb": round(_status_mb("VmHWM"), 1),
        "GPS_AP": report["GPS"]["AP"],
        "conventions": report["conventions"],
    }))


if __name__ == "__main__":
    main()
