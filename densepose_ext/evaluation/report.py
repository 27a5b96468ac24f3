"""Presenting an evaluation report (evaluate.evaluate_densepose): a text table, detectron2's results dict and
an RCP plot. The table's first line names the κ behind the GPS numbers (the JSON report holds it in "kappa");
RCP and AUC do not depend on κ."""

from __future__ import annotations

from typing import Any, Optional

from densepose_ext.evaluation.cocoeval import METRIC_NAMES
from densepose_ext.evaluation.evaluate import INSTANCE_METRICS
from densepose_ext.evaluation.pointwise import AUC_LIMITS_M

# Pointwise sections of a report and what their points are.
POINTWISE_KINDS = {"pointwise": "annotated points", "pointwise_dense": "dense-truth pixels"}


def kappa_label(report: dict[str, Any]) -> str:
    """E.g. "kappa=global (0.255 m)" or "kappa=per-part", followed by the other conventions when the report names
    them, e.g. ", points=reference, geodesic=chart-vertex"."""
    kappa = report["kappa"]
    label = f"kappa={kappa['mode']}" + (f" ({kappa['value']} m)" if "value" in kappa else "")
    conventions = report.get("conventions", {})
    return label + "".join(f", {k}={conventions[k]}" for k in ("points", "geodesic") if k in conventions)


def _cell(value: Optional[float], scale: float = 1.0) -> str:
    return "   -  " if value is None else f"{value * scale:6.2f}"


def format_table(report: dict[str, Any]) -> str:
    """Fixed-width text: AP/AR per instance metric, then pointwise AUC overall and per part (percent)."""
    lines = [
        f"DensePose evaluation, {kappa_label(report)}: {report['num_images']} images, {report['num_people']} people, "
        f"{report['num_detections']} detections",
        f"{'':6}" + "".join(f"{name:>7}" for name in METRIC_NAMES),
    ]
    lines += [
        f"{metric:6}" + "".join(f" {_cell(report[metric][name])}" for name in METRIC_NAMES)
        for metric in INSTANCE_METRICS
    ]
    for key, what in POINTWISE_KINDS.items():
        if key not in report:
            continue
        pointwise = report[key]
        lines.append(
            f"pointwise over {pointwise['num_points']} {what}:"
            + "".join(f" {k} {_cell(pointwise[k], 100)}" for k in AUC_LIMITS_M)
        )
        for part, values in pointwise["per_part"].items():
            lines.append(
                f"  {part:24} {values['num_points']:8d}"
                + "".join(f" {k} {_cell(values[k], 100)}" for k in AUC_LIMITS_M)
            )
    return "\n".join(lines)


def detectron2_results(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{task: {metric: float}} as detectron2's evaluators return (nan where undefined; AUC in percent)."""
    nan = float("nan")
    out = {
        f"densepose_{metric}": {k: nan if v is None else v for k, v in report[metric].items()}
        for metric in INSTANCE_METRICS
    }
    for key in POINTWISE_KINDS:
        if key in report:
            out[f"densepose_{key}"] = {k: nan if report[key][k] is None else 100 * report[key][k] for k in AUC_LIMITS_M}
    return out


def plot_rcp(report: dict[str, Any], path: str) -> None:
    """Save the RCP curves and the per-part AUC10/AUC30 bars as one image (matplotlib, imported only here)."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot as plt

    kinds = [key for key in POINTWISE_KINDS if key in report]
    fig, axes = plt.subplots(
        len(kinds), 2, figsize=(13, 4.8 * len(kinds)), gridspec_kw={"width_ratios": [1, 2]}, squeeze=False
    )
    for (curve_ax, bar_ax), key in zip(axes, kinds):
        pointwise = report[key]
        cm = [100 * t for t in pointwise["rcp"]["thresholds_m"]]
        curve_ax.plot(cm, [np.nan if r is None else r for r in pointwise["rcp"]["ratio"]], color="black", linewidth=2)
        summary = ", ".join(f"{k} {_cell(pointwise[k], 100).strip()}" for k in AUC_LIMITS_M)
        curve_ax.set(
            xlabel="geodesic error threshold t (cm)",
            ylabel="RCP(t)",
            xlim=(0, cm[-1]),
            ylim=(0, 1),
            title=f"{pointwise['num_points']} {POINTWISE_KINDS[key]}: {summary}",
        )
        curve_ax.grid(alpha=0.3)
        parts = list(pointwise["per_part"])
        x = np.arange(len(parts))
        for offset, auc_name in zip((-0.2, 0.2), AUC_LIMITS_M):
            bar_ax.bar(x + offset, [pointwise["per_part"][p][auc_name] for p in parts], width=0.4, label=auc_name)
        bar_ax.set_xticks(x, parts, rotation=70, ha="right", fontsize=7)
        bar_ax.set(ylim=(0, 1), ylabel="AUC", title=f"per part ({POINTWISE_KINDS[key]})")
        bar_ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
