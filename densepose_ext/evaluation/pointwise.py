"""Pointwise evaluation: Ratio of Correct Points RCP(t) and its normalised areas AUC10 / AUC30 (paper Sec. 2.3).

Input is one geodesic error (metres) per ground-truth point of the whole dataset; a point without a usable
prediction (unmatched person, predicted background, outside the detection box) has error ``inf`` and is never
correct. RCP(t) = share of points with error < t. AUC_a = (1/a) ∫_0^a RCP(t) dt, computed exactly:
∫_0^a 1[e < t] dt = max(0, a - e), so AUC_a = mean_p max(0, 1 - e_p / a) (no threshold grid involved).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from densepose_ext.surface.parts import FINE_PART_NAMES, NUM_FINE_PARTS

AUC_LIMITS_M = {"AUC10": 0.10, "AUC30": 0.30}
# Curve samples for reports and plots: 0..30 cm in 5 mm steps.
RCP_THRESHOLDS_M = np.round(np.arange(0.0, 0.3 + 1e-9, 0.005), 6)


def rcp(errors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """RCP at each threshold. errors: (M,) metres (inf allowed); thresholds: (T,) metres -> (T,) in [0, 1]."""
    errors = np.sort(np.asarray(errors, dtype=np.float64))
    if errors.size == 0:
        return np.full(np.shape(thresholds), np.nan)
    return np.searchsorted(errors, thresholds, side="left") / errors.size


def auc_terms(errors: np.ndarray, limit: float) -> np.ndarray:
    """Each point's share of AUC_limit: max(0, 1 - e / limit), (M,) -> (M,); their mean is AUC_limit."""
    return np.clip(1.0 - np.asarray(errors, dtype=np.float64) / limit, 0.0, 1.0)


def auc(errors: np.ndarray, limit: float) -> float:
    """AUC_limit = (1/limit) ∫_0^limit RCP(t) dt; nan for no points."""
    errors = np.asarray(errors, dtype=np.float64)
    return float(auc_terms(errors, limit).mean()) if errors.size else float("nan")


def _none_if_nan(value: float) -> Optional[float]:
    return None if np.isnan(value) else float(value)


def pointwise_report(errors: np.ndarray, gt_parts: np.ndarray) -> dict:
    """JSON-safe summary: number of points, AUC10, AUC30, the RCP curve and a per-fine-part breakdown.

    Args:
        errors: (M,) metres, inf = no prediction.
        gt_parts: (M,) fine part 1..24 of each ground-truth point.
    """
    errors = np.asarray(errors, dtype=np.float64)
    gt_parts = np.asarray(gt_parts, dtype=np.int64)
    counts = np.bincount(gt_parts, minlength=NUM_FINE_PARTS + 1)
    per_part_auc = {
        name: np.bincount(gt_parts, weights=auc_terms(errors, limit), minlength=NUM_FINE_PARTS + 1)
        / np.maximum(counts, 1)
        for name, limit in AUC_LIMITS_M.items()
    }
    return {
        "num_points": int(errors.size),
        **{name: _none_if_nan(auc(errors, limit)) for name, limit in AUC_LIMITS_M.items()},
        "rcp": {"thresholds_m": RCP_THRESHOLDS_M.tolist(), "ratio": [_none_if_nan(r) for r in rcp(errors, RCP_THRESHOLDS_M)]},
        "per_part": {
            FINE_PART_NAMES[part]: {
                "num_points": int(counts[part]),
                **{name: float(values[part]) for name, values in per_part_auc.items()},
            }
            for part in range(1, NUM_FINE_PARTS + 1)
            if counts[part] > 0
        },
    }
