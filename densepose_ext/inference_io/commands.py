"""The `dump` and `show` commands of apply_net.py, callable from Python with keyword arguments."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

from tqdm import tqdm

from densepose_ext.inference_io.inputs import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, InputError, InputSource,
                                               count_frames, iter_frames, resolve_inputs, video_fps)
from densepose_ext.inference_io.runner import PredictFn, RunSummary, run
from densepose_ext.inference_io.sinks import DumpSink, ImageSink, IUVSink, Renderer, Sink, VideoSink
from densepose_ext.vis.visualizers import build_visualizer

logger = logging.getLogger(__name__)


def _execute(sources: Sequence[InputSource], predict: PredictFn, sinks: Sequence[Sink], batch_size: int,
             show_progress: bool) -> RunSummary:
    def done(name: str) -> bool:
        return bool(sinks) and all(sink.done(name) for sink in sinks)

    with tqdm(total=count_frames(sources), unit="img", disable=not show_progress) as bar:
        summary = run(iter_frames(sources, done), predict, sinks, batch_size, progress=bar.update)
    logger.info("%d frame(s) predicted, %d already done, %d unreadable", summary.processed,
                summary.skipped, len(summary.failed))
    return summary


def dump(input_spec: str, predict: PredictFn, output: str, fmt: str = "npz", batch_size: int = 1,
         iuv_dir: Optional[str] = None, show_progress: bool = True,
         settings: Optional[dict] = None) -> RunSummary:
    """Write one record per frame under `output` (sinks.DumpSink; formats in records.py) and
    `output`/index.json; with `iuv_dir` also the full-image IUV/INDS PNGs. Frames whose outputs
    exist are skipped, so rerunning after an interruption completes the dump without duplicates.
    `settings` describe the model and thresholds; a resumed dump must use the same (DumpSink)."""
    sources = resolve_inputs(input_spec)
    dump_sink = DumpSink(output, fmt, settings)
    sinks: list[Sink] = [dump_sink] + ([IUVSink(iuv_dir)] if iuv_dir else [])
    summary = _execute(sources, predict, sinks, batch_size, show_progress)
    dump_sink.write_index(summary.entries)
    return summary


def show(input_spec: str, predict: PredictFn, visualizers: str, output: str, legend: bool = False,
         batch_size: int = 1, iuv_dir: Optional[str] = None, show_progress: bool = True) -> RunSummary:
    """Render the predictions with `visualizers` (e.g. "dp_segm,bbox"; see vis/visualizers.py).

    `output` is a picture file when the input is one image and `output` has an image extension, a
    video file when the input is a video and `output` has a video extension, and otherwise a folder
    receiving <name>.png per frame."""
    renderer = Renderer(build_visualizer(visualizers), legend)
    sources = resolve_inputs(input_spec)
    suffix = Path(output).suffix.lower()
    if len(sources) == 1 and sources[0].is_video and suffix in VIDEO_EXTENSIONS:
        sink: Sink = VideoSink(output, video_fps(sources[0].path), renderer)
    elif len(sources) == 1 and not sources[0].is_video and suffix in IMAGE_EXTENSIONS:
        sink = ImageSink(str(Path(output).parent), renderer, single_file=output)
    elif suffix in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS:
        raise InputError(f"--output {output!r}: a single file needs a single image or video INPUT, "
                         f"got {input_spec!r}; give a folder instead")
    else:
        sink = ImageSink(output, renderer)
    sinks = [sink] + ([IUVSink(iuv_dir)] if iuv_dir else [])
    return _execute(sources, predict, sinks, batch_size, show_progress)
