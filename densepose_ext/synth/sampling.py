"""Annotator-like sparse points: k-means centres of a part region, snapped to the region's pixels.

DensePose-COCO annotators saw each visible part region with at most 14 roughly equidistant points
(k-means inside the region). ``kmeans_pixels`` reproduces that deterministically (farthest-point
initialisation, then Lloyd iterations) in numba; ``kmeans_pixels_reference`` is a plain-Python version
for tests.
Coordinates are image px (any 2D frame works: the functions only use distances).
"""
from __future__ import annotations

import numba
import numpy as np

MAX_POINTS_PER_PART = 14
# A fully visible person gets about 100-150 points: part shares of the visible area times this budget.
POINTS_PER_PERSON = 160
_MAX_FIT_PIXELS = 512   # regions are subsampled to this many pixels for the fit (snapping uses all)
_ITERATIONS = 8


def points_for_part(part_area: int, person_area: int) -> int:
    """How many points a part region of `part_area` pixels gets, for a person of `person_area` pixels."""
    if part_area <= 0 or person_area <= 0:
        return 0
    wanted = int(round(POINTS_PER_PERSON * part_area / person_area))
    return int(min(MAX_POINTS_PER_PART, max(1, wanted), part_area))


@numba.njit(cache=True, nogil=True)
def _kmeans_kernel(coords, fit, k, iterations):
    """Farthest-point init on `fit`, Lloyd iterations, then the nearest pixel of `coords` to each centre.
    Returns (k,) indices into coords (may repeat; the caller keeps first occurrences)."""
    n = fit.shape[0]
    mx, my = 0.0, 0.0
    for i in range(n):
        mx += fit[i, 0]
        my += fit[i, 1]
    mx /= n
    my /= n
    first, best = 0, np.inf
    for i in range(n):
        d = (fit[i, 0] - mx) ** 2 + (fit[i, 1] - my) ** 2
        if d < best:
            first, best = i, d
    centres = np.empty((k, 2))
    centres[0] = fit[first]
    dist = np.empty(n)
    for i in range(n):
        dist[i] = (fit[i, 0] - centres[0, 0]) ** 2 + (fit[i, 1] - centres[0, 1]) ** 2
    for c in range(1, k):
        far = 0
        for i in range(1, n):
            if dist[i] > dist[far]:
                far = i
        centres[c] = fit[far]
        for i in range(n):
            d = (fit[i, 0] - centres[c, 0]) ** 2 + (fit[i, 1] - centres[c, 1]) ** 2
            if d < dist[i]:
                dist[i] = d
    sums = np.empty((k, 2))
    counts = np.empty(k)
    for _ in range(iterations):
        sums[:] = 0.0
        counts[:] = 0.0
        for i in range(n):
            best_c, best = 0, np.inf
            for c in range(k):
                d = (fit[i, 0] - centres[c, 0]) ** 2 + (fit[i, 1] - centres[c, 1]) ** 2
                if d < best:
                    best_c, best = c, d
            sums[best_c, 0] += fit[i, 0]
            sums[best_c, 1] += fit[i, 1]
            counts[best_c] += 1.0
        for c in range(k):
            if counts[c] > 0:  # an empty cluster keeps its centre
                centres[c, 0] = sums[c, 0] / counts[c]
                centres[c, 1] = sums[c, 1] / counts[c]
    out = np.empty(k, dtype=np.int64)
    for c in range(k):
        best_i, best = 0, np.inf
        for i in range(coords.shape[0]):
            d = (coords[i, 0] - centres[c, 0]) ** 2 + (coords[i, 1] - centres[c, 1]) ** 2
            if d < best:
                best_i, best = i, d
        out[c] = best_i
    return out


def kmeans_pixels(coords: np.ndarray, k: int) -> np.ndarray:
    """Distinct indices (<= k, in centre order) into coords (N,2) of the region pixels nearest the k-means
    centres of the region (fitted on a regular subsample of at most ~512 pixels)."""
    coords = np.ascontiguousarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"coords: expected shape (N, 2), got {coords.shape}")
    k = min(k, len(coords))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    fit = np.ascontiguousarray(coords[:: max(1, len(coords) // _MAX_FIT_PIXELS)])
    nearest = _kmeans_kernel(coords, fit, k, _ITERATIONS)
    _, first = np.unique(nearest, return_index=True)
    return nearest[np.sort(first)]


def kmeans_pixels_reference(coords: np.ndarray, k: int) -> np.ndarray:
    """Plain-loop version of :func:`kmeans_pixels` (same algorithm, same result)."""
    pts = [tuple(map(float, c)) for c in coords]
    k = min(k, len(pts))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    fit = pts[:: max(1, len(pts) // _MAX_FIT_PIXELS)]

    def d2(a, b):
        return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2

    mean = (sum(p[0] for p in fit) / len(fit), sum(p[1] for p in fit) / len(fit))
    chosen = [min(range(len(fit)), key=lambda i: d2(fit[i], mean))]
    while len(chosen) < k:
        chosen.append(max(range(len(fit)), key=lambda i: min(d2(fit[i], fit[c]) for c in chosen)))
    centres = [fit[i] for i in chosen]
    for _ in range(_ITERATIONS):
        groups: list[list[tuple[float, float]]] = [[] for _ in centres]
        for p in fit:
            groups[min(range(k), key=lambda j: d2(p, centres[j]))].append(p)
        centres = [(sum(p[0] for p in g) / len(g), sum(p[1] for p in g) / len(g)) if g else c
                   for g, c in zip(groups, centres)]
    out: list[int] = []
    for c in centres:
        i = min(range(len(pts)), key=lambda j: d2(pts[j], c))
        if i not in out:
            out.append(i)
    return np.asarray(out, dtype=np.int64)
