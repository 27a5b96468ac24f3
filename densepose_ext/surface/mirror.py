"""Left-right symmetry of a body mesh: vertex and face correspondences under reflection x -> -x.

Frame: surface (rest-pose mesh in metres, the body's sagittal plane is x = 0; anny: x = person's left).
The mirror of a surface point (face f, barycentric b) is (face_mirror[f], b[corner_perm[f]]): the mirrored
face's corner k is the mirror of corner corner_perm[f, k] of f, so barycentrics carry over exactly.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def find_vertex_mirror(vertices: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    """(V,) int64 index of the vertex at the reflection (-x, y, z) of each vertex.

    Args:
        vertices: (V, 3) float, surface frame (metres).
        tol: largest allowed distance (metres) between a reflected vertex and its partner.

    Raises:
        ValueError: when the mesh is not mirror-symmetric within ``tol`` or the map is not an involution.
    """
    reflected = vertices * np.array([-1.0, 1.0, 1.0], dtype=vertices.dtype)
    dist, mirror = cKDTree(vertices).query(reflected)
    if dist.max() > tol:
        worst = int(np.argmax(dist))
        raise ValueError(
            f"mesh is not left-right symmetric: vertex {worst} reflected lies {dist[worst]:.3g} m from the "
            f"nearest vertex (expected <= {tol} m)")
    if np.any(mirror[mirror] != np.arange(len(vertices))):
        raise ValueError("vertex mirror map is not an involution (mirror(mirror(v)) != v)")
    return mirror.astype(np.int64)


def face_mirror_map(faces: np.ndarray, vertex_mirror: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror correspondence of faces.

    Args:
        faces: (F, 3) int vertex ids.
        vertex_mirror: (V,) int, see :func:`find_vertex_mirror`.

    Returns:
        face_mirror: (F,) int64, the face whose vertex set is the mirror of face f's.
        corner_perm: (F, 3) int64 with faces[face_mirror[f], k] == vertex_mirror[faces[f, corner_perm[f, k]]].

    Raises:
        ValueError: when some mirrored vertex triple is not a face (the topology is not symmetric).
    """
    n_v = len(vertex_mirror)
    mirrored = vertex_mirror[faces]

    def key(tri: np.ndarray) -> np.ndarray:
        s = np.sort(tri, axis=1)
        return (s[:, 0] * n_v + s[:, 1]) * n_v + s[:, 2]

    face_keys = key(faces)
    order = np.argsort(face_keys, kind="stable")
    mkeys = key(mirrored)
    pos = np.clip(np.searchsorted(face_keys[order], mkeys), 0, len(faces) - 1)
    found = face_keys[order][pos] == mkeys
    if not np.all(found):
        raise ValueError(
            f"mesh topology is not mirror-symmetric: {int((~found).sum())} of {len(faces)} mirrored faces "
            f"do not exist (first: face {int(np.argmin(found))})")
    face_mirror = order[pos]
    # corner_perm[f, k] = the corner j of f whose mirror vertex is corner k of the mirrored face.
    target = faces[face_mirror]  # (F, 3)
    match = target[:, :, None] == mirrored[:, None, :]  # [f, k, j]
    corner_perm = np.argmax(match, axis=2)
    return face_mirror.astype(np.int64), corner_perm.astype(np.int64)
