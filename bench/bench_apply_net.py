"""Throughput of `apply_net.py dump` per batch size, and its memory over many inputs; prints one JSON line.

    python bench/bench_apply_net.py [--config CFG] [--images 16] [--size 240 320] [--batch-sizes 1 2 4 8]
                                    [--device cpu|cuda] [--repeats 2] [--memory-images 0]

Speed: a random-weight model built from CONFIG (no training needed: cost does not depend on the
weights, only on the number of detections, fixed with TEST.DETECTIONS_PER_IMAGE and a zero score
threshold) dumps a folder of synthetic images through the full pipeline (decode, predict, npz write,
IUV/INDS PNGs) once per batch size; the best of `--repeats` runs is reported as images/s, with the
speed-up over batch size 1, and the process CPU time per image.
Memory (`--memory-images N`): a stand-in predictor (constant detections, 3 people) dumps N images;
the resident set size after N/10 and after N images shows whether memory stays flat.
"""
from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import torch

import densepose_ext.modeling  # noqa: F401  registers DensePoseROIHeads
from densepose_ext.inference_io import commands, runner
from densepose_ext.inference_io.commands import dump
from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.inputs import iter_frames, resolve_inputs
from densepose_ext.inference_io.predictor import detections_predictor, setup_inference_cfg
from densepose_ext.inference_io.runner import run
from densepose_ext.inference_io.sinks import DumpSink, IUVSink

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _write_images(folder: Path, count: int, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for k in range(count):
        cv2.imwrite(str(folder / f"im{k:06d}.jpg"), rng.integers(0, 255, (*size, 3), dtype=np.uint8))


def sequential_loop() -> AbstractContextManager:
    """A patch making `dump` and `show` run the loop as before issue 21: sequential (runner.run pipeline=False)."""
    return mock.patch.object(commands, "run", functools.partial(runner.run, pipeline=False))


def _bound_features(model: torch.nn.Module) -> None:
    """Zero the scale of the last frozen batch norm of every ResNet bottleneck block, as "zero-init residual"
    does. The reference's R-50 has frozen, identity-initialised norms: with random weights its residual branches
    grow the features to ~1e4 and the detections collapse to 0-2 image-sized boxes, so DensePose would not run.
    The computation, hence the cost, is unchanged; models with GroupNorm (the CPU recipe) are left as they are."""
    from detectron2.layers import FrozenBatchNorm2d
    from detectron2.modeling.backbone.resnet import BottleneckBlock

    for block in model.modules():
        if isinstance(block, BottleneckBlock) and isinstance(block.conv3.norm, FrozenBatchNorm2d):
            block.conv3.norm.weight.zero_()


def random_model_predictor(args, work: Path, name: str, folder: Path):
    """(cfg, predict) of the config with seeded random weights saved as WORK/`name`.pth, after writing the
    benchmark's images into `folder` and one warm-up prediction."""
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.modeling import build_model

    opts = ["TEST.DETECTIONS_PER_IMAGE", str(args.detections)]
    torch.manual_seed(0)
    model = build_model(setup_inference_cfg(args.config, "", opts, args.device))
    _bound_features(model)
    DetectionCheckpointer(model, save_dir=str(work)).save(name)
    cfg = setup_inference_cfg(args.config, str(work / f"{name}.pth"), opts, args.device, min_score=0.0)
    predict = detections_predictor(cfg)
    _write_images(folder, args.images, tuple(args.size))
    predict([cv2.imread(str(folder / "im000000.jpg"))])  # warm-up
    return cfg, predict


def bench_speed(args, work: Path) -> dict:
    cfg, predict = random_model_predictor(args, work, "random", work / "images")
    rates, cpu = {}, {}
    for batch_size in args.batch_sizes:
        best, best_cpu = float("inf"), float("inf")
        for repeat in range(args.repeats):
            out = work / f"out_b{batch_size}_{repeat}"
            if cfg.MODEL.DEVICE.startswith("cuda"):
                torch.cuda.synchronize()
            start, start_cpu = time.perf_counter(), time.process_time()
            dump(str(work / "images"), predict, str(out), batch_size=batch_size,
                 iuv_dir=str(out / "iuv"), show_progress=False)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        rates[batch_size] = args.images / best
        cpu[batch_size] = best_cpu / args.images
    return {
        "device": cfg.MODEL.DEVICE,
        "torch_threads": torch.get_num_threads(),
        "images_per_s": {str(b): round(r, 3) for b, r in rates.items()},
        "speedup_vs_batch_1": {str(b): round(r / rates[args.batch_sizes[0]], 3) for b, r in rates.items()},
        # CPU seconds of this process (all its threads) per image: less sensitive than wall time to
        # other jobs sharing the machine.
        "cpu_s_per_image": {str(b): round(c, 3) for b, c in cpu.items()},
    }


def bench_before_after(args, work: Path) -> dict:
    """End-to-end images/s of `dump` (npz + IUV PNGs) before (sequential loop, per-box conversion) and after
    (pipelined loop, batched conversion), alternated in one run, plus the conversion alone on the same outputs."""
    from densepose_ext.modeling import inference

    folder = work / "images_ba"
    cfg, predict = random_model_predictor(args, work, "random_ba", folder)
    variants = {
        "before": [sequential_loop(),
                   mock.patch.object(inference, "densepose_chart_inference", inference.densepose_chart_inference_per_box)],
        "after": [],
    }
    wall = {v: float("inf") for v in variants}
    cpu = dict(wall)
    for repeat in range(args.repeats):
        for name, patches in variants.items():
            out = work / f"ba_{name}_{repeat}"
            for p in patches:
                p.start()
            try:
                start, start_cpu = time.perf_counter(), time.process_time()
                dump(str(folder), predict, str(out), batch_size=args.ba_batch_size, iuv_dir=str(out / "iuv"),
                     show_progress=False)
                wall[name] = min(wall[name], time.perf_counter() - start)
                cpu[name] = min(cpu[name], time.process_time() - start_cpu)
            finally:
                for p in patches:
                    p.stop()
    # the conversion alone (postprocess to box grids) on outputs of the same shape
    s = cfg.MODEL.ROI_DENSEPOSE_HEAD.HEATMAP_SIZE
    g = torch.Generator().manual_seed(0)
    n = args.detections
    outputs = inference.DensePoseChartOutput(*(torch.randn(n, c, s, s, generator=g) for c in (2, 25, 25, 25)))
    h, w = args.size
    corners = torch.rand(n, 2, generator=g) * torch.tensor([w / 2, h / 2])
    boxes = torch.cat([corners, corners + torch.rand(n, 2, generator=g) * torch.tensor([w / 2, h / 2]) + 8], 1)
    convert = {}
    for name, fn in (("before", inference.densepose_chart_inference_per_box),
                     ("after", inference.densepose_chart_inference)):
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            fn(outputs, boxes)
            best = min(best, time.process_time() - start)
        convert[name] = best
    return {
        "before_after_batch_size": args.ba_batch_size,
        "images_per_s": {k: round(args.images / v, 3) for k, v in wall.items()},
        "cpu_s_per_image": {k: round(v / args.images, 3) for k, v in cpu.items()},
        "after_over_before_images_per_s": round(wall["before"] / wall["after"], 3),
        "after_over_before_cpu_s": round(cpu["after"] / cpu["before"], 3),
        "conversion_cpu_ms_per_image": {k: round(v * 1e3, 2) for k, v in convert.items()},
        "conversion_after_over_before": round(convert["after"] / convert["before"], 3),
    }


def bench_memory(count: int, work: Path) -> dict:
    _write_images(work / "many", count, (120, 160))
    people = ImageDetections((120, 160), np.array([[10, 10, 60, 110]] * 3, np.float32),
                             np.array([0.9, 0.8, 0.7], np.float32), (np.full((100, 50), 5, np.uint8),) * 3,
                             (np.full((2, 100, 50), 0.5, np.float32),) * 3)
    sinks = [DumpSink(str(work / "many_out"), "npz"), IUVSink(str(work / "many_iuv"))]
    samples, done = {}, [0]

    def probe(n: int) -> None:
        done[0] += n
        if done[0] in (count // 10, count):
            samples[done[0]] = _rss_mb()

    frames = iter_frames(resolve_inputs(str(work / "many")), lambda name: False)
    run(frames, lambda images: [people] * len(images), sinks, batch_size=4, progress=probe)
    return {"memory_images": count, "rss_mb_after": {str(k): round(v, 1) for k, v in sorted(samples.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"))
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--detections", type=int, default=5, help="TEST.DETECTIONS_PER_IMAGE")
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--memory-images", type=int, default=0)
    parser.add_argument("--before-after", action="store_true",
                        help="only the before/after comparison (sequential + per-box conversion vs pipelined + batched)")
    parser.add_argument("--ba-batch-size", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = {"images": args.images, "size": list(args.size), "config": args.config}
        if args.before_after:
            report.update(bench_before_after(args, Path(tmp)))
        else:
            report.update(bench_speed(args, Path(tmp)))
        if args.memory_images:
            report.update(bench_memory(args.memory_images, Path(tmp)))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
