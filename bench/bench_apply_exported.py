"""apply_net `dump` end to end with the eager model vs the same weights exported to ONNX; prints one JSON line.

    python bench/bench_apply_exported.py [--images 60] [--size 480 640] [--repeats 2]

A seeded random-weight model of the CPU recipe (bench_apply_net.random_model_predictor: 5 detections per image,
zero score threshold) dumps a folder of synthetic JPEGs (npz + IUV PNGs) three ways, alternated in one process:
- before: apply_net before issue 21 (sequential loop, batch size 1, eager PyTorch);
- after: apply_net's default now (pipelined loop, `--batch-size auto`, `--workers auto`, eager PyTorch);
- after_onnx: apply_net's default over the ONNX file of `python -m densepose_ext.export`
  (`apply_net.py dump CONFIG model.onnx ...`: onnxruntime on the CPU, one image per run of the graph, one run at
  a time since onnxruntime spreads each run over the cores).
Reported: images/s (best of --repeats), process CPU s per image, and the ratios to "before".
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2

from bench_apply_net import REPO, random_model_predictor
from bench_apply_stages import run_command
from densepose_ext.export import ModelInput, export_model
from densepose_ext.inference_io.device import auto_batch_size, auto_workers
from densepose_ext.inference_io.predictor import BatchPredictor, exported_predictor


def export_onnx(cfg, sample_path: Path, output: Path) -> None:
    """The predictor's model (random weights of `cfg`) as ONNX, traced on the sample image."""
    model = BatchPredictor(cfg).model
    image = ModelInput.from_config(cfg).preprocess(cv2.imread(str(sample_path)))
    export_model(model, cfg, image, "onnx", output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"))
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--detections", type=int, default=5, help="TEST.DETECTIONS_PER_IMAGE")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    args.device = "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "images"
        cfg, predict = random_model_predictor(args, work, "random", folder)
        onnx_file = work / "model.onnx"
        export_onnx(cfg, folder / "im000000.jpg", onnx_file)
        predict_onnx = exported_predictor(str(onnx_file))
        predict_onnx([cv2.imread(str(folder / "im000000.jpg"))])  # warm-up (session creation)
        auto = {"batch_size": auto_batch_size("cpu", cfg.INPUT.MIN_SIZE_TEST), "workers": auto_workers("cpu")}
        # name: (bench_apply_stages variant, predictor, auto settings)
        variants = {"before": ("before", predict, auto), "after": ("after", predict, auto),
                    "after_onnx": ("after", predict_onnx, {**auto, "workers": 1})}
        wall = {name: float("inf") for name in variants}
        cpu = dict(wall)
        for repeat in range(args.repeats):
            for name, (variant, fn, settings) in variants.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                run_command("dump_iuv", variant, str(folder), work / f"{name}_{repeat}", fn, settings, "", video=False)
                wall[name] = min(wall[name], time.perf_counter() - start)
                cpu[name] = min(cpu[name], time.process_time() - start_cpu)
    print(json.dumps({
        "images": args.images, "size": list(args.size), "config": args.config, "auto": auto,
        "images_per_s": {k: round(args.images / v, 3) for k, v in wall.items()},
        "cpu_s_per_image": {k: round(v / args.images, 4) for k, v in cpu.items()},
        "images_per_s_over_before": {k: round(wall["before"] / v, 3) for k, v in wall.items()},
    }))


if __name__ == "__main__":
    main()
