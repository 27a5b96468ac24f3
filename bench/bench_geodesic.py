"""Speed, memory and accuracy of MeshGeodesics on the body mesh; prints one JSON object.

    python bench/bench_geodesic.py                       # mesh of get_surface() (the default body)
    python bench/bench_geodesic.py --mesh mesh.npz       # any npz with `vertices` (V,3) m, `faces` (F,3)
    python bench/bench_geodesic.py --sources 20 --targets 50   # exact check on 20 x 50 = 1000 pairs

Query points are uniform on the surface (faces drawn by area, barycentrics uniform in the triangle).
Accuracy is against exact geodesics (`exact_distance`, needs `gdist`), computed for `sources` random
points against `targets` random points each. Near pairs (< 10 cm) are reported separately because
they decide GPS for good predictions: per source, targets/5 extra points in faces within 8 cm.
The table build is timed in a fresh cache directory.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from densepose_ext.surface.geodesic import MeshGeodesics, exact_distance  # noqa: E402


def random_surface_points(vertices: np.ndarray, faces: np.ndarray, n: int, rng: np.random.Generator):
    """n points uniform by area: face (n,) int64, bary (n, 3)."""
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    face = rng.choice(len(faces), size=n, p=area / area.sum())
    r = rng.random((n, 2))
    s = np.sqrt(r[:, 0])
    return face, np.stack([1 - s, s * (1 - r[:, 1]), s * r[:, 1]], axis=1)


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2 ** 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mesh", help="npz with vertices (V,3) metres and faces (F,3); default: get_surface()")
    parser.add_argument("--pairs", type=int, default=100_000, help="pairs timed for throughput")
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--num-samples", type=int, default=None)
    parser.add_argument("--num-candidates", type=int, default=None)
    parser.add_argument("--steiner-points", type=int, default=None)
    parser.add_argument("--local-radius", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.mesh:
        with np.load(args.mesh) as data:
            vertices, faces = data["vertices"], data["faces"]
    else:
        from densepose_ext.surface import get_surface

        surface = get_surface()
        vertices, faces = surface.vertices, surface.faces
    options = {k: v for k, v in dict(num_samples=args.num_samples, num_candidates=args.num_candidates,
                                     steiner_points=args.steiner_points,
                                     local_radius=args.local_radius).items() if v is not None}

    baseline_mb = current_rss_mb()  # imports (torch, detectron2 via densepose_ext) are not ours
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        MeshGeodesics(vertices, faces, cache_dir=cache, **options)
        build_s = time.perf_counter() - start
        start = time.perf_counter()
        geo = MeshGeodesics(vertices, faces, cache_dir=cache, **options)
        load_s = time.perf_counter() - start
        cache_bytes = geo.cache_path.stat().st_size

    rng = np.random.default_rng(args.seed)
    fa, ba = random_surface_points(geo.vertices, geo.faces, args.pairs, rng)
    fb, bb = random_surface_points(geo.vertices, geo.faces, args.pairs, rng)
    start = time.perf_counter()
    geo.distance(fa, ba, fb, bb)
    query_s = time.perf_counter() - start

    sa, sba = random_surface_points(geo.vertices, geo.faces, args.sources, rng)
    ta, tba = random_surface_points(geo.vertices, geo.faces, args.targets, rng)
    pa, pb = np.repeat(np.arange(args.sources), args.targets), np.tile(np.arange(args.targets), args.sources)
    # Near pairs (what GPS sees for good predictions): per source, points in faces within 8 cm.
    centroids = geo.vertices[geo.faces].mean(axis=1)
    src_xyz = np.einsum("ni,nij->nj", sba, geo.vertices[geo.faces[sa]])
    near_face = np.concatenate([rng.choice(np.nonzero(np.linalg.norm(centroids - x, axis=1) < 0.08)[0],
                                           size=args.targets // 5) for x in src_xyz])
    near_bary = random_surface_points(geo.vertices, geo.faces, len(near_face), rng)[1]
    near_src = np.repeat(np.arange(args.sources), args.targets // 5)
    fa_x = np.concatenate([sa[pa], sa[near_src]])
    ba_x = np.concatenate([sba[pa], sba[near_src]])
    fb_x = np.concatenate([ta[pb], near_face])
    bb_x = np.concatenate([tba[pb], near_bary])
    start = time.perf_counter()
    exact = exact_distance(geo.vertices, geo.faces, fa_x, ba_x, fb_x, bb_x)  # one gdist run per source
    exact_s = time.perf_counter() - start
    approx = geo.distance(fa_x, ba_x, fb_x, bb_x)
    rand = np.arange(len(exact)) < len(pa)
    ok = np.isfinite(exact) & (exact > 0) & rand
    rel = (approx[ok] - exact[ok]) / exact[ok]
    near = np.isfinite(exact) & (exact > 0) & ~rand
    near_err = np.abs(approx[near] - exact[near])

    print(json.dumps({
        "vertices": int(len(geo.vertices)), "faces": int(len(geo.faces)),
        "options": dict(num_samples=geo.num_samples, num_candidates=geo.num_candidates,
                        steiner_points=geo.steiner_points, local_radius=round(geo.local_radius, 4)),
        "build_s": round(build_s, 2), "cache_load_s": round(load_s, 3), "cache_bytes": int(cache_bytes),
        "table_bytes_in_memory": int(geo.table_bytes),
        "pairs": args.pairs, "query_s": round(query_s, 3), "pairs_per_s": round(args.pairs / query_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_build_mb": round(baseline_mb, 1),
        "peak_rss_increase_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline_mb, 1),
        "exact_pairs": int(ok.sum()), "exact_s": round(exact_s, 1),
        "mean_rel_err": round(float(np.abs(rel).mean()), 5), "mean_signed_rel_err": round(float(rel.mean()), 5),
        "max_rel_err": round(float(np.abs(rel).max()), 5),
        "near_pairs": int(near.sum()), "near_mean_dist_m": round(float(exact[near].mean()), 4),
        "near_mean_abs_err_mm": round(float(near_err.mean() * 1000), 3),
        "near_max_abs_err_mm": round(float(near_err.max() * 1000), 3),
        "near_mean_rel_err": round(float((near_err / exact[near]).mean()), 5),
    }, indent=1))


if __name__ == "__main__":
    main()
