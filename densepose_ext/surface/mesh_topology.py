"""Combinatorial helpers on triangle meshes: edges, face adjacency, connected components, boundary loops.

All functions are vectorised over faces and deterministic (results depend only on the input arrays).
Faces are (F, 3) integer vertex indices; orientation (counter-clockwise seen from outside) is preserved.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


def directed_edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2) directed edges (a->b) of every face, ordered face by face: edge k of face f is row 3f+k,
    from corner k to corner (k+1) % 3."""
    return np.stack([faces, np.roll(faces, -1, axis=1)], axis=2).reshape(-1, 2)


def face_adjacency(faces: np.ndarray) -> np.ndarray:
    """(A, 2) pairs of faces that share an edge (each pair once, sorted, lexicographic order).

    An edge shared by more than two faces (non-manifold) links them as a chain, which keeps connectivity.
    """
    edges = np.sort(directed_edges(faces), axis=1)
    face_of_edge = np.repeat(np.arange(len(faces)), 3)
    order = np.lexsort((face_of_edge, edges[:, 1], edges[:, 0]))
    e_sorted = edges[order]
    same = np.all(e_sorted[1:] == e_sorted[:-1], axis=1)
    a = face_of_edge[order][:-1][same]
    b = face_of_edge[order][1:][same]
    pairs = np.sort(np.stack([a, b], axis=1), axis=1)
    return np.unique(pairs, axis=0)


def face_components(faces: np.ndarray, face_label: np.ndarray) -> np.ndarray:
    """(F,) component id of every face: faces are connected when they share an edge AND a label.

    Component ids are numbered in order of their smallest face index (deterministic).
    """
    adj = face_adjacency(faces)
    adj = adj[face_label[adj[:, 0]] == face_label[adj[:, 1]]]
    n = len(faces)
    graph = sp.coo_matrix((np.ones(len(adj)), (adj[:, 0], adj[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    # Renumber by first occurrence so ids do not depend on scipy's traversal order.
    _, first = np.unique(comp, return_index=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[comp]


def boundary_edges(faces: np.ndarray) -> np.ndarray:
    """(B, 2) directed boundary edges (a->b, in face orientation) of a triangle set: edges used by one face."""
    edges = directed_edges(faces)
    key = np.sort(edges, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return edges[counts[inverse.ravel()] == 1]


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Boundary loops of a triangle set, each an array of vertex ids in face orientation (the surface lies
    to the left when walking the loop, seen from outside). Loops start at their smallest vertex id and are
    returned longest first.

    Raises:
        ValueError: when a boundary vertex has more than one outgoing boundary edge (the region touches
            itself at a vertex, so its boundary is not a set of simple loops).
    """
    edges = boundary_edges(faces)
    if len(edges) == 0:
        return []
    starts, counts = np.unique(edges[:, 0], return_counts=True)
    if np.any(counts > 1):
        raise ValueError(
            f"boundary is not a set of simple loops: vertices {starts[counts > 1][:5].tolist()} "
            f"have {counts.max()} outgoing boundary edges (expected 1)")
    nxt = dict(zip(edges[:, 0].tolist(), edges[:, 1].tolist()))
    loops = []
    remaining = set(nxt)
    while remaining:
        start = min(remaining)
        loop = [start]
        v = nxt[start]
        while v != start:
            loop.append(v)
            v = nxt[v]
        remaining.difference_update(loop)
        loops.append(np.asarray(loop, dtype=np.int64))
    loops.sort(key=len, reverse=True)
    return loops


def euler_characteristic(faces: np.ndarray) -> int:
    """V - E + F of a triangle set (V counts only vertices used by the faces). A disc has 1."""
    n_v = len(np.unique(faces))
    n_e = len(np.unique(np.sort(directed_edges(faces), axis=1), axis=0))
    return n_v - n_e + len(faces)


def edge_neighbours(faces: np.ndarray) -> np.ndarray:
    """(F, 3) index of the face across edge k (corner k -> k+1) of each face, -1 on a boundary edge.

    Raises:
        ValueError: when an edge is shared by more than two faces (non-manifold).
    """
    edges = np.sort(directed_edges(faces), axis=1)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    e_sorted = edges[order]
    same = np.all(e_sorted[1:] == e_sorted[:-1], axis=1)
    if np.any(same[1:] & same[:-1]):
        raise ValueError("non-manifold mesh: an edge is shared by more than two faces")
    out = np.full(len(edges), -1, dtype=np.int64)
    first, second = order[:-1][same], order[1:][same]
    out[first] = second // 3
    out[second] = first // 3
    return out.reshape(-1, 3)
