"""The reference's snapping (nearest chart vertex of the part in (U, V), first in file order on ties) and distance
lookup, against a direct transcription of its algorithm (cdist + argmin per part)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from densepose_ext.surface.chart_vertex_geodesic import ChartVertexGeodesic
from densepose_ext.surface.smpl import PrecomputedDistances, SmplChartVertices


def reference_snap(part, uv, i, u, v):
    """The reference's findAllClosestVertsUV: per part, argmin over cdist(part's vertices, points), 0-based ids."""
    out = np.full(len(i), -1)
    ids = np.arange(len(part))
    for p in np.unique(i):
        d = cdist(uv[part == p], np.stack([u[i == p], v[i == p]], 1))
        out[i == p] = ids[part == p][np.argmin(d, axis=0)]
    return out


@pytest.fixture(scope="module")
def charts():
    rng = np.random.default_rng(0)
    # Part 1: a 6 x 6 grid, as on the golden toy (exact ties at cell centres and edge midpoints); part 2: random
    # points with duplicated positions (the lower id must win); part 3: three vertices (fewer than the candidates).
    g = np.stack(np.meshgrid(np.arange(6) / 5, np.arange(6) / 5), -1).reshape(-1, 2)
    r = rng.random((200, 2))
    r[100:150] = r[:50]
    t = np.array([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]])
    part = np.concatenate([np.full(len(g), 1), np.full(len(r), 2), np.full(len(t), 3)])
    order = rng.permutation(len(part))  # parts interleaved in file order
    return SmplChartVertices(part=part[order], uv=np.concatenate([g, r, t])[order])


def test_snapping_equals_the_references_argmin(charts):
    rng = np.random.default_rng(1)
    n = 4000
    i = rng.integers(1, 4, n)
    u, v = rng.random(n), rng.random(n)
    # Quantised like predictions (byte / 255), and exact ties: grid cell centres and midpoints (k + 0.5) / 5.
    u[:1000], v[:1000] = rng.integers(0, 256, 1000) / 255.0, rng.integers(0, 256, 1000) / 255.0
    u[1000:1500], v[1000:1500] = (rng.integers(0, 5, 500) + 0.5) / 5, (rng.integers(0, 5, 500) + 0.5) / 5
    i[1000:1500] = 1
    m = len(charts.part)
    geo = ChartVertexGeodesic(charts, PrecomputedDistances(np.zeros(m * (m - 1) // 2, np.float32), np.arange(m)))
    np.testing.assert_array_equal(geo.nearest_chart_vertex(i, u, v), reference_snap(charts.part, charts.uv, i, u, v))


def test_distance_is_the_stored_one_between_snapped_mesh_vertices(charts):
    rng = np.random.default_rng(2)
    m = 40  # mesh vertices; chart vertex k sits on mesh vertex index[k]
    index = rng.integers(0, m, len(charts.part))
    full = rng.random((m, m))
    full = full + full.T
    np.fill_diagonal(full, 0)
    stored = np.array([full[a, b] for b in range(m) for a in range(b)], np.float32)  # a < b at b(b-1)/2 + a
    geo = ChartVertexGeodesic(charts, PrecomputedDistances(stored, index))
    i1, i2 = rng.integers(1, 4, (2, 500))
    u1, v1, u2, v2 = rng.random((4, 500))
    a = reference_snap(charts.part, charts.uv, i1, u1, v1)
    b = reference_snap(charts.part, charts.uv, i2, u2, v2)
    np.testing.assert_allclose(geo(i1, u1, v1, i2, u2, v2), full[index[a], index[b]], rtol=1e-6)


def test_errors_are_named(charts):
    m = len(charts.part)
    with pytest.raises(ValueError, match=r"'index' expected one entry per chart vertex \(239\), got 5"):
        ChartVertexGeodesic(charts, PrecomputedDistances(np.zeros(10, np.float32), np.arange(5)))
    geo = ChartVertexGeodesic(charts, PrecomputedDistances(np.zeros(m * (m - 1) // 2, np.float32), np.arange(m)))
    with pytest.raises(ValueError, match="part 7: SMPL_subdiv.mat has no chart vertex of that part"):
        geo.nearest_chart_vertex(np.array([7]), np.array([0.5]), np.array([0.5]))
    with pytest.raises(ValueError, match=r"expected parts in 1..24, got \[0, 0\]"):
        geo.nearest_chart_vertex(np.array([0]), np.array([0.5]), np.array([0.5]))
