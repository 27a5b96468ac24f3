"""Geodesic Point Similarity (GPS) and GPSm between detections and ground-truth people: pure numpy functions.

Shape key: D detections, G ground-truth people, N ground-truth points of all G people concatenated
(``owner[n]`` in 0..G-1 says whose point n is). Predictions arrive already sampled at the ground-truth point
locations (see sampling.py), so everything here lives in the chart frame: fine part I (0 = background or
outside the detection box, 1..24 = body) and (U, V) in [0, 1]. Distances are geodesics on the body surface
in metres (distances.py); everything is float64 so results do not depend on the device the model ran on.
"""

from __future__ import annotations

import numpy as np

from densepose_ext.evaluation.kappa import point_kappa


def point_similarity(dist: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """Per-point score ``exp(-dist^2 / (2 kappa^2))``; an infinite distance (no prediction) scores 0.

    Args:
        dist: (..., N) metres, ``inf`` where the point has no usable prediction.
        kappa: (N,) or scalar metres.
    """
    dist = np.asarray(dist, dtype=np.float64)
    return np.exp(-np.square(dist) / (2.0 * np.square(np.asarray(kappa, dtype=np.float64))))


def gps_from_distances(
    dist: np.ndarray, gt_parts: np.ndarray, owner: np.ndarray, num_gt: int, kappa_mode: str
) -> np.ndarray:
    """GPS_j = mean over person j's ground-truth points of ``point_similarity``, for every detection.

    Args:
        dist: (D, N) metres (``inf`` = no prediction at that point).
        gt_parts: (N,) fine part 1..24 of each ground-truth point (selects κ in "per-part" mode).
        owner: (N,) int in 0..num_gt-1.
        num_gt: G.
        kappa_mode: "global" or "per-part" (kappa.py).
    Returns:
        (D, G) float64 in [0, 1]; 0 for a person without points.
    """
    owner = np.asarray(owner, dtype=np.int64)
    sim = point_similarity(dist, point_kappa(gt_parts, kappa_mode))
    num_det = sim.shape[0]
    # One bincount over (detection, owner) cells sums each person's scores for every detection at once.
    cell = (np.arange(num_det)[:, None] * num_gt + owner[None, :]).ravel()
    sums = np.bincount(cell, weights=sim.ravel(), minlength=num_det * num_gt).reshape(num_det, num_gt)
    counts = np.bincount(owner, minlength=num_gt).astype(np.float64)
    return np.divide(sums, counts, out=np.zeros(sums.shape), where=counts > 0)


def gpsm(gps: np.ndarray, mask_iou: np.ndarray) -> np.ndarray:
    """GPSm = sqrt(GPS * mask IoU), elementwise; (D, G) -> (D, G)."""
    return np.sqrt(np.asarray(gps, dtype=np.float64) * np.asarray(mask_iou, dtype=np.float64))
