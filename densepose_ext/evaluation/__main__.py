"""Evaluate a saved DensePose results file against DensePose-COCO ground truth, without a model.

    python -m densepose_ext.evaluation --gt ANN.json --results RESULTS.json
        (--surface anny | --surface smpl [--smpl-dir DIR] [--geodesic chart-vertex|exact] | --dataset NAME)
        [--kappa global|per-part] [--points reference|cell-centre] [--out report.json] [--plot rcp.png]
        [--dense auto|off] [--dense-stride 2]

The body surface the ground truth's U/V are on is required, there is no default: ``--surface smpl`` for
DensePose-COCO (SMPL geometry files in --smpl-dir, default $DENSEPOSE_SMPL_DIR), ``--surface anny`` for
DensePose-Synth, or ``--dataset NAME`` for the surface a registered dataset's metadata names
(data/dataset_surface.py). The reference's protocol: --kappa per-part --points reference --surface smpl
--smpl-dir DIR (its three geometry files; --geodesic chart-vertex is the default there). conventions.py names
each choice.

RESULTS.json is the file DensePoseCOCOEvaluator writes (densepose_results.json; format in results_file.py); the
reference evaluator's own results (coco_densepose_predictions.pth, or the same as .npz) are read too
(reference_results.py).
Prints a table; ``--out`` writes the JSON report, ``--plot`` the RCP curve and per-part AUC bars. With
``--dense auto`` (default) pointwise evaluation is repeated over the dense truth of a DensePose-Synth dataset
(``dense/`` next to ANN.json) when there is one, on one pixel in ``--dense-stride`` x ``--dense-stride``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from detectron2.data import MetadataCatalog

from densepose_ext.data.dataset_surface import dataset_surface
from densepose_ext.evaluation.conventions import GEODESICS, POINT_FRAMES, surface_geodesic
from densepose_ext.evaluation.dense_truth import DenseTruth
from densepose_ext.evaluation.evaluate import evaluate_densepose, surface_distance
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.kappa import KAPPA_MODES
from densepose_ext.evaluation.report import format_table, plot_rcp
from densepose_ext.evaluation.reference_results import load_any_results
from densepose_ext.evaluation.results_file import write_json
from densepose_ext.surface.source import SURFACE_BACKENDS, SurfaceSource
from densepose_ext.utils.cli_errors import run_cli
from densepose_ext.utils.json_file import read_json


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
        help="the reference's nearest-chart-vertex distances (smpl only) or exact geodesics; default: the surface's "
        "own, chart-vertex on smpl (the reference's protocol), exact on anny",
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
    surface = parser.add_mutually_exclusive_group()
    surface.add_argument(
        "--surface",
        choices=SURFACE_BACKENDS,
        help="body surface of the ground truth's U/V: smpl (DensePose-COCO) or anny (DensePose-Synth)",
    )
    surface.add_argument("--dataset", help="a registered dataset whose metadata names the body surface")
    parser.add_argument(
        "--smpl-dir",
        "--surface-data",
        dest="smpl_dir",
        help="with --surface smpl: the SMPL-based DensePose geometry files (default: $DENSEPOSE_SMPL_DIR)",
    )
    args = parser.parse_args(argv)
    if args.dense_stride < 1:
        parser.error(f"--dense-stride: expected an integer >= 1, found {args.dense_stride}")
    args.surface_source = _surface_source(parser, args)
    try:  # the convention measured in, resolved once: the surface's own when --geodesic is not given
        args.geodesic = surface_geodesic(args.surface_source.backend, args.geodesic, field="--geodesic")
    except ValueError as e:
        parser.error(str(e))
    return args


def _surface_source(parser: argparse.ArgumentParser, args: argparse.Namespace) -> SurfaceSource:
    """The body surface the arguments name; a usage error when they name none (there is no default)."""
    if args.smpl_dir and args.surface != "smpl":
        parser.error(f"--smpl-dir {args.smpl_dir}: only with --surface smpl (a --dataset's surface is its metadata's)")
    if args.dataset:
        if args.dataset not in MetadataCatalog.list():
            parser.error(f"--dataset {args.dataset}: not a registered dataset; expected one of "
                         f"{sorted(MetadataCatalog.list())}")
        try:
            return dataset_surface(args.dataset)
        except ValueError as e:
            parser.error(f"--dataset: {e}")
    if args.surface is None:
        parser.error(
            "a body surface is required (GPS on another surface than the annotations' is meaningless): "
            "--surface smpl [--smpl-dir DIR] for DensePose-COCO, --surface anny for DensePose-Synth, or --dataset NAME"
        )
    return SurfaceSource(args.surface, args.smpl_dir)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    dataset = read_json(args.gt, "a DensePose-COCO annotation file (JSON)")
    gt = DensePoseGroundTruth(dataset, args.gt)
    dense = DenseTruth.beside(args.gt, dataset, args.dense_stride) if args.dense == "auto" else None
    report = evaluate_densepose(
        gt,
        load_any_results(args.results, gt.category_id),
        args.kappa,
        surface_distance(args.surface_source, args.geodesic),
        source=args.results,
        dense_truth=dense,
        points=args.points,
        geodesic=args.geodesic,
    )
    report.update(ground_truth=args.gt, results=args.results, surface=str(args.surface_source))
    print(format_table(report))
    if args.out:
        write_json(args.out, report)
    if args.plot:
        plot_rcp(report, args.plot)
    return report


if __name__ == "__main__":
    sys.exit(run_cli(main, "python -m densepose_ext.evaluation"))
