"""The reference evaluator's geodesic between chart points: snap each point to a chart vertex, look the pair up.

A chart point (I, U, V) goes to the chart vertex of part I nearest to (U, V) in Euclidean chart distance (the first
such vertex in file order when several are equally near, as the reference's ``argmin`` picks), that vertex to its
mesh vertex (SMPL_SUBDIV_TRANSFORM.mat), and the distance of two points is the precomputed geodesic of their mesh
vertices (Pdist_matrix.pkl, memory-mapped; smpl.py). This is the reference's convention, kept for comparable
numbers; the surface's own ``BodySurface.geodesic`` (exact distances between the points themselves) is the other.

    geo = ChartVertexGeodesic.from_files(data_dir)      # SMPL_subdiv.mat, SMPL_SUBDIV_TRANSFORM.mat, Pdist_matrix.pkl
    d = geo(I1, U1, V1, I2, U2, V2)                     # (N,) metres; a DistanceFn of the evaluator
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np
from scipy.spatial import cKDTree

from densepose_ext.surface.parts import NUM_FINE_PARTS
from densepose_ext.surface.smpl import (PDIST_FILE, PDIST_INDEX_FILE, PrecomputedDistances, SmplChartVertices,
                                        load_smpl_chart_vertices, load_smpl_distances, smpl_data_dir)

__all__ = ["ChartVertexGeodesic"]

# Distances computed at once when snapping by brute force (queries x vertices of a part): bounds the temporary
# memory (~64 MB).
CHUNK_ELEMENTS = 1 << 22
# Snapping asks a k-d tree for this many candidates per point and decides among them with the reference's formula.
CANDIDATES = 4
# A point whose CANDIDATES-th candidate is not this much farther than its first may have a tie outside the
# candidates (k-d tree and reference round differently, by ~1e-16): it is snapped by brute force instead.
TIE_MARGIN = 1e-9


class ChartVertexGeodesic:
    """Geodesics between chart points through their nearest chart vertices (see the module docstring).

    Args:
        charts: part (N,) and uv (N, 2) of the chart vertices.
        distances: the precomputed distances; its ``index`` gives the mesh vertex of each of the N chart vertices.
    """

    def __init__(self, charts: SmplChartVertices, distances: PrecomputedDistances) -> None:
        if len(distances.index) != len(charts.part):
            raise ValueError(f"{PDIST_INDEX_FILE}: field 'index' expected one entry per chart vertex "
                             f"({len(charts.part)}), got {len(distances.index)}")
        self.distances = distances
        # Chart vertex ids of each part in increasing order, so argmin's first minimum is the reference's choice.
        self._part_vertices = [np.flatnonzero(charts.part == p) for p in range(NUM_FINE_PARTS + 1)]
        self._part_uv = [charts.uv[ids] for ids in self._part_vertices]
        self._trees = [cKDTree(uv) if len(uv) > CANDIDATES else None for uv in self._part_uv]

    @classmethod
    def from_files(cls, data_dir: Union[str, Path, None] = None) -> "ChartVertexGeodesic":
        """From SMPL_subdiv.mat, SMPL_SUBDIV_TRANSFORM.mat and Pdist_matrix.pkl in ``data_dir``
        (default $DENSEPOSE_SMPL_DIR)."""
        distances = load_smpl_distances(data_dir)
        if distances is None:
            raise FileNotFoundError(f"{smpl_data_dir(data_dir)}: the reference's geodesics need {PDIST_FILE} and "
                                    f"{PDIST_INDEX_FILE}, not found")
        return cls(load_smpl_chart_vertices(data_dir), distances)

    def nearest_chart_vertex(self, i: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(N,) int64 0-based chart vertex nearest to each point (i (N,) in 1..24, u, v (N,) chart) on its part."""
        i = np.asarray(i, dtype=np.int64)
        if i.size and (i.min() < 1 or i.max() > NUM_FINE_PARTS):
            raise ValueError(f"chart points: expected parts in 1..{NUM_FINE_PARTS}, got [{i.min()}, {i.max()}]")
        # Many points share (I, U, V) (predictions are quantised to 1/255): snap each distinct point once.
        points, inverse = np.unique(np.stack([i, u, v], axis=1).astype(np.float64), axis=0, return_inverse=True)
        nearest = np.empty(len(points), dtype=np.int64)
        for part in np.unique(points[:, 0]).astype(np.int64):
            rows = np.flatnonzero(points[:, 0] == part)
            nearest[rows] = self._snap(part, points[rows, 1], points[rows, 2])
        return nearest[inverse.reshape(-1)]

    def _snap(self, part: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Chart vertex ids (0-based) nearest to (u, v) (M,) on ``part``: candidates from the part's k-d tree, the
        reference's choice among them; points with near-ties beyond the candidates go to ``_snap_all``."""
        tree = self._trees[part]
        if tree is None:
            return self._snap_all(part, u, v)
        tree_dist, cand = tree.query(np.stack([u, v], axis=1), k=CANDIDATES)
        vertex_uv = self._part_uv[part]
        du, dv = vertex_uv[cand, 0] - u[:, None], vertex_uv[cand, 1] - v[:, None]
        dist = np.sqrt(du * du + dv * dv)
        # Among equally near candidates the lowest id, i.e. the first in file order, as argmin over all would take.
        best = np.where(dist == dist.min(axis=1, keepdims=True), cand, len(vertex_uv)).min(axis=1)
        unsure = tree_dist[:, -1] <= tree_dist[:, 0] + TIE_MARGIN
        out = self._part_vertices[part][best]
        if unsure.any():
            out[unsure] = self._snap_all(part, u[unsure], v[unsure])
        return out

    def _snap_all(self, part: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``_snap`` by comparing with every chart vertex of the part, as the reference does."""
        vertex_uv = self._part_uv[part]
        if not len(vertex_uv):
            raise ValueError(f"chart points on part {part}: SMPL_subdiv.mat has no chart vertex of that part")
        out = np.empty(len(u), dtype=np.int64)
        step = max(1, CHUNK_ELEMENTS // len(vertex_uv))
        for start in range(0, len(u), step):
            du = vertex_uv[None, :, 0] - u[start:start + step, None]
            dv = vertex_uv[None, :, 1] - v[start:start + step, None]
            # sqrt of the sum of squares, like scipy's cdist in the reference: equal roundings, equal ties.
            out[start:start + step] = np.argmin(np.sqrt(du * du + dv * dv), axis=1)
        return self._part_vertices[part][out]

    def __call__(self, i1: np.ndarray, u1: np.ndarray, v1: np.ndarray,
                 i2: np.ndarray, u2: np.ndarray, v2: np.ndarray) -> np.ndarray:
        """(N,) float64 metres between chart points (i1, u1, v1) and (i2, u2, v2), elementwise; parts in 1..24."""
        return self.distances.vertex_distance(self.nearest_chart_vertex(i1, u1, v1),
                                              self.nearest_chart_vertex(i2, u2, v2))
