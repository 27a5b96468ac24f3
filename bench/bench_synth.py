"""Throughput of the DensePose-Synth generator (images/s after the one-time load) and dataset statistics.

    python bench/bench_synth.py [--num-images 40] [--size 640x480] [--workers 1 2] [--seed 0]

Prints one JSON object: wall-clock images/s per worker count, CPU seconds per image (this process and its
workers) and the images/s that CPU time allows on 2 otherwise idle cores. Each timed run writes a fresh dataset with the CLI's code path (render, encode,
write, merge); the body model, surface and numba kernels are loaded/compiled by an untimed warm-up run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

from densepose_ext.synth.__main__ import parse_size
from densepose_ext.synth.generate import generate
from densepose_ext.synth.stats import dataset_statistics


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool workers), seconds."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-images", type=int, default=40)
    parser.add_argument("--size", type=parse_size, default=(480, 640))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = {"size_wh": [args.size[1], args.size[0]], "num_images": args.num_images,
              "cpu_count": os.cpu_count(), "load_average": os.getloadavg()[0], "machine": platform.machine()}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        generate(os.path.join(tmp, "warmup"), 2, seed=args.seed + 1, size=args.size, progress=False)
        result["warmup_s"] = round(time.perf_counter() - t, 2)
        for workers in args.workers:
            t, cpu = time.perf_counter(), _cpu_seconds()
            coco = generate(os.path.join(tmp, f"w{workers}"), args.num_images, seed=args.seed, size=args.size,
                            workers=workers, progress=False)
            elapsed, cpu = time.perf_counter() - t, _cpu_seconds() - cpu
            result[f"images_per_s_workers_{workers}"] = round(args.num_images / elapsed, 2)
            result[f"cpu_s_per_image_workers_{workers}"] = round(cpu / args.num_images, 4)
        # On a machine shared with other jobs wall time overstates the cost; CPU time does not.
        best_cpu = min(result[f"cpu_s_per_image_workers_{w}"] for w in args.workers)
        result["images_per_s_on_2_free_cores_from_cpu_time"] = round(2 / best_cpu, 2)
        result["statistics"] = dataset_statistics(coco)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
