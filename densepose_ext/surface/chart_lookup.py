"""Vectorised point location in the part charts: (I, U, V) -> (face, barycentric).

Each part's chart square [0, 1]^2 is covered by a G x G grid; every cell lists the triangles of that part
that meet it (bounding-box pairs filtered by an exact triangle/square test; CSR arrays, larger triangles
first); crowded cells are split once more into S x S leaves. A query tests its leaf's candidates in rounds
(all queries at once per round, only unresolved ones go on), ~1.5-3 barycentric evaluations per query. Cells that no triangle touches (chart corners outside the convex chart boundary) borrow the
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
        grid: level-1 cells per chart side.
        split, crowded: a level-1 cell listing more than ``crowded`` triangles is split into split x split
            leaves (charts squeeze some regions, e.g. fingers, so triangle density varies a lot).
    """

    def __init__(self, face_part: np.ndarray, face_uv: np.ndarray, num_parts: int, grid: int = 64,
                 split: int = 8, crowded: int = 8):
        self.grid, self.split, self.num_parts = grid, split, num_parts
        uv = face_uv.astype(np.float64)
        edges = np.stack([uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]], axis=2)  # (F, 2, 2) columns
        det = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
        safe = np.where(det == 0.0, 1.0, det)
        # Per face: origin (u0, v0) and the inverse edge matrix, so (b1, b2) = inv @ (uv - origin).
        # Degenerate faces get a zero inverse and an origin far away, so they never contain a point.
        inv = np.stack([edges[:, 1, 1], -edges[:, 0, 1], -edges[:, 1, 0], edges[:, 0, 0]], axis=1) / safe[:, None]
        self._affine = np.concatenate([uv[:, 0], inv], axis=1)  # (F, 6)
        self._affine[det == 0.0] = [1e9, 1e9, 0.0, 0.0, 0.0, 0.0]
        self._chart_area = 0.5 * np.abs(det)
        self._build(face_part, uv, crowded)

    def _build(self, face_part: np.ndarray, uv: np.ndarray, crowded: int) -> None:
        start, cand = self._cell_candidates(face_part, uv)
        # Crowded cells become split x split leaves; one leaf numbering: unsplit cells first (by cell id),
        # then the leaves of the split cells.
        is_split = np.diff(start) > crowded
        sub_start, sub_cand = self._leaf_candidates(uv, start, cand, is_split)
        s2 = self.split * self.split
        n_plain = int((~is_split).sum())
        self._leaf_base = np.where(is_split, n_plain + (np.cumsum(is_split) - 1) * s2, np.cumsum(~is_split) - 1)
        self._is_split = is_split
        plain_start, plain_cand = _gather(start, cand, np.flatnonzero(~is_split))
        self._start = np.concatenate([plain_start[:-1], plain_start[-1] + sub_start])
        self._cand = np.concatenate([plain_cand, sub_cand])

    def _cell_candidates(self, face_part: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """CSR candidates of the level-1 cells (num_parts * G * G). Cells no triangle meets (outside the
        convex chart boundary) copy the list of the nearest covered cell of the same part."""
        g = self.grid
        n_cells = self.num_parts * g * g
        cell, face = _cells_of_boxes(uv.min(axis=1) * g, uv.max(axis=1) * g, g, (face_part - 1) * g * g)
        keep = _triangle_meets_square(uv[face] * g, np.stack([cell % g, (cell // g) % g], axis=1))
        start, cand = _csr(cell[keep], face[keep], n_cells, self._chart_area)
        covered = (np.diff(start) > 0).reshape(self.num_parts, g, g)
        source = np.arange(n_cells).reshape(self.num_parts, g, g)
        for p in range(self.num_parts):  # 24 small 2D distance transforms
            if covered[p].any() and not covered[p].all():
                _, (iy, ix) = distance_transform_edt(~covered[p], return_indices=True)
                source[p] = (p * g + iy) * g + ix
        return _gather(start, cand, source.ravel())

    def _leaf_candidates(self, uv: np.ndarray, start: np.ndarray, cand: np.ndarray,
                         is_split: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """CSR candidates of the split x split leaves of every split cell (in split-cell order)."""
        g, s = self.grid, self.split
        counts = np.diff(start)
        n_leaves = int(is_split.sum()) * s * s
        pair_face = cand[np.repeat(is_split, counts)]
        pair_cell = np.repeat(np.arange(len(counts)), counts)[np.repeat(is_split, counts)]
        split_id = np.cumsum(is_split) - 1  # rank of each split cell
        cell_xy = np.stack([pair_cell % g, (pair_cell // g) % g], axis=1) * s  # in leaf units
        lo = np.clip(uv[pair_face].min(axis=1) * g * s - cell_xy, 0, s - 1e-9)
        hi = np.clip(uv[pair_face].max(axis=1) * g * s - cell_xy, 0, s - 1e-9)
        leaf, face = _cells_of_boxes(lo, hi, s, split_id[pair_cell] * s * s, faces=pair_face)
        pair_of_leaf = np.repeat(np.arange(len(lo)), _box_cell_counts(lo, hi, s))
        keep = _triangle_meets_square(uv[face] * g * s - cell_xy[pair_of_leaf][:, None, :],
                                      np.stack([leaf % s, (leaf // s) % s], axis=1))
        leaf, face = leaf[keep], face[keep]
        # A leaf no triangle meets (outside the chart) keeps its cell's whole list.
        empty = np.setdiff1d(np.arange(n_leaves), leaf)
        parent = np.flatnonzero(is_split)[empty // (s * s)]
        fill_leaf = np.repeat(empty, counts[parent])
        fill_face = cand[_ranges(start[parent], counts[parent])]
        return _csr(np.concatenate([leaf, fill_leaf]), np.concatenate([face, fill_face]), n_leaves,
                    self._chart_area)

    def barycentric(self, face: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(N, 3) barycentric coordinates of chart points (u, v) (N,) in faces (N,) (may be outside)."""
        return np.stack(self._barycentric_columns(face, u, v), axis=1)

    def _barycentric_columns(self, face: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
        a = self._affine[face]
        du, dv = u - a[:, 0], v - a[:, 1]
        b1 = a[:, 2] * du + a[:, 3] * dv
        b2 = a[:, 4] * du + a[:, 5] * dv
        return 1.0 - b1 - b2, b1, b2

    def _smallest_barycentric(self, face: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(N,) min over the three barycentrics: >= 0 inside the face, the more negative the farther out."""
        b0, b1, b2 = self._barycentric_columns(face, u, v)
        return np.minimum(np.minimum(b0, b1), b2)

    def locate(self, i: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(I, U, V) (N,) chart -> face (N,) int64 and barycentric (N, 3) float64 (surface frame).

        U, V are clipped to [0, 1]. Raises ValueError for I outside 1..num_parts or non-finite U, V.
        """
        i = np.asarray(i, dtype=np.int64).ravel()
        u = np.asarray(u, dtype=np.float64).ravel()
        v = np.asarray(v, dtype=np.float64).ravel()
        for name, x in (("U", u), ("V", v)):
            if not np.isfinite(x).all():
                raise ValueError(f"{name} must be finite, got {x[~np.isfinite(x)][0]} at index "
                                 f"{int(np.flatnonzero(~np.isfinite(x))[0])}")
        u, v = np.clip(u, 0.0, 1.0), np.clip(v, 0.0, 1.0)
        if not (len(i) == len(u) == len(v)):
            raise ValueError(f"I, U, V must have equal lengths, got {len(i)}, {len(u)}, {len(v)}")
        if i.size and (i.min() < 1 or i.max() > self.num_parts):
            bad = i[(i < 1) | (i > self.num_parts)][0]
            raise ValueError(f"part index I must be in 1..{self.num_parts}, got {bad}")
        g, s = self.grid, self.split
        fx = np.minimum(u * g, g - 1e-9)
        fy = np.minimum(v * g, g - 1e-9)
        cx, cy = fx.astype(np.int64), fy.astype(np.int64)
        cell = ((i - 1) * g + cy) * g + cx
        sub = ((fy - cy) * s).astype(np.int64) * s + ((fx - cx) * s).astype(np.int64)
        leaf = self._leaf_base[cell] + np.where(self._is_split[cell], sub, 0)
        first, count = self._start[leaf], self._start[leaf + 1] - self._start[leaf]
        # Round k tests the k-th candidate of every still unresolved query (every leaf has >= 1); the
        # candidate with the largest smallest barycentric wins (inside: >= 0).
        best_face = self._cand[first]
        best_min = self._smallest_barycentric(best_face, u, v)
        todo = np.flatnonzero(best_min < -INSIDE_EPS)
        k = 1
        while todo.size:
            todo = todo[count[todo] > k]
            face = self._cand[first[todo] + k]
            bmin = self._smallest_barycentric(face, u[todo], v[todo])
            better = bmin > best_min[todo]
            best_face[todo[better]] = face[better]
            best_min[todo[better]] = bmin[better]
            todo = todo[bmin < -INSIDE_EPS]
            k += 1
        bary = np.clip(self.barycentric(best_face, u, v), 0.0, None)
        return best_face, bary / bary.sum(axis=1, keepdims=True)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(starts[j], starts[j] + counts[j]) over j."""
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets


def _triangle_meets_square(tri: np.ndarray, corner: np.ndarray) -> np.ndarray:
    """(M,) bool: triangle tri (M, 3, 2) meets the unit square [corner, corner + 1] (M, 2) (both in cell
    units; callers already know the bounding boxes overlap). Separating-axis test on the triangle's
    edge normals, with a small margin so that touching counts as meeting."""
    orient = np.sign((tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1])
                     - (tri[:, 1, 1] - tri[:, 0, 1]) * (tri[:, 2, 0] - tri[:, 0, 0]))
    meets = np.ones(len(tri), dtype=bool)
    for k in range(3):  # the three edges, vectorised over triangles
        a, b = tri[:, k], tri[:, (k + 1) % 3]
        # Outward normal of edge a->b (either orientation); the square corner least far along it decides.
        nx = orient * (b[:, 1] - a[:, 1])
        ny = orient * (a[:, 0] - b[:, 0])
        nearest = (nx * (corner[:, 0] - a[:, 0]) + ny * (corner[:, 1] - a[:, 1])
                   + np.minimum(nx, 0.0) + np.minimum(ny, 0.0))
        meets &= nearest <= 1e-6 * (np.abs(nx) + np.abs(ny))
    return meets


def _box_cell_counts(lo: np.ndarray, hi: np.ndarray, g: int) -> np.ndarray:
    """(M,) number of g x g grid cells each box [lo, hi] (cell units) overlaps."""
    lo = np.clip(np.floor(lo).astype(np.int64), 0, g - 1)
    hi = np.clip(np.floor(hi).astype(np.int64), 0, g - 1)
    return (hi[:, 0] - lo[:, 0] + 1) * (hi[:, 1] - lo[:, 1] + 1)


def _cells_of_boxes(lo: np.ndarray, hi: np.ndarray, g: int, base: np.ndarray,
                    faces: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(cell, face) pairs of every g x g grid cell that each box [lo, hi] (M, 2) in cell units overlaps;
    cell ids are base (M,) + y * g + x, face defaults to the box index."""
    lo = np.clip(np.floor(lo).astype(np.int64), 0, g - 1)
    hi = np.clip(np.floor(hi).astype(np.int64), 0, g - 1)
    nx, ny = hi[:, 0] - lo[:, 0] + 1, hi[:, 1] - lo[:, 1] + 1
    count = nx * ny
    box = np.repeat(np.arange(len(lo)), count)
    k = _ranges(np.zeros(len(lo), dtype=np.int64), count)
    cell = base[box] + (lo[box, 1] + k // nx[box]) * g + lo[box, 0] + k % nx[box]
    return cell, (box if faces is None else faces[box])


def _csr(cell: np.ndarray, face: np.ndarray, n_cells: int, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR (start (n_cells + 1,), candidates) from (cell, face) pairs. Within a cell, larger triangles
    (``area`` per face) come first: they most likely hold a query, which saves lookup rounds."""
    order = np.lexsort((face, -area[face], cell))
    start = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=n_cells))])
    return start, face[order]


def _gather(start: np.ndarray, cand: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the rows ``rows`` of a CSR (rows may repeat)."""
    counts = np.diff(start)[rows]
    return np.concatenate([[0], np.cumsum(counts)]), cand[_ranges(start[rows], counts)]
