"""Issue 4 acceptance on the body mesh: <= 2 % mean relative error against exact geodesics on 1,000
random surface-point pairs (slow: builds the tables, ~1-3 min, and runs exact MMP 20 times)."""
from __future__ import annotations

import numpy as np
import pytest

from densepose_ext.surface.geodesic import MeshGeodesics, exact_distance


def uniform_points(vertices, faces, n, rng):
    tri = vertices[faces]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    r = rng.random((n, 2))
    s = np.sqrt(r[:, 0])
    return rng.choice(len(faces), n, p=area / area.sum()), np.stack([1 - s, s * (1 - r[:, 1]), s * r[:, 1]], 1)


@pytest.mark.slow
def test_body_mesh_1000_pairs_against_exact(tmp_path):
    pytest.importorskip("gdist")
    surface = pytest.importorskip("densepose_ext.surface").get_surface()
    used, faces = np.unique(surface.faces, return_inverse=True)
    vertices, faces = surface.vertices[used], faces.reshape(-1, 3)
    geo = MeshGeodesics(vertices, faces, cache_dir=tmp_path)
    rng = np.random.default_rng(0)
    fa, ba = uniform_points(vertices, faces, 20, rng)
    fb, bb = uniform_points(vertices, faces, 50, rng)
    fa, ba = np.repeat(fa, 50), np.repeat(ba, 50, axis=0)  # 20 sources x 50 targets
    fb, bb = np.tile(fb, 20), np.tile(bb, (20, 1))
    exact = exact_distance(vertices, faces, fa, ba, fb, bb)
    ok = np.isfinite(exact) & (exact > 0)
    assert ok.sum() > 950
    rel = np.abs(geo.distance(fa, ba, fb, bb)[ok] - exact[ok]) / exact[ok]
    assert rel.mean() <= 0.02
