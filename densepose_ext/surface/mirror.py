"""Left-right symmetry of a body mesh: vertex and face correspondences under reflection x -> -x.

Frame: surface (rest-pose mesh in metres, the body's sagittal plane is x = 0; anny: x = person's left).
On a mesh with exact symmetry (anny: vertices and triangles), the mirror of a surface point (face f,
barycentric b) is (face_mirror[f], b[corner_perm[f]]): the mirrored face's corner k is the mirror of corner
corner_perm[f, k] of f, so barycentrics carry over exactly. Meshes that are only nearly symmetric use
GeometricMirror (reflect, then project onto the nearest triangle of the mirrored part).
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


def closest_point_barycentric(points: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest point of each triangle to each point, vectorised.

    Args:
        points: (N, 3); tri: (N, K, 3, 3) K candidate triangles per point (corners in rows).

    Returns:
        bary (N, K, 3) barycentrics of the closest point of each candidate, dist (N, K) its distance.
    """
    p = points[:, None, :]
    a, b, c = tri[..., 0, :], tri[..., 1, :], tri[..., 2, :]
    e1, e2, d = b - a, c - a, p - a
    # Projection onto the plane: solve the 2x2 normal equations for (b1, b2).
    g11, g12, g22 = (e1 * e1).sum(-1), (e1 * e2).sum(-1), (e2 * e2).sum(-1)
    r1, r2 = (d * e1).sum(-1), (d * e2).sum(-1)
    det = g11 * g22 - g12 * g12
    det = np.where(det == 0.0, 1.0, det)
    b1, b2 = (g22 * r1 - g12 * r2) / det, (g11 * r2 - g12 * r1) / det
    candidates = [np.stack([1.0 - b1 - b2, b1, b2], axis=-1)]
    # Closest points on the three edges (corner k -> k+1), used when the projection falls outside.
    for k in range(3):
        s, t = tri[..., k, :], tri[..., (k + 1) % 3, :]
        seg = t - s
        lam = np.clip(((p - s) * seg).sum(-1) / np.maximum((seg * seg).sum(-1), 1e-30), 0.0, 1.0)
        bary = np.zeros(lam.shape + (3,))
        bary[..., k] = 1.0 - lam
        bary[..., (k + 1) % 3] = lam
        candidates.append(bary)
    options = np.stack(candidates, axis=-2)  # (N, K, 4, 3)
    inside = options[..., 0, :].min(-1) >= 0.0
    xyz = np.einsum("nkoj,nkjd->nkod", options, tri)
    dist = np.linalg.norm(xyz - p[:, :, None, :], axis=-1)  # (N, K, 4)
    dist[..., 0] = np.where(inside, dist[..., 0], np.inf)
    best = np.argmin(dist, axis=-1)
    return (np.take_along_axis(options, best[..., None, None], axis=-2)[..., 0, :],
            np.take_along_axis(dist, best[..., None], axis=-1)[..., 0])


class GeometricMirror:
    """Mirror of surface points on a mesh that is only approximately symmetric (e.g. SMPL-based files):
    the reflected point (-x, y, z) is projected onto the nearest triangle of the mirrored part.

    Args:
        vertices: (V, 3) surface frame; faces: (F, 3); face_part: (F,) labels;
        part_mirror: (P + 1,) mirrored label of each label; candidates: triangles tried per point
            (nearest by centroid).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, face_part: np.ndarray, part_mirror: np.ndarray,
                 candidates: int = 8):
        self._tri = vertices[faces].astype(np.float64)
        self._part = face_part
        self._part_mirror = part_mirror
        self._k = candidates
        centroids = self._tri.mean(axis=1)
        self._faces_of = {p: np.flatnonzero(face_part == p) for p in np.unique(face_part)}
        self._tree = {p: cKDTree(centroids[f]) for p, f in self._faces_of.items()}

    def __call__(self, face: np.ndarray, bary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(face (N,), bary (N, 3)) -> mirrored (face (N,), bary (N, 3))."""
        points = np.einsum("nk,nkd->nd", bary, self._tri[face]) * np.array([-1.0, 1.0, 1.0])
        target = self._part_mirror[self._part[face]]
        out_face = np.zeros(len(face), dtype=np.int64)
        out_bary = np.zeros((len(face), 3))
        for p, faces_p in self._faces_of.items():  # one vectorised query per part
            sel = np.flatnonzero(target == p)
            if sel.size == 0:
                continue
            k = min(self._k, len(faces_p))
            _, idx = self._tree[p].query(points[sel], k=k)
            cand = faces_p[idx.reshape(len(sel), k)]
            bary_k, dist_k = closest_point_barycentric(points[sel], self._tri[cand])
            best = np.argmin(dist_k, axis=1)
            out_face[sel] = cand[np.arange(len(sel)), best]
            out_bary[sel] = bary_k[np.arange(len(sel)), best]
        return out_face, out_bary
