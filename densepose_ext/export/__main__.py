"""python -m densepose_ext.export --config-file CFG --weights W --format torchscript|onnx --output FILE
                                 [--sample-image IMG] [KEY VALUE ...]

Builds the model of CFG with the weights W on the CPU, traces it on IMG (default: a grey image of MIN_SIZE_TEST
px; an image with people traces the DensePose branch on real boxes) and writes FILE. Then it loads FILE, runs it
on IMG beside the eager model and prints how far their detections lie apart. Exit status 0, or 2 on bad input.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

import numpy as np
import torch
from detectron2.data.detection_utils import read_image
from detectron2.modeling import build_model

import densepose_ext.modeling  # noqa: F401  (registers DensePoseROIHeads)
from densepose_ext.inference_io.predictor import setup_inference_cfg
from densepose_ext.modeling.checkpoint import DensePoseCheckpointer

from .inputs import ModelInput
from .runtime import ExportedDensePoseModel
from .trace import FORMATS, export_model

# Grey of the default sample image: mid-range pixel values, no people.
_GREY = 128


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m densepose_ext.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, help="model config YAML")
    parser.add_argument("--weights", required=True, help="model checkpoint (.pth / .pkl)")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--output", required=True, help="file to write (.ts for TorchScript, .onnx for ONNX)")
    parser.add_argument("--sample-image", default=None, help="image the trace follows (default: a grey image)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    return parser


def _sample_image(path: Optional[str], model_input: ModelInput) -> np.ndarray:
    if path is None:
        size = model_input.min_size_test
        return np.full((size, size, 3), _GREY, dtype=np.uint8)
    try:
        return read_image(path, format="BGR")
    except (OSError, ValueError) as e:
        raise ValueError(f"--sample-image {path}: not a readable image ({e})") from e


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    expected_suffix = ".ts" if args.format == "torchscript" else ".onnx"
    if not args.output.endswith(expected_suffix):
        parser.exit(2, f"--output {args.output}: a {args.format} file must end in {expected_suffix} "
                       "(the loader picks the runtime by suffix)\n")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = setup_inference_cfg(args.config_file, args.weights, args.opts, device="cpu")
        model_input = ModelInput.from_config(cfg)
        image = _sample_image(args.sample_image, model_input)
    except (ValueError, FileNotFoundError) as e:
        parser.exit(2, f"python -m densepose_ext.export: error: {e}\n")
    model = build_model(cfg).eval()
    DensePoseCheckpointer.from_config(cfg, model).load(cfg.MODEL.WEIGHTS)
    metadata = export_model(model, cfg, model_input.preprocess(image), args.format, args.output)
    print(f"wrote {args.output} ({args.format}); outputs {', '.join(metadata.outputs)}; "
          f"{metadata.traced_detections} people in the traced sample")
    exported = ExportedDensePoseModel.load(args.output)(image)
    with torch.no_grad():
        eager = model([{"image": model_input.preprocess(image), "height": image.shape[0],
                        "width": image.shape[1]}])[0]["instances"]
    gap = (exported.pred_boxes.tensor - eager.pred_boxes.tensor).abs().max().item() if len(eager) else 0.0
    same = len(exported) == len(eager)
    print(f"check on the sample: eager {len(eager)} people, exported {len(exported)}"
          + (f", max box difference {gap:.3g} px" if same else " (MISMATCH)"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
