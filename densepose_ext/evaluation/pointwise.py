"""Pointwise evaluation: Ratio of Correct Points RCP(t) and its normalised areas AUC10 / AUC30 (paper Sec. 2.3).

Input is one geodesic error (metres) per ground-truth point; a point without a usable prediction (unmatched
person, predicted background, outside the detection box) has error ``inf`` and is never correct.
RCP(t) = share of points with error < t. AUC_a = (1/a) ∫_0^a RCP(t) dt, computed exactly:
∫_0^a 1[e < t] dt = max(0, a - e), so AUC_a = mean_p max(0, 1 - e_p / a) (no threshold grid involved).

Errors are accumulated as running sums per fine part, so dense truth (every pixel of every person) is
evaluated in constant memory.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from densepose_ext.surface.parts import FINE_PART_NAMES, NUM_FINE_PARTS

AUC_LIMITS_M = {"AUC10": 0.10, "AUC30": 0.30}
# Curve samples for reports and plots: 0..30 cm in 5 mm steps.
RCP_THRESHOLDS_M = np.round(np.arange(0.0, 0.3 + 1e-9, 0.005), 6)


def auc_terms(errors: np.ndarray, limit: float) -> np.ndarray:
    """Each point's share of AUC_limit: max(0, 1 - e / limit), (M,) -> (M,); their mean is AUC_limit."""
    return np.clip(1.0 - np.asarray(errors, dtype=np.float64) / limit, 0.0, 1.0)


class PointwiseAccumulator:
    """Running RCP / AUC statistics per fine part (index 1..24; 0 unused)."""

    def __init__(self) -> None:
        bins = NUM_FINE_PARTS + 1
        self.counts = np.zeros(bins, dtype=np.int64)
        self.auc_sums = {name: np.zeros(bins) for name in AUC_LIMITS_M}
        # correct[p, k] = points of part p with error < RCP_THRESHOLDS_M[k]
        self.correct = np.zeros((bins, len(RCP_THRESHOLDS_M)), dtype=np.int64)

    def add(self, errors: np.ndarray, gt_parts: np.ndarray) -> None:
        """errors: (M,) metres (inf = no prediction); gt_parts: (M,) fine part 1..24 of each ground-truth point."""
        errors = np.asarray(errors, dtype=np.float64)
        gt_parts = np.asarray(gt_parts, dtype=np.int64)
        bins = NUM_FINE_PARTS + 1
        self.counts += np.bincount(gt_parts, minlength=bins)
        for name, limit in AUC_LIMITS_M.items():
            self.auc_sums[name] += np.bincount(gt_parts, weights=auc_terms(errors, limit), minlength=bins)
        # e < t_k  <=>  k >= first threshold index above e; count per (part, index) then cumulate over k.
        first = np.searchsorted(RCP_THRESHOLDS_M, errors, side="right")
        hist = np.bincount(gt_parts * (len(RCP_THRESHOLDS_M) + 1) + first, minlength=bins * (len(RCP_THRESHOLDS_M) + 1))
        self.correct += np.cumsum(hist.reshape(bins, -1)[:, :-1], axis=1)

    def report(self) -> dict[str, Any]:
        """JSON-safe: number of points, AUC10, AUC30, the RCP curve and a per-fine-part breakdown."""
        total = int(self.counts.sum())

        def share(value: float, count: int) -> Optional[float]:
            return float(value / count) if count else None

        return {
            "num_points": total,
            **{name: share(sums.sum(), total) for name, sums in self.auc_sums.items()},
            "rcp": {
                "thresholds_m": RCP_THRESHOLDS_M.tolist(),
                "ratio": [share(c, total) for c in self.correct.sum(axis=0)],
            },
            "per_part": {
                FINE_PART_NAMES[part]: {
                    "num_points": int(self.counts[part]),
                    **{name: share(sums[part], self.counts[part]) for name, sums in self.auc_sums.items()},
                }
                for part in range(1, NUM_FINE_PARTS + 1)
                if self.counts[part] > 0
            },
        }
