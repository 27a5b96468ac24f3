"""Evaluate a saved DensePose results file against DensePose-COCO ground truth, without a model.

    python -m densepose_ext.evaluation --gt ANN.json --results RESULTS.json [--kappa global|per-part]
        [--points reference|cell-centre] [--out report.json] [--plot rcp.png] [--dense auto|off]
        [--dense-stride 2] [--surface smpl --surface-data DIR [--geodesic chart-vertex|exact]]

The reference's protocol: --kappa per-part --points reference --surface smpl --surface-data DIR (its three
geometry files; --geodesic chart-vertex is the default there). conventions.py names each choice.

RESULTS.json is the file DensePoseCOCOEvaluator writes (densepose_results.json; format in results_file.py); the
reference evaluator's own results (coco_densepose_predictions.pth, or the same as .npz) are read too
(reference_results.py).
Prints a table; ``--out`` writes the JSON report, ``--plot`` the RCP curve and per-part AUC bars. With
``--dense auto`` (default) pointwise evaluation is repeated over the dense truth of a DensePose-Synth dataset
(``dense/`` next to ANN.json) when there is one, on one pixel in ``--dense-stride`` x ``--dense-stride``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

from densepose_ext.evaluation.conventions import GEODESICS, POINT_FRAMES
from densepose_ext.evaluation.dense_truth import DenseTruth
from densepose_ext.evaluation.evaluate import evaluate_densepose, surface_distance
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.kappa import KAPPA_MODES
from densepose_ext.evaluation.report import format_table, plot_rcp
from densepose_ext.evaluation.reference_results import load_any_results
from densepose_ext.evaluation.results_file import write_json


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m densepose_ext.evaluation", description=__doc__.split("\n")[0])
    parser.add_argument("--gt", required=True, help="DensePose-COCO annotation JSON")
    parser.add_argument(
        "--results",
        required=True,
        help="results JSON written by DensePoseCOCOEvaluator, or the reference's coco_densepose_predictions.pth / .npz",
    )
    parser.add_argument(
        "--kappa",
        choices=KAPPA_MODES,
        default="global",
        help="GPS normaliser: the paper's global 0.255 m or the reference's per-part values",
    )
    parser.add_argument(
        "--points",
        choices=POINT_FRAMES,
        default="reference",
        help="where ground-truth points land: the reference's dp_x*w/255 + truncation, or our box-256 cell centres",
    )
    parser.add_argument(
        "--geodesic",
        choices=GEODESICS,
        default="chart-vertex",
        help="with --surface smpl: the reference's nearest-chart-vertex distances or exact geodesics "
        "(the default surface is always exact)",
    )
    parser.add_argument("--out", help="write the JSON report here")
    parser.add_argument("--plot", help="write the RCP / per-part AUC figure here (PNG)")
    parser.add_argument(
        "--dense",
        choices=("auto", "off"),
        default="auto",
        help="also evaluate pointwise over dense truth next to --gt when present (DensePose-Synth)",
    )
    parser.add_argument(
        "--dense-stride",
        type=int,
        default=2,
        help="evaluate one dense pixel in STRIDE x STRIDE (geodesics cost ~15 us per pixel)",
    )
    parser.add_argument("--surface", help="body surface backend for geodesics (default: the default surface)")
    parser.add_argument("--surface-data", help="data directory of --surface (e.g. user-supplied SMPL files)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    with open(args.gt) as f:
        dataset = json.load(f)
    gt = DensePoseGroundTruth(dataset, args.gt)
    dense = DenseTruth.beside(args.gt, dataset, args.dense_stride) if args.dense == "auto" else None
    report = evaluate_densepose(
        gt,
        load_any_results(args.results, gt.category_id),
        args.kappa,
        surface_distance(args.surface, args.surface_data, args.geodesic),
        source=args.results,
        dense_truth=dense,
        points=args.points,
        geodesic=args.geodesic if args.surface == "smpl" else "exact",
    )
    report.update(ground_truth=args.gt, results=args.results, surface=args.surface or "default")
    print(format_table(report))
    if args.out:
        write_json(args.out, report)
    if args.plot:
        plot_rcp(report, args.plot)
    return report


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as e:
        sys.exit(f"error: {e}")
