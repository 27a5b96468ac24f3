"""Mirror correspondences and label clean-up on small meshes with known answers."""
import numpy as np
import pytest

from densepose_ext.surface.mesh_topology import edge_neighbours, face_components
from densepose_ext.surface.mirror import (GeometricMirror, closest_point_barycentric, face_mirror_map,
                                         find_vertex_mirror)
from densepose_ext.surface.segmentation import keep_largest_components, smooth_labels
from test_mesh_topology import grid_faces


def symmetric_grid(n=4):
    """(n+1)^2 vertices of a grid on x in [-1, 1], y in [0, 1], triangulated symmetrically about x = 0."""
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    xyz = np.stack([j.ravel() * 2.0 / n - 1.0, i.ravel() / n, np.zeros((n + 1) ** 2)], 1)
    faces = []
    for r in range(n):
        for c in range(n):
            a, b = r * (n + 1) + c, r * (n + 1) + c + 1
            d, e = a + n + 1, b + n + 1
            # Diagonal direction flips at the midline so the triangulation is mirror-symmetric.
            faces += [[a, b, e], [a, e, d]] if c < n // 2 else [[a, b, d], [b, e, d]]
    return xyz, np.array(faces)


def test_vertex_and_face_mirror_on_symmetric_grid():
    xyz, faces = symmetric_grid()
    m = find_vertex_mirror(xyz)
    np.testing.assert_allclose(xyz[m], xyz * [-1, 1, 1])
    fm, perm = face_mirror_map(faces, m)
    assert (fm[fm] == np.arange(len(faces))).all()
    # Definition: corner k of the mirrored face is the mirror of corner perm[f, k] of f.
    assert (faces[fm] == m[np.take_along_axis(faces, perm, axis=1)]).all()
    # Barycentrics carry over: the mirrored point is the reflected point.
    bary = np.random.default_rng(0).dirichlet(np.ones(3), len(faces))
    p = np.einsum("fk,fkd->fd", bary, xyz[faces])
    q = np.einsum("fk,fkd->fd", np.take_along_axis(bary, perm[fm], axis=1), xyz[faces[fm]])
    np.testing.assert_allclose(q, p * [-1, 1, 1], atol=1e-12)


def test_asymmetric_geometry_and_topology_are_rejected():
    xyz, faces = symmetric_grid()
    moved = xyz.copy()
    moved[0, 1] += 0.01
    with pytest.raises(ValueError, match="not left-right symmetric"):
        find_vertex_mirror(moved)
    m = find_vertex_mirror(xyz)
    with pytest.raises(ValueError, match="topology is not mirror-symmetric"):
        face_mirror_map(grid_faces(4), m)  # same vertices, diagonals all one way


def column_labels(n, split):
    """Label 1 for the quads in grid columns < split, else 2 (both triangles of each quad)."""
    col = np.tile(np.arange(n), n)
    return np.where(np.concatenate([col, col]) < split, 1, 2)


def test_smoothing_removes_a_lonely_face_and_keeps_straight_borders():
    faces = grid_faces(6)
    nb = edge_neighbours(faces)
    labels = column_labels(6, 3)
    assert (smooth_labels(labels, nb, 3) == labels).all()  # a straight border never moves
    lonely = labels.copy()
    lonely[0] = 7  # a corner face: its two inner neighbours say 1, its open edges count as itself
    lonely[14] = 7  # quad (2, 2) by the border: two of its three neighbours say 1 (column 2), one says 2
    out = smooth_labels(lonely, nb, 1)
    assert out[0] == 1 and out[14] == labels[14]


def test_keep_largest_components_reassigns_stray_pieces_to_neighbours():
    faces = grid_faces(4)  # 32 triangles; quad q = triangles q and q + 16
    labels = np.zeros(len(faces), dtype=np.int64) + 1
    labels[[0, 16, 1, 17]] = 2  # quads 0, 1 (one piece of label 2)
    labels[[15, 31]] = 2  # quad 15: a second, smaller piece of label 2, surrounded by label 1
    out = keep_largest_components(faces, labels, edge_neighbours(faces))
    assert out[[15, 31]].tolist() == [1, 1]
    assert out[[0, 16, 1, 17]].tolist() == [2, 2, 2, 2]
    comp = face_components(faces, out)
    assert all(len(np.unique(comp[out == lab])) == 1 for lab in (1, 2))


def test_off_plane_vertex_without_partner_is_rejected():
    xyz = np.array([[0.3, 0, 0], [0, 1, 0], [0, 0, 1], [-0.2, 0, 0]], float)
    with pytest.raises(ValueError, match="vertex 0 reflected lies 0.1 m"):
        find_vertex_mirror(xyz)


def test_closest_point_barycentric_known_answers():
    tri = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]])[None]  # (1, 1, 3, 3)
    cases = {  # point -> (closest point, distance)
        (0.2, 0.2, 0.5): ((0.2, 0.2, 0.0), 0.5),  # above the inside: straight down
        (2.0, -1.0, 0.0): ((1.0, 0.0, 0.0), np.sqrt(2)),  # beyond corner 1
        (0.5, -0.3, 0.0): ((0.5, 0.0, 0.0), 0.3),  # below edge 0 -> 1
        (1.0, 1.0, 0.0): ((0.5, 0.5, 0.0), np.sqrt(0.5)),  # outside the hypotenuse
    }
    for p, (q, dist) in cases.items():
        bary, d = closest_point_barycentric(np.array([p]), tri)
        np.testing.assert_allclose(np.einsum("nkj,nkjd->nkd", bary, tri)[0, 0], q, atol=1e-12)
        assert d[0, 0] == pytest.approx(dist)
        assert bary.min() >= 0 and bary.sum() == pytest.approx(1.0)


def test_geometric_mirror_matches_exact_mirror_on_symmetric_mesh():
    xyz, faces = symmetric_grid(6)
    xyz[:, 2] = 0.1 * np.cos(3 * xyz[:, 0]) + 0.05 * xyz[:, 1] ** 2  # curved but symmetric
    part = np.where(xyz[faces].mean(1)[:, 0] > 0, 2, 1)
    fm, perm = face_mirror_map(faces, find_vertex_mirror(xyz))
    geo = GeometricMirror(xyz, faces, part, np.array([0, 2, 1]))
    rng = np.random.default_rng(0)
    f = rng.integers(0, len(faces), 500)
    b = rng.dirichlet(np.ones(3), 500)
    gf, gb = geo(f, b)
    ef, eb = fm[f], np.take_along_axis(b, perm[f], axis=1)
    pos = lambda ff, bb: np.einsum("nk,nkd->nd", bb, xyz[faces[ff]])  # noqa: E731
    np.testing.assert_allclose(pos(gf, gb), pos(ef, eb), atol=1e-9)
    assert (part[gf] == 3 - part[f]).all()
