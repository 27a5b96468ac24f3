"""Image px -> cell of a grid laid over a box: the one mapping behind compositing (vis/iuv_image.py), evaluation
point sampling (evaluation/sampling.py, "cell-centre") and box masks (evaluation/masks.py).

Cell c of a grid of ``size`` cells over the box extent [lo, hi) covers image px
[lo + c (hi - lo) / size, lo + (c + 1) (hi - lo) / size), computed as floor((coord - lo) * (size / (hi - lo))) in
float64. Near lo and hi that product can round across the edge: a coordinate just below hi can give cell
``size``, one at or just above hi cell ``size - 1``. ``edge`` says which answer a caller gets there.
"""
from __future__ import annotations

import numpy as np

# "outside": a coordinate is inside when its computed cell exists (0 <= cell < size); the evaluator's rule.
# "clip": a coordinate is inside when lo <= coord < hi, its cell clipped into [0, size - 1]; the compositor's rule
#         (every pixel whose centre is in the box gets a cell, so pasted boxes have no holes at their edges).
EDGE_BEHAVIOURS = ("outside", "clip")


def cell_index(
    coord: np.ndarray, lo: np.ndarray, hi: np.ndarray, size: np.ndarray, edge: str = "outside"
) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell along one axis of a box frame, broadcasting over all arguments.

    Args:
        coord: image px coordinate(s) (a pixel centre is p + 0.5).
        lo, hi: the box extent on that axis (image px).
        size: number of cells over [lo, hi).
        edge: "outside" or "clip", the rule at the box edges (EDGE_BEHAVIOURS).
    Returns:
        cell: int64 in [0, size), 0 where outside; inside: bool, always False for an empty box (hi <= lo).
    """
    if edge not in EDGE_BEHAVIOURS:
        raise ValueError(f"edge: expected one of {EDGE_BEHAVIOURS}, got {edge!r}")
    coord = np.asarray(coord, np.float64)
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        cell = np.floor((coord - lo) * (size / (hi - lo)))
    if edge == "outside":
        inside = (cell >= 0) & (cell < size) & (hi > lo)
    else:
        inside = (coord >= lo) & (coord < hi)
        cell = np.clip(cell, 0, np.asarray(size) - 1)
    return np.where(inside, cell, 0).astype(np.int64), inside
