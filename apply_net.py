#!/usr/bin/env python
"""Apply a DensePose model to images, folders, globs or videos: dump results or render pictures.

    apply_net.py dump CONFIG WEIGHTS INPUT [--output DIR] [--format npz|json|pth] [--device DEV]
                      [--min-score S] [--batch-size auto|B] [--workers auto|N] [--amp bf16|fp16]
                      [--iuv-dir DIR] [KEY VALUE ...]
    apply_net.py show CONFIG WEIGHTS INPUT VISUALIZERS [--output PATH] [--legend] [same options]
    apply_net.py show densepose_synth INPUT VISUALIZERS ...     # a shipped model by name: its config + weights
    apply_net.py dump CONFIG model.onnx INPUT ...               # a model of `python -m densepose_ext.export`
                                                                  (.onnx or .ts, run on the CPU)

Glue only: the work is done by densepose_ext.inference_io (see docs/apply_net.md). Exit status:
0 when every input was processed, 1 when some inputs were unreadable (reported by name), 2 on
usage errors and bad inputs (one message, no traceback unless DENSEPOSE_DEBUG=1; docs/ERRORS.md).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from detectron2.utils.logger import setup_logger

import densepose_ext.modeling  # noqa: F401  registers DensePoseROIHeads
from densepose_ext.inference_io import commands
from densepose_ext.model_zoo import SHIPPED_MODELS, expand_model_name
from densepose_ext.inference_io.inputs import InputError
from densepose_ext.inference_io.device import (CPU_MAX_BATCH, CPU_MAX_WORKERS, CUDA_MAX_BATCH, auto_batch_size,
                                               auto_workers, check_device)
from densepose_ext.inference_io.predictor import (detections_predictor, exported_predictor, is_exported_model,
                                                  setup_inference_cfg)
from densepose_ext.inference_io.records import FORMATS
from densepose_ext.inference_io.runner import RunSummary
from densepose_ext.modeling.mixed_precision import AMP_DTYPES
from densepose_ext.utils.cli_errors import EXIT_SKIPPED, run_cli
from densepose_ext.vis.visualizers import VISUALIZER_REGISTRY, build_visualizer


# `show` draws only confident people by default; `dump` keeps what the model returns (the reference's defaults).
SHOW_MIN_SCORE = 0.8


def _device(text: str) -> str:
    try:
        return check_device(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def _visualizer_list(names: str) -> str:
    try:
        build_visualizer(names)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e
    return names


def _auto_or_positive(text: str) -> str | int:
    """The --batch-size or --workers value: the word auto, or an integer >= 1."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or an integer >= 1, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected auto or an integer >= 1, found {value}")
    return value


def _score(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a score in [0, 1], found {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("config", help=f"model config YAML, or a shipped model ({', '.join(SHIPPED_MODELS)}) "
                                       "in place of CONFIG WEIGHTS")
    common.add_argument("weights", help="model checkpoint (.pth / .pkl)")
    common.add_argument("input", help="image file, folder, glob pattern (quote it) or video file")
    common.add_argument("--device", default=None, type=_device,
                        help="torch device, e.g. cpu or cuda (default: the config's MODEL.DEVICE, "
                             "or cpu when that is cuda and CUDA is missing)")
    common.add_argument("--min-score", type=_score, default=None,
                        help="keep detections scoring at least this (default: dump keeps every detection of the "
                             "config's MODEL.ROI_HEADS.SCORE_THRESH_TEST, show keeps >= 0.8, as the reference's)")
    common.add_argument("--batch-size", type=_auto_or_positive, default="auto", metavar="auto|B",
                        help="images per forward pass. auto (default): consecutive images of the same size, so "
                             f"results equal one image at a time; up to {CUDA_MAX_BATCH} on a GPU, on the CPU up to "
                             f"{CPU_MAX_BATCH} for models resizing to <= 256 px (INPUT.MIN_SIZE_TEST), 1 for "
                             "larger. B: always B images, of any sizes (a smaller image is padded to "
                             "the largest, which changes results near its border)"),
    common.add_argument("--workers", type=_auto_or_positive, default="auto", metavar="auto|N",
                        help="forward passes run at once, each in a thread with its share of the torch CPU threads. "
                             f"auto (default): on the CPU one per torch thread, up to {CPU_MAX_WORKERS}; 1 on a GPU, "
                             "for an .onnx model (onnxruntime spreads one run over the cores) and with "
                             "TEST.AUG.ENABLED (which allows 1 only)")
    common.add_argument("--amp", choices=sorted(AMP_DTYPES), default=None,
                        help="run the backbone in bfloat16 or float16 (torch.autocast), the rest in float32; results "
                             "change by its rounding (BENCHMARKS.md). Default: float32 throughout")
    common.add_argument("--iuv-dir", default=None,
                        help="also write full-image <name>_IUV.png and <name>_INDS.png here")
    common.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    dump = sub.add_parser("dump", parents=[common], help="write per-image results")
    dump.add_argument("--output", default="densepose_dump", help="output folder (one record per input)")
    dump.add_argument("--format", default="npz", choices=FORMATS)

    show = sub.add_parser("show", parents=[common], help="render visualizations")
    names = ",".join(sorted(name for name, _ in VISUALIZER_REGISTRY))
    show.add_argument("visualizers", type=_visualizer_list, help=f"comma-separated, drawn in order, from: {names}")
    show.add_argument("--output", default="densepose_show",
                      help="folder, or an image file (one image input) or video file (video input)")
    show.add_argument("--legend", action="store_true", help="add a colour legend beside each picture")
    return parser


def main(argv=None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("dump", "show"):  # `show densepose_synth IN ...` = `show CONFIG WEIGHTS IN ...`
        argv = [argv[0], *expand_model_name(argv[1:])]
    # whatever argparse does not know are config overrides KEY VALUE ..., anywhere after INPUT
    args, opts = parser.parse_known_args(argv)
    unknown = [o for o in opts if o.startswith("--")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    setup_logger(name="densepose_ext", abbrev_name="dp")
    logging.getLogger("densepose_ext").setLevel(logging.INFO)
    summary = _run_command(args, opts)
    for entry in summary.failed:
        print(f"unreadable input: {entry['file_name']}: {entry['error']}", file=sys.stderr)
    return EXIT_SKIPPED if summary.failed else 0


def _run_command(args: argparse.Namespace, opts: list[str]) -> RunSummary:
    if args.min_score is None and args.command == "show":
        args.min_score = SHOW_MIN_SCORE
    if is_exported_model(args.weights):
        if args.device not in (None, "cpu"):
            raise InputError("--device", "cpu for an exported model (WEIGHTS .onnx/.ts run on the CPU)",
                             repr(args.device))
        if args.amp is not None:
            raise InputError("--amp", "a checkpoint as WEIGHTS (an exported graph was traced in float32)",
                             f"{args.amp} with {args.weights!r}")
        cfg = setup_inference_cfg(args.config, "", opts, "cpu", args.min_score)
        predict = exported_predictor(args.weights, cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST)
    else:
        cfg = setup_inference_cfg(args.config, args.weights, opts, args.device, args.min_score)
        predict = detections_predictor(cfg, cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST, args.amp)
    auto = args.batch_size == "auto"
    batch_size = auto_batch_size(cfg.MODEL.DEVICE, cfg.INPUT.MIN_SIZE_TEST) if auto else args.batch_size
    shared = dict(batch_size=batch_size, same_size=auto, workers=_workers(args, cfg), iuv_dir=args.iuv_dir,
                  show_progress=not args.no_progress)
    if args.command == "dump":
        settings = {"config": os.path.abspath(args.config), "weights": os.path.abspath(args.weights),
                    "opts": opts, "min_score": args.min_score}
        return commands.dump(args.input, predict, args.output, args.format, settings=settings, **shared)
    return commands.show(args.input, predict, args.visualizers, args.output, args.legend, **shared)


def _workers(args: argparse.Namespace, cfg) -> int:
    """--workers for this model: test-time augmentation switches the shared model's heads while it predicts, so
    it takes one; onnxruntime already spreads each run over the cores."""
    if cfg.TEST.AUG.ENABLED:
        if args.workers not in ("auto", 1):
            raise InputError("--workers", "1 or auto with TEST.AUG.ENABLED (its views switch the model's heads on "
                             "and off, one prediction at a time)", str(args.workers))
        return 1
    if args.workers != "auto":
        return args.workers
    return 1 if args.weights.lower().endswith(".onnx") else auto_workers(cfg.MODEL.DEVICE)


if __name__ == "__main__":
    sys.exit(run_cli(main, "apply_net.py"))
