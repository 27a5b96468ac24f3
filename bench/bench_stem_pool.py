"""The stem's max pooling in CPU inference, ATen vs oneDNN (modeling/backbone.CPUFastStem); prints one JSON line.

    python bench/bench_stem_pool.py [--config CFG] [--batch 4] [--iters 10]

Times, at the current torch thread count, (1) the 3x3/2 max pooling alone on the stem's output of a batch of
the config's test-size inputs, F.max_pool2d vs the oneDNN path, and (2) the whole model's forward pass (seeded
random weights, 5 detections per image) with the stem's forward as detectron2's BasicStem vs CPUFastStem,
alternated; checks both give equal outputs.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from detectron2.modeling import build_model
from detectron2.modeling.backbone.resnet import BasicStem
from torch.nn import functional as F

import densepose_ext.modeling  # noqa: F401  registers the ROI heads and backbones
from densepose_ext.inference_io.predictor import setup_inference_cfg
from densepose_ext.modeling.backbone import CPUFastStem

REPO = Path(__file__).resolve().parents[1]


def _ms(fn, iters: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args()
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
    with torch.no_grad():
        x = F.relu(stem.conv1(model.preprocess_image(inputs).tensor))
        pool = {"aten": _ms(lambda: F.max_pool2d(x, 3, 2, 1), args.iters),
                "onednn": _ms(lambda: torch.mkldnn_max_pool2d(x.to_mkldnn(), [3, 3], [2, 2], [1, 1]).to_dense(),
                              args.iters)}
        forward, outputs = {"aten": float("inf"), "onednn": float("inf")}, {}
        for _ in range(2):  # alternated, best of two
            for name, stem_forward in (("aten", BasicStem.forward), ("onednn", CPUFastStem.forward)):
                stem.forward = stem_forward.__get__(stem)
                forward[name] = min(forward[name], _ms(lambda: model(inputs), args.iters) / args.batch)
                outputs[name] = model(inputs)
    equal = all(torch.equal(a["instances"].pred_boxes.tensor, b["instances"].pred_boxes.tensor)
                and torch.equal(a["instances"].pred_densepose.outputs.u, b["instances"].pred_densepose.outputs.u)
                for a, b in zip(outputs["aten"], outputs["onednn"]))
    print(json.dumps({"config": args.config, "torch_threads": torch.get_num_threads(), "stem_output": list(x.shape),
                      "pool_ms": {k: round(v, 2) for k, v in pool.items()},
                      "forward_ms_per_image": {k: round(v, 2) for k, v in forward.items()},
                      "forward_onednn_over_aten": round(forward["onednn"] / forward["aten"], 3),
                      "outputs_equal": equal}))


if __name__ == "__main__":
    main()
