"""Geodesic distances between ground-truth and predicted chart points, computed in large batches.

A distance function (``DistanceFn``, default: the body surface's ``geodesic``) has a large fixed cost per call
(the surface engine: ~5x the CPU time for 86k pairs in 334 calls than in one), so the evaluator queues the pairs
of many images and runs them together; each caller gets its distances back through a callback.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

# (I1, U1, V1, I2, U2, V2) -> (N,) geodesic distances in metres, elementwise; I1, I2 in 1..24.
DistanceFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
IUV = tuple[np.ndarray, np.ndarray, np.ndarray]

DEFAULT_BATCH_PAIRS = 1 << 18


class BatchedDistance:
    """Queue of point pairs answered by few calls of a DistanceFn (at least ``batch_pairs`` pairs per call)."""

    def __init__(self, distance_fn: DistanceFn, batch_pairs: int = DEFAULT_BATCH_PAIRS) -> None:
        self._fn = distance_fn
        self._batch_pairs = batch_pairs
        self._pending: list[tuple[IUV, IUV, Callable[[np.ndarray], None]]] = []
        self._num_pending = 0

    def submit(self, gt_iuv: IUV, pred_iuv: IUV, done: Callable[[np.ndarray], None]) -> None:
        """Queue pairs (each array (M,), I in 1..24); ``done`` receives their (M,) float64 distances, at the latest
        at the next ``flush``."""
        self._pending.append((gt_iuv, pred_iuv, done))
        self._num_pending += len(gt_iuv[0])
        if self._num_pending >= self._batch_pairs:
            self.flush()

    def flush(self) -> None:
        """Compute every queued pair in one call and hand each submitter its share."""
        pending, self._pending, self._num_pending = self._pending, [], 0
        if not pending:
            return
        columns = [np.concatenate([q[side][k] for q in pending]) for side in (0, 1) for k in range(3)]
        dist = np.asarray(self._fn(*columns), dtype=np.float64) if len(columns[0]) else np.zeros(0)
        ends = np.cumsum([len(q[0][0]) for q in pending])
        for (_, _, done), start, end in zip(pending, np.concatenate([[0], ends[:-1]]), ends):
            done(dist[start:end])


def submit_pair_distances(
    batch: BatchedDistance, gt_iuv: IUV, pred_iuv: IUV, out: np.ndarray, then: Callable[[], None] = lambda: None
) -> None:
    """Queue the geodesic error of every detection at every ground-truth point that it predicts.

    Args:
        gt_iuv: (I, U, V), each (N,); I in 1..24.
        pred_iuv: (I, U, V), each (D, N), sampled at the ground-truth points; I = 0 where the detection predicts
            background or the point lies outside its box (no distance: ``out`` keeps its value there).
        out: (D, N) float64, receives the distances (metres) once the batch runs; ``then`` is called after.
    """
    gt_i, gt_u, gt_v = gt_iuv
    pred_i, pred_u, pred_v = pred_iuv
    rows, cols = np.nonzero(np.asarray(pred_i) > 0)

    def done(dist: np.ndarray) -> None:
        out[rows, cols] = dist
        then()

    batch.submit(
        (gt_i[cols], gt_u[cols], gt_v[cols]), (pred_i[rows, cols], pred_u[rows, cols], pred_v[rows, cols]), done
    )
