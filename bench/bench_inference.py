"""DensePose R-CNN speed at the paper's image sizes: inference s/image, training s/iteration, peak memory.

    python bench/bench_inference.py [--configs CFG ...] [--sizes 240x320 480x640 800x1100] [--repeats 3]
                                    [--train-iters 2] [--train-images 2] [--device cpu|cuda] [--threads 2]

Prints one JSON line per config. Each config runs in its own process, so its peak memory is its own.
- Inference: model time only (forward pass under no_grad on an image already in memory; decoding and
  writing files excluded), the median of `--repeats` runs after one warm-up, per HxW in `--sizes`. The
  image is a DensePose-Synth scene rendered at that size (the number of people in it is reported) and the
  network sees it at that size (INPUT.MIN_SIZE_TEST/MAX_SIZE_TEST are set to it, as the paper's figures
  are for those input sizes). Weights are random (cost does not depend on them); the box predictor's final
  selection is replaced by the people's boxes (`_detect_people`), so the DensePose head runs on exactly
  that many boxes while backbone, RPN and box head run as usual.
- Training: seconds per iteration (forward, backward, SGD step; median after one warm-up) with
  `--train-images` synthetic images per iteration through the project's dataset mapper, at the config's
  largest training size (INPUT.MIN_SIZE_TRAIN max / MAX_SIZE_TRAIN).
- Wall-clock and process CPU seconds are both reported, with the load average at the start: on a machine
  shared with other jobs the wall-clock figures stretch by the load, CPU seconds much less.
- Peak memory: the process's peak resident set (ru_maxrss, includes the Python runtime and the data) on
  CPU; torch's peak allocated memory on CUDA.
Defaults compare the paper's R50-FPN config with the CPU recipe and the demo recipe.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIGS = (
    "configs/densepose_rcnn_R_50_FPN_s1x.yaml",
    "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml",
    "configs/demo/densepose_rcnn_R_18ish_FPN_demo.yaml",
)
SCENE_SEED, SCENE_INDEX = 7, 0


def _cfg(config: str, device: str, opts: list):
    from detectron2.config import get_cfg

    from densepose_ext.config import add_densepose_config

    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(str(REPO / config))
    cfg.merge_from_list(opts)
    cfg.MODEL.DEVICE = device
    cfg.MODEL.WEIGHTS = ""
    return cfg


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _median_seconds(fn, repeats: int, device: str) -> tuple[float, float]:
    """Median wall-clock and process CPU seconds of `fn` (CPU time stays meaningful on a shared machine)."""
    fn()  # warm-up: allocator, lazy initialisation
    wall, cpu = [], []
    for _ in range(repeats):
        _sync(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def _peak_memory_mb(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _detect_people(model, boxes):
    """Make the box predictor's final selection return `boxes` (Tensor[K, 4] XYXY, network-input px): the
    whole model still runs (backbone, RPN, box head), and the DensePose head then runs on exactly K boxes.
    A random-weight model's own detections are arbitrary in number, often zero (unnormalised features of a
    deep random ResNet overflow and detectron2 drops non-finite boxes)."""
    import torch
    from detectron2.structures import Boxes, Instances

    def inference(predictions, proposals):
        k, device = len(boxes), boxes.device
        return [Instances(proposals[0].image_size, pred_boxes=Boxes(boxes.clone()), scores=torch.ones(k, device=device),
                          pred_classes=torch.zeros(k, dtype=torch.int64, device=device))], [torch.arange(k, device=device)]

    model.roi_heads.box_predictor.inference = inference


def bench_inference(config: str, size: tuple[int, int], args) -> dict:
    import torch
    from detectron2.modeling import build_model

    from densepose_ext.synth.dataset_format import SYNTH_SURFACE
    from densepose_ext.synth.generate import render_image

    scene = render_image(SCENE_INDEX, SCENE_SEED, size, SYNTH_SURFACE.load())
    h, w = size
    cfg = _cfg(config, args.device, ["INPUT.MIN_SIZE_TEST", h, "INPUT.MAX_SIZE_TEST", max(h, w)])
    model = build_model(cfg).eval()
    xywh = torch.tensor([a["bbox"] for a in scene["annotations"]], dtype=torch.float32).reshape(-1, 4)
    _detect_people(model, torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1).to(args.device))
    bgr = scene["rgb"][:, :, ::-1] if cfg.INPUT.FORMAT == "BGR" else scene["rgb"]
    inputs = [{"image": torch.as_tensor(bgr.copy()).permute(2, 0, 1), "height": h, "width": w}]
    detections = []

    def forward():
        with torch.no_grad():
            detections.append(len(model(inputs)[0]["instances"]))

    seconds, cpu = _median_seconds(forward, args.repeats, args.device)
    return {"size": f"{h}x{w}", "people": len(xywh), "detections": detections[-1], "s_per_image": round(seconds, 4),
            "fps": round(1 / seconds, 2), "cpu_s_per_image": round(cpu, 4)}


def bench_training(config: str, args, work: Path) -> dict:
    from detectron2.modeling import build_model
    from detectron2.solver import build_optimizer
    from detectron2.utils.events import EventStorage

    from densepose_ext.data import DensePoseDatasetMapper, load_densepose_coco_json
    from densepose_ext.synth.generate import generate

    # Learning rate 0: the step does the same work, but random weights (frozen BatchNorm in the paper's
    # R50) cannot diverge to NaN boxes over the timed iterations, which detectron2 would raise on.
    cfg = _cfg(config, args.device, ["SOLVER.BASE_LR", 0.0])
    h = max(cfg.INPUT.MIN_SIZE_TRAIN)
    size = (h, min(int(round(h * 4 / 3)), cfg.INPUT.MAX_SIZE_TRAIN))
    cfg.INPUT.MIN_SIZE_TRAIN = (h,)
    data_dir = work / f"train_{size[0]}x{size[1]}"
    generate(data_dir, args.train_images, seed=SCENE_SEED, size=size, progress=False)
    dicts = load_densepose_coco_json(str(data_dir / "annotations.json"), str(data_dir / "images"))
    mapper = DensePoseDatasetMapper(cfg, True)
    batch = [mapper(d) for d in dicts]
    model = build_model(cfg).train()
    optimizer = build_optimizer(cfg, model)

    def step():
        losses = model(batch)
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()

    with EventStorage():
        seconds, cpu = _median_seconds(step, args.train_iters, args.device)
    people = sum(len(d["annotations"]) for d in dicts)
    return {"size": f"{size[0]}x{size[1]}", "images_per_iter": len(batch), "people": people,
            "s_per_iter": round(seconds, 3), "cpu_s_per_iter": round(cpu, 3)}


def bench_config(config: str, args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # the load average says how much of the machine other jobs held while this ran
    out = {"config": config, "device": args.device, "threads": args.threads,
           "load_average_1min_at_start": os.getloadavg()[0]}
    out["inference"] = [bench_inference(config, tuple(map(int, s.split("x"))), args) for s in args.sizes]
    out["peak_memory_mb_inference"] = round(_peak_memory_mb(args.device), 1)
    if args.train_iters > 0:
        with tempfile.TemporaryDirectory() as work:
            out["training"] = bench_training(config, args, Path(work))
        out["peak_memory_mb"] = round(_peak_memory_mb(args.device), 1)
    out["machine"] = {"cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                      "torch": torch.__version__,
                      "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None}
    out["date"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return out


def parse_args(argv=None) -> argparse.Namespace:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--sizes", nargs="+", default=["240x320", "480x640", "800x1100"], help="HxW")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-iters", type=int, default=2, help="timed training iterations (0: skip)")
    parser.add_argument("--train-images", type=int, default=2, help="images per training iteration")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)  # one config, this process
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.single:
        print(json.dumps(bench_config(args.configs[0], args)), flush=True)
        return
    others = _without_configs(list(argv if argv is not None else sys.argv[1:]))
    for config in args.configs:
        # a fresh process per config: its peak memory is its own
        subprocess.run([sys.executable, __file__, "--single", "--configs", config, *others], check=True, cwd=REPO)


def _without_configs(argv: list) -> list:
    """argv minus the `--configs A B ...` group."""
    out, skipping = [], False
    for token in argv:
        if token == "--configs":
            skipping = True
        elif skipping and token.startswith("--"):
            skipping = False
        if not skipping:
            out.append(token)
    return out


if __name__ == "__main__":
    main()
