"""Where `apply_net dump|show` spends its time, stage by stage, before and after issue 21; prints one JSON line.

    python bench/bench_apply_stages.py [--config CFG] [--images 40] [--size 480 640] [--video]
                                       [--commands dump dump_iuv show] [--visualizers dp_contour,bbox]
                                       [--detections 5] [--device cpu] [--variants ...] [--repeats 1]

A random-weight model built from CONFIG (bench_apply_net.random_model_predictor: the cost depends on the number
of detections only, fixed at --detections) processes a folder of synthetic JPEGs, or with --video an mp4 made of
the same frames, with each command, in the variants of VARIANTS, run one after the other in one process; each
adds a change to the one before it:
    before   apply_net before issue 21: the sequential loop (runner.run pipeline=False), one image per forward pass,
             ATen's kernels;
    batched  + the pipelined loop (loader and writer threads) and --batch-size auto (consecutive frames of one
             size, up to device.auto_batch_size frames per forward pass);
    workers  + --workers auto (device.auto_workers forward passes at once, each in its own thread with its share
             of torch's CPU threads);
    after    + two CPU kernels (bench_cpu_kernels.py): the stem's max pooling through oneDNN (configs whose backbone
             has a modeling/backbone.CPUFastStem: the CPU recipes) and the labels' arg-max over the innermost
             dimension (modeling/inference.channel_argmax): apply_net's default now.
Commands: dump (npz records), dump_iuv (npz records + --iuv-dir PNGs), show (VISUALIZERS: one PNG per image, or
with --video one mp4).

Stages are timed by wrapping, in this process only, the functions that do them (the production code is
unchanged); a stage's time excludes the wrapped stages it calls. Per image, wall ms and CPU ms of the thread that
ran it:
    decode       reading frames (image files: header checks + cv2.imread; videos: cv2.VideoCapture.read)
    preprocess   resize (ResizeTransform.apply_image), conversion to tensors (BatchPredictor.predict_batch),
                 normalisation and padding (GeneralizedRCNN.preprocess_image)
    forward      backbone, proposals and ROI heads (GeneralizedRCNN.inference, less the stages above and below)
    postprocess  boxes to image px (GeneralizedRCNN._postprocess) and the DensePose outputs to label/UV grids over
                 each box (ImageDetections.from_instances)
    composite    the full-image IUV pasted from the box grids (sinks.composite_iuv: dump_iuv, show)
    render       drawing the visualizers (sinks.Renderer: show)
    encode       npz (records.record_bytes), PNG (iuv_png_arrays, iuv_png_bytes, sinks._encode), video frames
                 (VideoSink.write: cv2.VideoWriter encodes and writes them)
    write        atomic file writes with fsync (atomic_write_bytes)
Sequentially the stages add up to the run's wall time, less `unattributed_wall_ms` (loop, progress bar, sink
bookkeeping); pipelined they run on three threads and overlap, so their wall times add up to more than the run's.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Iterator, NamedTuple
from unittest import mock

import cv2
import torch
from detectron2.modeling.backbone.resnet import BasicStem

from bench_apply_net import REPO, random_model_predictor, sequential_loop
from bench_evaluator import PeakRSS
from densepose_ext.inference_io import commands, sinks
from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.device import auto_batch_size, auto_workers
from densepose_ext.inference_io.predictor import BatchPredictor
from densepose_ext.modeling import inference
from densepose_ext.modeling.backbone import CPUFastStem

STAGES = ("decode", "preprocess", "forward", "postprocess", "composite", "render", "encode", "write")


class StageTimer:
    """Wall and thread-CPU seconds per stage, from any number of threads; a wrapped call's time goes to its stage
    less the time of the wrapped calls made inside it (in its thread)."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}  # stage -> [wall, cpu]
        self._lock = threading.Lock()
        self._local = threading.local()

    def wrap(self, stage: str, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            stack = self._local.__dict__.setdefault("stack", [])
            inner = [0.0, 0.0]  # time of the wrapped calls inside this one
            stack.append(inner)
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
                stack.pop()
                if stack:
                    stack[-1][0] += wall
                    stack[-1][1] += cpu
                with self._lock:
                    total = self.seconds.setdefault(stage, [0.0, 0.0])
                    total[0] += wall - inner[0]
                    total[1] += cpu - inner[1]

        return timed

    def wrap_iterator(self, stage: str, items: Iterator) -> Iterator:
        """`items`, the time of producing each one counted to `stage`."""
        step = self.wrap(stage, next)
        while True:
            try:
                yield step(items)
            except StopIteration:
                return


def instrumented(timer: StageTimer) -> ExitStack:
    """Patches wrapping the functions of each stage (module docstring) with `timer`, active until the stack closes."""
    from detectron2.data.transforms import ResizeTransform
    from detectron2.modeling import GeneralizedRCNN

    methods = [(ResizeTransform, "apply_image", "preprocess"), (BatchPredictor, "predict_batch", "preprocess"),
               (GeneralizedRCNN, "preprocess_image", "preprocess"), (GeneralizedRCNN, "inference", "forward"),
               (sinks, "composite_iuv", "composite"), (sinks.Renderer, "__call__", "render"),
               (sinks, "record_bytes", "encode"), (sinks, "iuv_png_arrays", "encode"),
               (sinks, "iuv_png_bytes", "encode"), (sinks, "_encode", "encode"), (sinks.VideoSink, "write", "encode"),
               (sinks, "atomic_write_bytes", "write")]
    # getattr gives a static method's function and a class method bound to its class: both patched as static
    static = [(GeneralizedRCNN, "_postprocess", "postprocess"), (ImageDetections, "from_instances", "postprocess")]
    frames = commands.iter_frames
    stack = ExitStack()
    for owner, name, stage in methods:
        stack.enter_context(mock.patch.object(owner, name, timer.wrap(stage, getattr(owner, name))))
    for owner, name, stage in static:
        stack.enter_context(mock.patch.object(owner, name, staticmethod(timer.wrap(stage, getattr(owner, name)))))
    stack.enter_context(mock.patch.object(
        commands, "iter_frames", lambda *args: timer.wrap_iterator("decode", frames(*args))))
    return stack


def write_video(folder: Path, path: Path, fps: float = 25.0) -> None:
    """An mp4 (mp4v) whose frames are the images of `folder`, in name order."""
    images = [cv2.imread(str(p)) for p in sorted(folder.iterdir())]
    height, width = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for image in images:
        writer.write(image)
    writer.release()


class Variant(NamedTuple):
    """How apply_net runs: pipelined loop or not, --batch-size and --workers ("auto": resolved for the model), and
    whether the two CPU kernels of issue 21 are used (bench_cpu_kernels.py: the stem's max pooling through oneDNN,
    modeling/backbone.CPUFastStem; the labels' arg-max over the innermost dimension, inference.channel_argmax)
    or ATen's as before."""

    pipelined: bool
    batch_size: int | str
    workers: int | str
    cpu_kernels: bool


# Cumulative: each variant adds one change of issue 21 to the one before.
VARIANTS = {
    "before": Variant(False, 1, 1, False),  # before issue 21: the sequential loop, one image per forward pass
    "batched": Variant(True, "auto", 1, False),  # + loader and writer threads, --batch-size auto
    "workers": Variant(True, "auto", "auto", False),  # + --workers auto
    "after": Variant(True, "auto", "auto", True),  # + the two CPU kernels: apply_net's default now
}


def run_command(command: str, variant: str, source: str, out: Path, predict, auto: dict,
                visualizers: str, video: bool) -> int:
    """Run `command` ("dump", "dump_iuv", "show") over `source` into `out` as `variant` (VARIANTS), with
    `auto` = {"batch_size": B, "workers": W} for the model; returns the number of frames predicted."""
    how = VARIANTS[variant]
    batching = dict(batch_size=1)
    if how.pipelined:
        batching = dict(batch_size=auto["batch_size"] if how.batch_size == "auto" else how.batch_size,
                        same_size=True, workers=auto["workers"] if how.workers == "auto" else how.workers)
    with ExitStack() as stack:
        if not how.pipelined:
            stack.enter_context(sequential_loop())
        if not how.cpu_kernels:
            stack.enter_context(mock.patch.object(CPUFastStem, "forward", BasicStem.forward))
            stack.enter_context(mock.patch.object(inference, "channel_argmax", lambda maps: maps.argmax(0)))
        if command == "show":
            target = out / "rendered.mp4" if video else out / "show"
            summary = commands.show(source, predict, visualizers, str(target), show_progress=False, **batching)
        else:
            iuv_dir = str(out / "iuv") if command == "dump_iuv" else None
            summary = commands.dump(source, predict, str(out / "dump"), iuv_dir=iuv_dir, show_progress=False,
                                    **batching)
    return summary.processed


def measure(args, work: Path, source: str, predict, auto: dict) -> dict:
    """Per command: each variant's images/s, process CPU s per image and stages (of its fastest of --repeats
    passes, the variants alternated), the process's peak resident memory during that pass, and its images/s
    over "before"."""
    report = {}
    for command in args.commands:
        variants: dict = {}
        for repeat in range(args.repeats):
            for variant in args.variants:
                timer = StageTimer()
                with instrumented(timer), PeakRSS() as memory:
                    wall, cpu = time.perf_counter(), time.process_time()
                    frames = run_command(command, variant, source, work / f"{command}_{variant}_{repeat}", predict,
                                         auto, args.visualizers, args.video)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if variant in variants and variants[variant]["images_per_s"] >= frames / wall:
                    continue
                stages = {s: timer.seconds[s] for s in STAGES if s in timer.seconds}
                variants[variant] = {
                    "images_per_s": round(frames / wall, 3),
                    "cpu_s_per_image": round(cpu / frames, 4),
                    "peak_rss_mb": round(memory.peak_mb, 1),
                    "stages_ms_per_image": {s: {"wall": round(w * 1e3 / frames, 2),
                                                "cpu": round(c * 1e3 / frames, 2)} for s, (w, c) in stages.items()},
                    "unattributed_wall_ms": round((wall - sum(w for w, _ in stages.values())) * 1e3 / frames, 2),
                }
        if "before" in variants:
            variants["images_per_s_over_before"] = {
                v: round(variants[v]["images_per_s"] / variants["before"]["images_per_s"], 3) for v in args.variants}
        report[command] = variants
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"))
    parser.add_argument("--images", type=int, default=40, help="images in the folder (frames of the video)")
    parser.add_argument("--size", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
    parser.add_argument("--video", action="store_true", help="run on one mp4 made of the images")
    parser.add_argument("--commands", nargs="+", default=["dump", "dump_iuv", "show"],
                        choices=["dump", "dump_iuv", "show"])
    parser.add_argument("--visualizers", default="dp_contour,bbox")
    parser.add_argument("--detections", type=int, default=5, help="TEST.DETECTIONS_PER_IMAGE")
    parser.add_argument("--device", default=None)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--repeats", type=int, default=1, help="passes per variant, alternated; the fastest counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cfg, predict = random_model_predictor(args, work, "random", work / "images")
        auto = {"batch_size": auto_batch_size(cfg.MODEL.DEVICE, cfg.INPUT.MIN_SIZE_TEST),
                "workers": auto_workers(cfg.MODEL.DEVICE)}
        predict([cv2.imread(str(work / "images" / "im000000.jpg"))] * auto["batch_size"])  # warm-up: batch shapes
        source = work / "images"
        if args.video:
            write_video(source, work / "clip.mp4")
            source = work / "clip.mp4"
        report = {"config": args.config, "images": args.images, "size": list(args.size), "video": args.video,
                  "device": cfg.MODEL.DEVICE, "torch_threads": torch.get_num_threads(),
                  "auto": auto, "load_average_before": os.getloadavg()[0]}
        report.update(measure(args, work, str(source), predict, auto))
        report["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
