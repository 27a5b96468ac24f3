"""MeshGeodesics: known answers on developable meshes, exactness of the in-triangle field formula,
agreement with exact MMP geodesics (gdist) on a curved mesh, cache behaviour and input errors."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import ConvexHull

from densepose_ext.surface.geodesic import MeshGeodesics, _interpolate_field, surface_graph


def prism(n_around: int = 24, n_rings: int = 16, radius: float = 0.1, height: float = 0.4):
    """Open polygonal tube (developable: geodesics are straight lines once unrolled).

    Returns vertices (V, 3), faces (F, 3) and unrolled corner coordinates (F, 3, 2) = (arc s, z) with
    s in [0, perimeter], continuous inside each face (the seam column uses s = perimeter).
    """
    theta = 2 * np.pi * np.arange(n_around) / n_around
    z = np.linspace(0, height, n_rings)
    vertices = np.stack([np.tile(radius * np.cos(theta), n_rings), np.tile(radius * np.sin(theta), n_rings),
                         np.repeat(z, n_around)], axis=1)
    side = 2 * radius * np.sin(np.pi / n_around)
    i, j = np.meshgrid(np.arange(n_rings - 1), np.arange(n_around), indexing="ij")
    i, j = i.ravel(), j.ravel()
    a, b = i * n_around + j, i * n_around + (j + 1) % n_around
    c, d = a + n_around, b + n_around
    faces = np.concatenate([np.stack([a, b, d], 1), np.stack([a, d, c], 1)])
    s0, s1 = j * side, (j + 1) * side
    z0, z1 = z[i], z[i + 1]
    unrolled = np.concatenate([np.stack([np.stack([s0, z0], 1), np.stack([s1, z0], 1), np.stack([s1, z1], 1)], 1),
                               np.stack([np.stack([s0, z0], 1), np.stack([s1, z1], 1), np.stack([s0, z1], 1)], 1)])
    return vertices, faces, unrolled, n_around * side


def fibonacci_sphere(n: int = 700, radius: float = 0.3):
    k = np.arange(n) + 0.5
    phi, theta = np.arccos(1 - 2 * k / n), np.pi * (1 + 5 ** 0.5) * k
    v = radius * np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)
    return v, ConvexHull(v).simplices.astype(np.int64)


def random_points(faces: np.ndarray, n: int, rng: np.random.Generator):
    r = rng.random((n, 2))
    s = np.sqrt(r[:, 0])
    return rng.integers(0, len(faces), n), np.stack([1 - s, s * (1 - r[:, 1]), s * r[:, 1]], 1)


def prism_truth(unrolled, perimeter, fa, ba, fb, bb):
    pa = np.einsum("ni,nij->nj", ba, unrolled[fa])
    pb = np.einsum("ni,nij->nj", bb, unrolled[fb])
    ds = np.abs(pa[:, 0] - pb[:, 0])
    return np.hypot(np.minimum(ds, perimeter - ds), pa[:, 1] - pb[:, 1])


@pytest.fixture(scope="module")
def tube():
    v, f, unrolled, perimeter = prism()
    return MeshGeodesics(v, f, num_samples=120, cache_dir=False), unrolled, perimeter


def test_interpolated_field_is_exact_for_a_planar_source():
    rng = np.random.default_rng(0)
    tri = rng.random((50, 3, 3)) * [1, 1, 0]  # triangles in the z = 0 plane
    source = rng.random((50, 1, 3)) * [3, 3, 0] - 1
    bary = rng.dirichlet(np.ones(3), 50)
    p = np.einsum("ni,nij->nj", bary, tri)
    spread = np.einsum("ni,ni->n", bary, ((tri - p[:, None]) ** 2).sum(-1))
    got = _interpolate_field(np.linalg.norm(tri - source, axis=2), bary, spread)
    np.testing.assert_allclose(got, np.linalg.norm(p - source[:, 0], axis=1), rtol=1e-9, atol=1e-12)
    # Unreached corners stay unreached, even with zero weight (no 0 * inf = nan).
    dist = np.array([[1.0, np.inf, 2.0]])
    assert np.isinf(_interpolate_field(dist, np.array([[0.5, 0.0, 0.5]]), np.array([0.1])))[0]


def test_graph_paths_are_surface_paths_with_unfolded_diagonals():
    # Unit square folded 90 degrees along its diagonal 0-2: the straight surface path 1 -> 3 crosses the
    # fold; unfolded it is the square's other diagonal, sqrt(2), shorter than going round via 0 or 2.
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 0]], float)
    v[3] = [0.5, 0.5, 1 / np.sqrt(2)]  # apex of the folded half: |v3 - v0| = |v3 - v2| = 1
    f = np.array([[0, 1, 2], [0, 2, 3]])
    graph, xyz = surface_graph(v, f, steiner_points=0)
    d = dijkstra(graph, directed=False, indices=1)
    assert d[3] == pytest.approx(np.sqrt(2), rel=1e-12)
    # Inconsistently oriented faces (e.g. from a convex hull) get the same diagonal.
    flipped, _ = surface_graph(v, np.array([[0, 1, 2], [0, 3, 2]]), steiner_points=0)
    assert dijkstra(flipped, directed=False, indices=1)[3] == pytest.approx(np.sqrt(2), rel=1e-12)
    graph, xyz = surface_graph(v, f, steiner_points=2)
    assert graph.shape[0] == len(xyz) == 4 + 2 * 5  # 5 unique edges, 2 nodes each
    np.testing.assert_allclose(xyz[4:6], np.linspace(v[0], v[1], 4)[1:3])  # Steiner nodes of edge 0-1
    d = dijkstra(graph, directed=False, indices=0)[:4]
    np.testing.assert_allclose(d, [0, 1, np.sqrt(2), 1], rtol=1e-12)  # edges are exact


@pytest.mark.parametrize("steiner_points, mean_rel_err", [(0, 0.035), (3, 0.016)])
def test_prism_matches_unrolled_geodesics(tube, steiner_points, mean_rel_err):
    # A regular grid is the graph's worst case (few path directions): 3.2 % with edges only,
    # 1.4 % with 3 Steiner points per edge; irregular body meshes do better (module docstring).
    geo, unrolled, perimeter = tube
    if steiner_points:
        geo = MeshGeodesics(geo.vertices, geo.faces, num_samples=120, steiner_points=steiner_points,
                            cache_dir=False)
    rng = np.random.default_rng(1)
    fa, ba = random_points(geo.faces, 3000, rng)
    fb, bb = random_points(geo.faces, 3000, rng)
    truth = prism_truth(unrolled, perimeter, fa, ba, fb, bb)
    got = geo.distance(fa, ba, fb, bb)
    rel = np.abs(got - truth) / truth
    assert rel.mean() < mean_rel_err
    near = truth < 0.05  # within ~2 triangles: the near-field table, ~1 % here
    assert near.sum() > 50 and rel[near].mean() < 0.015
    assert np.all(got >= np.linalg.norm(
        np.einsum("ni,nij->nj", ba, geo.vertices[geo.faces[fa]])
        - np.einsum("ni,nij->nj", bb, geo.vertices[geo.faces[fb]]), axis=1) - 1e-12)
    # Near pairs (same or neighbouring faces) go through the near-field table: millimetre-exact here.
    fn = fa.copy()
    bn = rng.dirichlet(np.ones(3), len(fa))
    truth_near = prism_truth(unrolled, perimeter, fa, ba, fn, bn)
    np.testing.assert_allclose(geo.distance(fa, ba, fn, bn), truth_near, atol=1e-9)  # same face: straight


def test_identity_symmetry_and_vertex_distance(tube):
    geo, unrolled, perimeter = tube
    rng = np.random.default_rng(2)
    fa, ba = random_points(geo.faces, 500, rng)
    fb, bb = random_points(geo.faces, 500, rng)
    np.testing.assert_allclose(geo.distance(fa, ba, fa, ba), 0, atol=1e-12)
    ab, ba_ = geo.distance(fa, ba, fb, bb), geo.distance(fb, bb, fa, ba)
    assert np.abs(ab - ba_).max() <= 0.01 * ab.max()
    va, vb = rng.integers(0, len(geo.vertices), 200), rng.integers(0, len(geo.vertices), 200)
    pa, pb = geo.vertices[va], geo.vertices[vb]
    got = geo.vertex_distance(va, vb)
    assert np.all(got >= np.linalg.norm(pa - pb, axis=1) - 1e-12)
    # A vertex is the same point whichever face names it: compare with an explicit face + one-hot bary.
    face = np.argmax((geo.faces == va[0]).any(axis=1))
    bary = (geo.faces[face] == va[0]).astype(float)[None]
    other = geo.distance(np.array([face]), bary, *geo._vertex_as_point(vb[:1]))[0]
    assert other == pytest.approx(got[0], rel=2e-3)  # other candidates; float16 table


def test_empty_and_single():
    v, f, unrolled, perimeter = prism(8, 4)
    geo = MeshGeodesics(v, f, num_samples=10, cache_dir=False)
    assert geo.distance(np.zeros(0, int), np.zeros((0, 3)), np.zeros(0, int), np.zeros((0, 3))).shape == (0,)
    d = geo.distance(np.array([0]), np.array([[1.0, 0, 0]]), np.array([len(f) - 1]), np.array([[0, 0, 1.0]]))
    assert d.shape == (1,) and np.isfinite(d[0])


def test_agrees_with_exact_geodesics_on_a_sphere():
    gdist = pytest.importorskip("gdist")
    from densepose_ext.surface.geodesic import exact_distance

    v, f = fibonacci_sphere()
    geo = MeshGeodesics(v, f, num_samples=150, cache_dir=False)
    rng = np.random.default_rng(3)
    fa, ba = random_points(f, 4, rng)
    fb, bb = random_points(f, 60, rng)
    fa, ba = np.repeat(fa, 60), np.repeat(ba, 60, axis=0)
    fb, bb = np.tile(fb, 4), np.tile(bb, (4, 1))
    exact = exact_distance(v, f, fa, ba, fb, bb)
    # The reference itself: within 1.5 % of the smooth sphere's great circles (the mesh is a polyhedron).
    pa = np.einsum("ni,nij->nj", ba, v[f[fa]])
    pb = np.einsum("ni,nij->nj", bb, v[f[fb]])
    cos = np.einsum("ij,ij->i", pa, pb) / np.linalg.norm(pa, axis=1) / np.linalg.norm(pb, axis=1)
    great_circle = 0.3 * np.arccos(np.clip(cos, -1, 1))
    assert np.abs(exact - great_circle).mean() / great_circle.mean() < 0.015
    rel = np.abs(geo.distance(fa, ba, fb, bb) - exact) / exact
    assert rel.mean() < 0.02 and rel.max() < 0.15  # coarse mesh: 2.8 cm edges on a 30 cm sphere


def test_exact_distance_on_a_flat_grid_is_euclidean():
    pytest.importorskip("gdist")
    from densepose_ext.surface.geodesic import exact_distance

    x, y = np.meshgrid(np.linspace(0, 1, 6), np.linspace(0, 1, 6))
    v = np.stack([x.ravel(), y.ravel(), np.zeros(36)], 1)
    q = (np.arange(5)[:, None] * 6 + np.arange(5)[None]).ravel()
    f = np.concatenate([np.stack([q, q + 1, q + 7], 1), np.stack([q, q + 7, q + 6], 1)])
    rng = np.random.default_rng(4)
    fa, ba = random_points(f, 3, rng)
    fb, bb = random_points(f, 3, rng)
    fb[0], bb[0] = fa[0], rng.dirichlet(np.ones(3))  # two points inside one face
    pa = np.einsum("ni,nij->nj", ba, v[f[fa]])
    pb = np.einsum("ni,nij->nj", bb, v[f[fb]])
    np.testing.assert_allclose(exact_distance(v, f, fa, ba, fb, bb), np.linalg.norm(pa - pb, axis=1),
                               atol=3e-3)  # points are moved <= 1e-3 edge lengths off the edges


def test_disconnected_components_are_infinitely_far():
    v1, f1, _, _ = prism(8, 4)
    v = np.concatenate([v1, v1 + [1.0, 0, 0]])
    f = np.concatenate([f1, f1 + len(v1)])
    geo = MeshGeodesics(v, f, num_samples=6, cache_dir=False)
    assert {int(s) // len(v1) for s in geo.samples} == {0, 1}  # sampling reaches both components
    bary = np.full((2, 3), 1 / 3)
    d = geo.distance(np.array([0, 0]), bary, np.array([1, len(f1)]), bary)
    assert np.isfinite(d[0]) and np.isinf(d[1])


def test_vertices_outside_faces_are_never_sampled():
    v, f, _, _ = prism(8, 4)
    geo = MeshGeodesics(np.concatenate([np.zeros((5, 3)), v]), f + 5, num_samples=len(v) + 5, cache_dir=False)
    assert geo.samples.min() >= 5 and len(set(geo.samples[: len(v)].tolist())) == len(v)


def test_disk_cache_is_reused_and_deterministic(tmp_path):
    v, f, _, _ = prism(12, 6)
    first = MeshGeodesics(v, f, num_samples=20, cache_dir=tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [first.cache_path.name]  # no temporary file left behind
    second = MeshGeodesics(v, f, num_samples=20, cache_dir=tmp_path)
    assert second.build_time_s == first.build_time_s  # loaded, not rebuilt
    fresh = MeshGeodesics(v, f, num_samples=20, cache_dir=False)
    np.testing.assert_array_equal(fresh._table, second._table)
    np.testing.assert_array_equal(fresh._local_keys, second._local_keys)
    other = MeshGeodesics(v, f, num_samples=21, cache_dir=tmp_path)  # parameters are part of the key
    assert other.cache_path != first.cache_path


def test_damaged_cache_file_is_rebuilt(tmp_path):
    v, f, _, _ = prism(6, 3)
    first = MeshGeodesics(v, f, num_samples=4, cache_dir=tmp_path)
    first.cache_path.write_bytes(b"truncated")
    again = MeshGeodesics(v, f, num_samples=4, cache_dir=tmp_path)
    np.testing.assert_array_equal(again._table, first._table)
    assert np.load(again.cache_path)["table"].shape == first._table.shape  # rewritten


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DENSEPOSE_CACHE", str(tmp_path / "c"))
    v, f, _, _ = prism(6, 3)
    geo = MeshGeodesics(v, f, num_samples=4)
    assert geo.cache_path.parent == tmp_path / "c" and geo.cache_path.is_file()


@pytest.mark.parametrize("args, message", [
    (dict(face_a=np.array([0.5])), "face_a"),
    (dict(face_a=np.array([10 ** 6])), "face_a: expected indices"),
    (dict(bary_a=np.ones((1, 2))), "bary_a: expected shape (1, 3)"),
    (dict(bary_b=np.array([[0.5, 0.5, 0.5]])), "bary_b: expected finite non-negative rows summing to 1"),
    (dict(face_b=np.array([0, 1]), bary_b=np.full((2, 3), 1 / 3)), "same number of points"),
])
def test_bad_queries_name_the_argument(args, message):
    v, f, _, _ = prism(6, 3)
    geo = MeshGeodesics(v, f, num_samples=4, cache_dir=False)
    call = dict(face_a=np.array([0]), bary_a=np.full((1, 3), 1 / 3), face_b=np.array([1]),
                bary_b=np.full((1, 3), 1 / 3))
    call.update(args)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        geo.distance(**call)


def test_bad_mesh_is_rejected():
    v, f, _, _ = prism(6, 3)
    with pytest.raises(ValueError, match="faces: expected vertex indices"):
        MeshGeodesics(v, f + len(v), cache_dir=False)
    with pytest.raises(ValueError, match=r"vertices: expected shape \(V, 3\)"):
        MeshGeodesics(v[:, :2], f, cache_dir=False)


def test_near_table_equals_full_dijkstra_within_the_radius():
    # The table is built voxel by voxel on subgraphs; it must equal plain Dijkstra on the whole graph.
    v, f, _, _ = prism(16, 10)
    graph, xyz = surface_graph(v, f, steiner_points=0)
    radius = 0.06
    keys, dist = MeshGeodesics._local_table(graph, xyz, len(v), radius)
    full = dijkstra(graph, directed=False, limit=radius)
    rows, cols = np.nonzero(np.isfinite(full))
    np.testing.assert_array_equal(keys, rows * len(v) + cols)
    np.testing.assert_allclose(dist, full[rows, cols], rtol=1e-3, atol=1e-6)  # stored as float16
