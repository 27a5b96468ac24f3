"""The normalising constant κ of the Geodesic Point Similarity, global or per part.

GPS scores a point ``exp(-g^2 / (2 κ^2))`` for a geodesic error ``g`` in metres (docs/evaluation.md, "Other definitions").
Two definitions are in use and both are available here, the only place they are defined:

- ``"global"``: the paper's single κ = 0.255 m (a point scores 0.5 at ~30 cm).
- ``"per-part"``: the reference evaluator's later choice, one κ per coarse group of the ground-truth fine
  part, so that small parts (hands, head) are judged on their own scale.
"""

from __future__ import annotations

import numpy as np

from densepose_ext.surface.parts import NUM_FINE_PARTS

KAPPA_MODES = ("global", "per-part")

GLOBAL_KAPPA = 0.255

# Reference values: PER_PART_KAPPA[KAPPA_GROUP_OF_FINE_PART[I]] is κ (metres) for a ground-truth point of fine part I.
# Group 0 (background) never scores, its entry is a placeholder.
PER_PART_KAPPA = np.array([0.0, 0.351, 0.107, 0.126, 0.237, 0.173, 0.142, 0.128, 0.150], dtype=np.float64)
KAPPA_GROUP_OF_FINE_PART = np.array(
    [0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8], dtype=np.int64
)


def check_kappa_mode(mode: str) -> str:
    """Return ``mode`` if it names a κ definition, else raise ValueError listing the valid names."""
    if mode not in KAPPA_MODES:
        raise ValueError(f"kappa mode: expected one of {KAPPA_MODES}, got {mode!r}")
    return mode


def point_kappa(gt_parts: np.ndarray, mode: str) -> np.ndarray:
    """κ (metres) for each ground-truth point.

    Args:
        gt_parts: (N,) int, fine part label 1..24 of each ground-truth point.
        mode: "global" or "per-part".
    Returns:
        (N,) float64 metres.
    """
    gt_parts = np.asarray(gt_parts, dtype=np.int64)
    if gt_parts.size and (gt_parts.min() < 1 or gt_parts.max() > NUM_FINE_PARTS):
        raise ValueError(
            f"gt_parts: expected fine part labels in 1..{NUM_FINE_PARTS}, got range "
            f"[{gt_parts.min()}, {gt_parts.max()}]"
        )
    if check_kappa_mode(mode) == "global":
        return np.full(gt_parts.shape, GLOBAL_KAPPA, dtype=np.float64)
    return PER_PART_KAPPA[KAPPA_GROUP_OF_FINE_PART[gt_parts]]


def describe_kappa(mode: str) -> dict:
    """JSON-safe statement of the κ used, for reports."""
    if check_kappa_mode(mode) == "global":
        return {"mode": mode, "value": GLOBAL_KAPPA}
    return {
        "mode": mode,
        "values_by_group": PER_PART_KAPPA.tolist(),
        "group_of_fine_part": KAPPA_GROUP_OF_FINE_PART.tolist(),
    }
