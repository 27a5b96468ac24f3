"""Throughput of the body-surface conversions on one core; prints one JSON line.

    python bench/bench_surface_lookup.py [--points 1000000] [--repeats 3] [--data-dir DIR]

Queries: surface points uniform over the body's 3D area (what annotated or rendered points are) and,
separately, chart points uniform over each part's [0, 1]^2 square. Reported per direction as the best
of ``--repeats`` runs, by wall clock and by process CPU time: (I, U, V) -> (face, bary) lookups/s, (face, bary) -> (I, U, V) lookups/s,
mirror_iuv/s, plus the one-off cost of building the lookup grid and of mirror_lut(), the largest
round-trip error (metres) and the machine's load average (timings on a busy machine are pessimistic).
numpy is limited to one thread.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, before numpy loads its BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from densepose_ext.surface import get_surface  # noqa: E402
from densepose_ext.surface.parts import NUM_FINE_PARTS  # noqa: E402


def best_rates(fn, n: int, repeats: int) -> dict[str, int]:
    """Largest n / seconds over ``repeats`` calls of fn(), by wall clock and by this process's CPU time
    (on a shared, busy machine the CPU-time figure is the one-idle-core estimate)."""
    wall, cpu = np.inf, np.inf
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return {"wall": round(n / wall), "cpu": round(n / cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None, help="directory with anny_surface.npz (default: committed)")
    args = parser.parse_args()

    s = get_surface(data_dir=args.data_dir)
    start = time.perf_counter()
    s.iuv_to_surface([1], [0.5], [0.5])  # builds the lookup grid
    grid_s = time.perf_counter() - start

    rng = np.random.default_rng(0)
    tri = s.vertices[s.faces].astype(np.float64)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    n = args.points
    face = rng.choice(len(area), size=n, p=area / area.sum())
    bary = rng.dirichlet(np.ones(3), size=n)
    i, u, v = s.surface_to_iuv(face, bary)
    ci, cu, cv = rng.integers(1, NUM_FINE_PARTS + 1, n), rng.random(n), rng.random(n)

    f2, b2 = s.iuv_to_surface(i, u, v)
    roundtrip = float(np.linalg.norm(s.surface_to_xyz(f2, b2) - s.surface_to_xyz(face, bary), axis=1).max())
    start = time.perf_counter()
    s.mirror_lut()
    lut_s = time.perf_counter() - start

    report = {
        "bench": "surface_lookup",
        "surface": s.name,
        "points": n,
        "iuv_to_surface_per_s": best_rates(lambda: s.iuv_to_surface(i, u, v), n, args.repeats),
        "iuv_to_surface_uniform_chart_per_s": best_rates(lambda: s.iuv_to_surface(ci, cu, cv), n, args.repeats),
        "surface_to_iuv_per_s": best_rates(lambda: s.surface_to_iuv(face, bary), n, args.repeats),
        "mirror_iuv_per_s": best_rates(lambda: s.mirror_iuv(i, u, v), n, args.repeats),
        "lookup_grid_build_s": round(grid_s, 3),
        "mirror_lut_s": round(lut_s, 3),
        "roundtrip_max_error_m": roundtrip,
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
