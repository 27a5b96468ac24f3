"""Two CPU kernels replaced in inference by faster ones with the same results; prints one JSON line.

    python bench/bench_cpu_kernels.py [--config CFG] [--batch 4] [--iters 10]

At the current torch thread count, ATen's kernel vs ours, alone and inside what runs it:
- stem pooling: the 3x3/2 max pooling of the stem's output of a batch of the config's test-size inputs,
  F.max_pool2d vs oneDNN (modeling/backbone.CPUFastStem); and the whole model's forward pass per image (seeded
  random weights, 5 detections per image) with detectron2's BasicStem.forward vs CPUFastStem.forward;
- channel arg-max: (24, 300, 200) logits, `argmax(0)` vs modeling/inference.channel_argmax; and the per-box
  conversion of 5 detections (densepose_chart_inference_per_box, boxes of 200x300 .. 100x100 px) with either.
Ours vs ATen alternate, best of two; the outputs are checked equal.
"""
from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from detectron2.modeling import build_model
from detectron2.modeling.backbone.resnet import BasicStem
from torch.nn import functional as F

import densepose_ext.modeling  # noqa: F401  registers the ROI heads and backbones
from densepose_ext.inference_io.predictor import setup_inference_cfg
from densepose_ext.modeling import inference
from densepose_ext.modeling.backbone import CPUFastStem
from densepose_ext.modeling.predictor import DensePoseChartOutput

REPO = Path(__file__).resolve().parents[1]


def _ms(fn, iters: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters * 1e3


def _best_of_two(variants: dict, iters: int, per: int = 1) -> dict:
    """{name: best ms of two alternated timings / per} of {name: (context manager factory, fn)}."""
    best = {name: float("inf") for name in variants}
    for _ in range(2):
        for name, (context, fn) in variants.items():
            with context():
                best[name] = min(best[name], _ms(fn, iters) / per)
    return {name: round(ms, 2) for name, ms in best.items()}


def stem_pool(args) -> dict:
    cfg = setup_inference_cfg(args.config, "", ["TEST.DETECTIONS_PER_IMAGE", "5"], "cpu", min_score=0.0)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    stem = model.backbone.bottom_up.stem
    if not isinstance(stem, CPUFastStem):
        raise SystemExit(f"{args.config}: its backbone's stem is {type(stem).__name__}, not CPUFastStem")
    side = cfg.INPUT.MIN_SIZE_TEST
    rng = np.random.default_rng(0)
    inputs = [{"image": torch.as_tensor(rng.integers(0, 255, (3, side, side * 4 // 3), dtype=np.uint8)).float(),
               "height": 480, "width": 640} for _ in range(args.batch)]
    aten_stem = lambda: mock.patch.object(CPUFastStem, "forward", BasicStem.forward)  # noqa: E731
    with torch.no_grad():
        x = F.relu(stem.conv1(model.preprocess_image(inputs).tensor))
        pool = _best_of_two({
            "aten": (nullcontext, lambda: F.max_pool2d(x, 3, 2, 1)),
            "ours": (nullcontext, lambda: torch.mkldnn_max_pool2d(x.to_mkldnn(), [3, 3], [2, 2], [1, 1]).to_dense()),
        }, args.iters)
        forward = _best_of_two({"aten": (aten_stem, lambda: model(inputs)),
                                "ours": (nullcontext, lambda: model(inputs))}, args.iters, per=args.batch)
        with aten_stem():
            reference = model(inputs)
        ours = model(inputs)
    equal = all(torch.equal(a["instances"].pred_boxes.tensor, b["instances"].pred_boxes.tensor)
                and torch.equal(a["instances"].pred_densepose.outputs.u, b["instances"].pred_densepose.outputs.u)
                for a, b in zip(reference, ours))
    return {"stem_output": list(x.shape), "pool_ms": pool, "forward_ms_per_image": forward, "outputs_equal": equal}


def channel_argmax(args) -> dict:
    torch.manual_seed(0)
    logits = torch.randn(24, 300, 200)
    alone = _best_of_two({"aten": (nullcontext, lambda: logits.argmax(0)),
                          "ours": (nullcontext, lambda: inference.channel_argmax(logits))}, args.iters)
    s, n = 56, 5
    outputs = DensePoseChartOutput(coarse_segm=torch.randn(n, 15, s, s), fine_segm=torch.randn(n, 25, s, s),
                                   u=torch.rand(n, 25, s, s), v=torch.rand(n, 25, s, s))
    boxes = torch.tensor([[10, 20, 210, 320], [100, 50, 250, 400], [0, 0, 120, 200], [300, 100, 500, 450],
                          [50, 60, 150, 160]], dtype=torch.float32)
    rule = inference.ChartInferenceRule("background_below_half")
    aten = lambda: mock.patch.object(inference, "channel_argmax", lambda maps: maps.argmax(0))  # noqa: E731
    convert = lambda: inference.densepose_chart_inference_per_box(outputs, boxes, rule)  # noqa: E731
    per_box = _best_of_two({"aten": (aten, convert), "ours": (nullcontext, convert)}, args.iters)
    with aten():
        reference = convert()
    equal = all(torch.equal(a.labels, b.labels) and torch.equal(a.uv, b.uv) for a, b in zip(reference, convert()))
    return {"argmax_ms": alone, "per_box_conversion_ms": per_box, "outputs_equal": equal}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps({"config": args.config, "torch_threads": torch.get_num_threads(),
                      "stem_pool": stem_pool(args), "channel_argmax": channel_argmax(args)}))


if __name__ == "__main__":
    main()
