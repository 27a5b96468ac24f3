"""Vectorised point location in the part charts: (I, U, V) -> (face, barycentric).

Each part's chart square [0, 1]^2 is covered by a G x G grid; every cell lists the triangles of that part
whose chart bounding box overlaps it (CSR arrays). A query tests its cell's candidates in rounds (all
queries at once per round, only unresolved ones go on), so the cost is ~1-2 barycentric evaluations per
query. Cells that no triangle touches (chart corners outside the convex chart boundary) borrow the
candidates of the nearest covered cell; queries outside every triangle get the candidate with the
largest smallest barycentric, clamped onto the triangle (a point on or near the chart boundary).

Frames: chart (I in 1..24, U, V in [0, 1]) -> surface (face index, barycentric (3,) summing to 1).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt

# Tolerance on barycentrics for "inside the triangle" (points on shared edges belong to either face).
INSIDE_EPS = 1e-9


class ChartLookup:
    """Point location in per-part charts.

    Args:
        face_part: (F,) int part 1..num_parts of each face.
        face_uv: (F, 3, 2) float chart (U, V) of each face corner.
        num_parts: number of parts (24).
        grid: cells per chart side.
    """

    def __init__(self, face_part: np.ndarray, face_uv: np.ndarray, num_parts: int, grid: int = 64):
        self.grid = grid
        self.num_parts = num_parts
        uv = face_uv.astype(np.float64)
        self._origin = uv[:, 0]  # (F, 2)
        edges = np.stack([uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]], axis=2)  # (F, 2, 2) columns
        det = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
        safe = np.where(det == 0.0, 1.0, det)
        # Inverse of the edge matrix: (b1, b2) = inv @ (uv - origin); degenerate faces never match.
        self._inv = np.stack([np.stack([edges[:, 1, 1], -edges[:, 0, 1]], 1),
                              np.stack([-edges[:, 1, 0], edges[:, 0, 0]], 1)], axis=1) / safe[:, None, None]
        self._inv[det == 0.0] = 0.0
        self._start, self._cand = self._build_grid(face_part, uv)

    def _build_grid(self, face_part: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = self.grid
        lo = np.clip(np.floor(uv.min(axis=1) * g).astype(np.int64), 0, g - 1)  # (F, 2) cell x (U), y (V)
        hi = np.clip(np.floor(uv.max(axis=1) * g).astype(np.int64), 0, g - 1)
        nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
        count = nx * ny
        face = np.repeat(np.arange(len(uv)), count)
        k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        cx = lo[face, 0] + k % nx[face]
        cy = lo[face, 1] + k // nx[face]
        cell = ((face_part[face] - 1) * g + cy) * g + cx
        n_cells = self.num_parts * g * g
        covered = np.bincount(cell, minlength=n_cells) > 0
        # Uncovered cells copy the candidates of the nearest covered cell of the same part.
        source = np.arange(n_cells).reshape(self.num_parts, g, g)
        for p in range(self.num_parts):  # 24 small 2D distance transforms
            cov = covered.reshape(self.num_parts, g, g)[p]
            if cov.any() and not cov.all():
                _, (iy, ix) = distance_transform_edt(~cov, return_indices=True)
                source[p] = (p * g + iy) * g + ix
        source = source.ravel()
        # Expand: every cell gets the candidate list of its source cell.
        order = np.argsort(cell, kind="stable")
        cell_sorted, face_sorted = cell[order], face[order]
        src_start = np.searchsorted(cell_sorted, np.arange(n_cells))
        src_count = np.bincount(cell_sorted, minlength=n_cells)
        count_per_cell = src_count[source]
        start = np.concatenate([[0], np.cumsum(count_per_cell)])
        j = np.arange(start[-1]) - np.repeat(start[:-1], count_per_cell)
        cand = face_sorted[np.repeat(src_start[source], count_per_cell) + j]
        return start, cand

    def barycentric(self, face: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(N, 3) barycentric coordinates of chart points (u, v) (N,) in faces (N,) (may be outside)."""
        d = np.stack([u, v], axis=1) - self._origin[face]
        b12 = np.einsum("nij,nj->ni", self._inv[face], d)
        return np.concatenate([1.0 - b12.sum(axis=1, keepdims=True), b12], axis=1)

    def locate(self, i: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(I, U, V) (N,) chart -> face (N,) int64 and barycentric (N, 3) float64 (surface frame).

        U, V are clipped to [0, 1]. Raises ValueError for I outside 1..num_parts.
        """
        i = np.asarray(i, dtype=np.int64).ravel()
        u = np.clip(np.asarray(u, dtype=np.float64).ravel(), 0.0, 1.0)
        v = np.clip(np.asarray(v, dtype=np.float64).ravel(), 0.0, 1.0)
        if i.size and (i.min() < 1 or i.max() > self.num_parts):
            bad = i[(i < 1) | (i > self.num_parts)][0]
            raise ValueError(f"part index I must be in 1..{self.num_parts}, got {bad}")
        g = self.grid
        cx = np.minimum((u * g).astype(np.int64), g - 1)
        cy = np.minimum((v * g).astype(np.int64), g - 1)
        cell = ((i - 1) * g + cy) * g + cx
        first, count = self._start[cell], self._start[cell + 1] - self._start[cell]
        n = len(i)
        best_face = np.zeros(n, dtype=np.int64)
        best_bary = np.full((n, 3), -np.inf)
        todo = np.arange(n)
        for k in range(int(count.max()) if n else 0):
            todo = todo[count[todo] > k]
            if todo.size == 0:
                break
            face = self._cand[first[todo] + k]
            bary = self.barycentric(face, u[todo], v[todo])
            better = bary.min(axis=1) > best_bary[todo].min(axis=1)
            best_face[todo[better]] = face[better]
            best_bary[todo[better]] = bary[better]
            todo = todo[bary.min(axis=1) < -INSIDE_EPS]
        bary = np.clip(best_bary, 0.0, None)
        return best_face, bary / bary.sum(axis=1, keepdims=True)
