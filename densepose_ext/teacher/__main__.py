"""Command line of the teacher pipeline.

    python -m densepose_ext.teacher densify --config CFG --weights W --dataset NAME --out DIR [opts KEY VALUE ...]
    python -m densepose_ext.teacher densify --config CFG --nearest-points --dataset NAME --out DIR   (baseline)
    python -m densepose_ext.teacher densify --config CFG --dense-truth --dataset NAME --out DIR      (oracle, synth)
    python -m densepose_ext.teacher evaluate --labels DIR --annotations annotations.json [--out report.json]

`densify` writes the teacher's dense labels of a registered dataset (resumable; labels.py describes DIR);
`evaluate` scores densified labels against a dataset's ground truth (dense truth when it has one).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

import torch


PROG = "python -m densepose_ext.teacher"


def build_teacher_config(config_file: str, opts: Sequence[str]):
    """The frozen config of a teacher YAML (DensePose and teacher keys added first, validated, as train_net.py
    reads its config: errors name the file and the key)."""
    from densepose_ext.config_files import load_config

    cfg = load_config(config_file, list(opts))
    cfg.freeze()
    return cfg


def _densify(args: argparse.Namespace) -> dict:
    from detectron2.data import DatasetCatalog

    import densepose_ext.data  # noqa: F401  (registers the builtin datasets)

    from densepose_ext.config_files import check_dataset_name, check_weights_file
    from densepose_ext.utils.output_location import check_output_folder

    from .densify import densify_dataset

    check_dataset_name(args.dataset, "--dataset")
    check_output_folder(args.out, "--out")
    if args.weights:
        check_weights_file(args.weights, "--weights")
    cfg = build_teacher_config(args.config, args.opts)
    if args.threads:
        torch.set_num_threads(args.threads)
    index = densify_dataset(
        _labeller(cfg, args), DatasetCatalog.get(args.dataset), args.out, dataset_name=args.dataset,
        progress=not args.no_progress,
    )
    return {"out": args.out, "num_labelled_people": len(index["annotations"])}


def _labeller(cfg, args: argparse.Namespace):
    """The teacher of `--weights`, or the nearest-point baseline or dense-truth oracle at the config's crop size."""
    if args.nearest_points:
        from .nearest import NearestPointLabeller

        return NearestPointLabeller(cfg.MODEL.DENSEPOSE_TEACHER.CROP_SIZE)
    if args.dense_truth:
        from .truth import DenseTruthLabeller

        return DenseTruthLabeller(cfg.MODEL.DENSEPOSE_TEACHER.CROP_SIZE)
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.modeling import build_model

    from .densify import TeacherLabeller

    model = build_model(cfg)
    DetectionCheckpointer(model).load(args.weights)
    return TeacherLabeller(model, cfg.INPUT.FORMAT, args.weights)


def _evaluate(args: argparse.Namespace) -> dict:
    from densepose_ext.evaluation.results_file import write_json

    from .accuracy import evaluate_dense_labels

    report = evaluate_dense_labels(args.labels, args.annotations)
    if args.out:
        write_json(args.out, report)
    keys = ("pointwise", "pointwise_dense")
    return {k: {m: report[k][m] for m in ("num_points", "AUC10", "AUC30")} for k in keys if k in report}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("densify", help="write the teacher's dense labels of a dataset")
    d.add_argument("--config", required=True, help="teacher config (configs/teacher/*.yaml)")
    d.add_argument("--weights", default="", help="teacher checkpoint (train_net.py output)")
    d.add_argument("--nearest-points", action="store_true",
                   help="baseline instead of the teacher: each person cell takes its nearest annotated point")
    d.add_argument("--dense-truth", action="store_true",
                   help="oracle instead of the teacher: copy DensePose-Synth's exact dense truth (dense/*.png)")
    d.add_argument("--dataset", required=True, help="registered dataset name, e.g. densepose_synth_train")
    d.add_argument("--out", required=True, help="labels directory (resumed if it exists)")
    d.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    d.add_argument("--no-progress", action="store_true")
    d.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    e = sub.add_parser("evaluate", help="score dense labels against the ground truth")
    e.add_argument("--labels", required=True, help="labels directory written by densify")
    e.add_argument("--annotations", required=True, help="the dataset's DensePose-COCO annotations.json")
    e.add_argument("--out", default="", help="write the full evaluator report (JSON) here")
    args = parser.parse_args(argv)
    if args.command == "densify":
        if args.nearest_points and args.dense_truth:
            d.error("--nearest-points and --dense-truth exclude each other")
        if not (args.weights or args.nearest_points or args.dense_truth):
            d.error("--weights is required (or --nearest-points / --dense-truth)")
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    summary = _densify(args) if args.command == "densify" else _evaluate(args)
    print(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    from densepose_ext.utils.cli_errors import run_cli

    sys.exit(run_cli(main, PROG))
