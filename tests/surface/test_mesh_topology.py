"""Combinatorics on tiny meshes whose answers are known by hand."""
import numpy as np
import pytest

from densepose_ext.surface.mesh_topology import (boundary_loops, edge_neighbours, euler_characteristic,
                                                 face_adjacency, face_components)

# Unit square split along its diagonal, counter-clockwise seen from +z.
SQUARE = np.array([[0, 1, 2], [0, 2, 3]])
# Closed tetrahedron with outward orientation.
TETRA = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])


def grid_faces(n):
    """(2 n^2, 3) counter-clockwise triangles of an n x n grid of quads, vertices numbered row by row."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a = (i * (n + 1) + j).ravel()
    b, c, d = a + 1, a + n + 2, a + n + 1
    return np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])


def test_square_boundary_is_one_loop_in_face_orientation():
    (loop,) = boundary_loops(SQUARE)
    assert loop.tolist() == [0, 1, 2, 3]
    assert euler_characteristic(SQUARE) == 1


def test_closed_tetrahedron_has_no_boundary_and_euler_two():
    assert boundary_loops(TETRA) == []
    assert euler_characteristic(TETRA) == 2
    nb = edge_neighbours(TETRA)
    assert (nb >= 0).all()
    # Face 0 = (0, 2, 1): edge 0->2 is shared with face 3 (0, 3, 2), 2->1 with face 2, 1->0 with face 1.
    assert nb[0].tolist() == [3, 2, 1]


def test_annulus_has_two_loops_and_euler_zero():
    faces = grid_faces(3)
    centre = 4  # the middle quad of the 3 x 3 grid is removed (two triangles: 4 and 13)
    ring = np.delete(faces, [centre, centre + 9], axis=0)
    loops = boundary_loops(ring)
    assert [len(x) for x in loops] == [12, 4]
    assert euler_characteristic(ring) == 0


def test_pinched_boundary_is_rejected():
    # Two triangles touching at vertex 0 only.
    with pytest.raises(ValueError, match="simple loops"):
        boundary_loops(np.array([[0, 1, 2], [0, 3, 4]]))


def test_components_split_by_label_and_are_numbered_by_first_face():
    faces = grid_faces(2)  # 8 triangles
    label = np.array([1, 0, 0, 0, 0, 0, 0, 1])
    comp = face_components(faces, label)
    assert comp[0] == 0  # numbered by first occurrence
    assert len(np.unique(comp[label == 1])) == 2  # faces 0 and 7 sit in opposite quads
    adj = face_adjacency(faces)
    assert np.all(adj[:, 0] < adj[:, 1]) and len(adj) == 8  # 8 interior edges in a 2x2 grid


def test_non_manifold_edge_is_rejected():
    with pytest.raises(ValueError, match="non-manifold"):
        edge_neighbours(np.array([[0, 1, 2], [1, 0, 3], [0, 1, 4]]))
