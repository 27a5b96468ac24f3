"""Training and inference speed and peak memory of DensePose R-CNN configs; prints one JSON line per config.

    python bench/bench_model.py [--configs configs/densepose_rcnn_R_50_FPN_s1x.yaml ...] [--iters 3]
                                [--device cpu] [--images-per-batch 2] [--threads 2]

Each config is measured at its own input size (INPUT.MIN_SIZE_TRAIN's largest value / MAX_SIZE_TRAIN for
training, MIN_SIZE_TEST / MAX_SIZE_TEST for inference) on random images holding one person-sized box each with
125 DensePose points and a coarse mask, so the DensePose branch does its full work. Reports seconds per
training iteration (forward + backward + SGD step, after one warm-up) for `--images-per-batch` images (the
reference trains with 2 per GPU) and seconds per image at inference, both as wall time and as process CPU time
(all threads; less sensitive to other jobs on a shared machine, whose load average is reported too), and the
peak memory: resident set size of the process on CPU (ru_maxrss, which includes the Python runtime) or torch's
peak allocated memory on CUDA. Each config runs in a fresh process so that one's peak does not hide another's.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import time

import torch
from detectron2.config import get_cfg
from detectron2.modeling import build_model
from detectron2.structures import Boxes, Instances
from detectron2.utils.events import EventStorage

import densepose_ext.modeling  # noqa: F401  (registers DensePoseROIHeads)
from densepose_ext.config import add_densepose_config
from densepose_ext.structures.targets import DensePoseList, DensePoseTargets

DEFAULT_CONFIGS = (
    "configs/densepose_rcnn_R_50_FPN_s1x.yaml",
    "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml",
)


def _input_size(min_size, max_size, aspect=4 / 3):
    """(H, W) of a 4:3 landscape image resized as ResizeShortestEdge would."""
    h = int(min_size)
    w = min(int(round(h * aspect)), int(max_size))
    return h, w


def _inputs(n, size, generator):
    h, w = size
    inputs = []
    for _ in range(n):
        box = torch.tensor([w * 0.3, h * 0.1, w * 0.7, h * 0.95])
        p = 125
        x = box[0] + torch.rand(p, generator=generator) * (box[2] - box[0])
        y = box[1] + torch.rand(p, generator=generator) * (box[3] - box[1])
        targets = DensePoseTargets(
            x=x, y=y, i=torch.randint(1, 25, (p,), generator=generator), u=torch.rand(p, generator=generator),
            v=torch.rand(p, generator=generator),
            coarse_masks=torch.randint(0, 15, (256, 256), generator=generator, dtype=torch.uint8), mask_box=box,
        )
        inst = Instances((h, w), gt_boxes=Boxes(box[None]), gt_classes=torch.zeros(1, dtype=torch.long),
                         gt_densepose=DensePoseList([targets]))
        image = torch.randint(0, 256, (3, h, w), generator=generator, dtype=torch.uint8).float()
        inputs.append({"image": image, "instances": inst, "height": h, "width": w})
    return inputs


def _peak_memory_mb(device):
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(config_file, device_name, iters, images_per_batch, threads):
    torch.set_num_threads(threads)
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(config_file)
    cfg.MODEL.DEVICE = device_name
    device = torch.device(device_name)
    torch.manual_seed(0)
    model = build_model(cfg)
    generator = torch.Generator().manual_seed(0)
    train_size = _input_size(max(cfg.INPUT.MIN_SIZE_TRAIN), cfg.INPUT.MAX_SIZE_TRAIN)
    test_size = _input_size(cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST)
    batch = _inputs(images_per_batch, train_size, generator)
    # lr 0: the step costs what it always costs, and an untrained from-scratch model cannot diverge into NaN.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    model.train()
    times, cpu_times = [], []
    with EventStorage(0):
        for k in range(iters + 1):  # the first iteration is a warm-up
            _sync(device)
            start, cpu_start = time.perf_counter(), time.process_time()
            losses = model(batch)
            optimizer.zero_grad()
            sum(losses.values()).backward()
            optimizer.step()
            _sync(device)
            if k > 0:
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu_start)
    train_peak = _peak_memory_mb(device)
    model.eval()
    test_inputs = [{k: v for k, v in x.items() if k != "instances"} for x in _inputs(iters + 1, test_size, generator)]
    infer, infer_cpu = [], []
    with torch.no_grad():
        for k, x in enumerate(test_inputs):
            _sync(device)
            start, cpu_start = time.perf_counter(), time.process_time()
            model([x])
            _sync(device)
            if k > 0:
                infer.append(time.perf_counter() - start)
                infer_cpu.append(time.process_time() - cpu_start)
    return {
        "config": config_file,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "train_input_hw": list(train_size),
        "images_per_batch": images_per_batch,
        "train_s_per_iter": round(sum(times) / len(times), 3),
        "train_cpu_s_per_iter": round(sum(cpu_times) / len(cpu_times), 3),
        "train_peak_memory_mb": round(train_peak, 1),
        "test_input_hw": list(test_size),
        "infer_s_per_image": round(sum(infer) / len(infer), 3),
        "infer_cpu_s_per_image": round(sum(infer_cpu) / len(infer_cpu), 3),
        "peak_memory_mb": round(_peak_memory_mb(device), 1),
        "peak_memory_kind": "cuda max_memory_allocated" if device.type == "cuda" else "process max RSS",
        "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "iters": iters,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--images-per-batch", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    # A fresh process per config, so that the peak memory of one does not hide the other's.
    context = multiprocessing.get_context("spawn")
    for config_file in args.configs:
        with context.Pool(1) as pool:
            result = pool.apply(bench, (config_file, args.device, args.iters, args.images_per_batch, args.threads))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
