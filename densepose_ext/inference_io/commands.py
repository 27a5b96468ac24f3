"""The `dump` and `show` commands of apply_net.py, callable from Python with keyword arguments."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional, Sequence

from tqdm import tqdm

from densepose_ext.inference_io.inputs import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, InputError, InputSource,
                                               count_frames, iter_frames, resolve_inputs, video_fps)
from densepose_ext.inference_io.runner import PredictFn, RunSummary, run
from densepose_ext.inference_io.sinks import DumpSink, ImageSink, IUVSink, Renderer, Sink, VideoSink
from densepose_ext.utils.output_location import check_output_folder, regular_file_above
from densepose_ext.vis.visualizers import build_visualizer

logger = logging.getLogger(__name__)


def _execute(sources: Sequence[InputSource], predict: PredictFn, sinks: Sequence[Sink], batch_size: int,
             same_size: bool, show_progress: bool, workers: int) -> RunSummary:
    def done(name: str) -> bool:
        return bool(sinks) and all(sink.done(name) for sink in sinks)

    with tqdm(total=count_frames(sources), unit="img", disable=not show_progress) as bar:
        summary = run(iter_frames(sources, done), predict, sinks, batch_size, progress=bar.update,
                      same_size=same_size, workers=workers)
    logger.info("%d frame(s) predicted, %d already done, %d unreadable", summary.processed,
                summary.skipped, len(summary.failed))
    return summary


def check_output(path: str, option: str, is_file: bool, inputs: Sequence[InputSource] = ()) -> None:
    """Refuse an output location that would change or lose a user's file: a folder (`is_file` False) that is a
    regular file, a location under a regular file, or an output file that already exists (an input included)."""
    if not is_file:
        check_output_folder(path, option)
        return
    blocker = regular_file_above(path)
    if blocker is not None:
        raise InputError(option, "a location inside folders", f"{path!r}, under the regular file {str(blocker)!r}")
    if Path(path).exists():
        is_input = any(os.path.samefile(path, src.path) for src in inputs if os.path.exists(src.path))
        found = f"{path!r}, the INPUT itself" if is_input else f"the existing file {path!r}"
        raise InputError(option, "a new file name (an existing file is never overwritten)", found)


def _check_pictures_spare_inputs(sink: "ImageSink", sources: Sequence[InputSource], option: str) -> None:
    """Pictures are written as <folder>/<name>.png: refuse when one of them is an input image."""
    for src in sources:
        picture = sink.path(src.name)
        if picture.exists() and os.path.samefile(picture, src.path):
            raise InputError(option, "a folder that does not hold the input images", f"{str(picture)!r} would "
                             f"overwrite the input {src.path!r}")


def dump(input_spec: str, predict: PredictFn, output: str, fmt: str = "npz", batch_size: int = 1,
         iuv_dir: Optional[str] = None, show_progress: bool = True,
         settings: Optional[dict] = None, same_size: bool = False, workers: int = 1) -> RunSummary:
    """Write one record per frame under `output` (sinks.DumpSink; formats in records.py) and
    `output`/index.json; with `iuv_dir` also the full-image IUV/INDS PNGs. Frames whose outputs
    exist are skipped, so rerunning after an interruption completes the dump without duplicates.
    `settings` describe the model and thresholds; a resumed dump must use the same (DumpSink).
    Up to `batch_size` frames per forward pass, of one image size with `same_size`, and up to `workers`
    passes at once (`predict` must then be thread-safe; runner.run)."""
    sources = resolve_inputs(input_spec)
    check_output(output, "--output", is_file=False)
    if iuv_dir:
        check_output(iuv_dir, "--iuv-dir", is_file=False)
    dump_sink = DumpSink(output, fmt, settings)
    sinks: list[Sink] = [dump_sink] + ([IUVSink(iuv_dir)] if iuv_dir else [])
    summary = _execute(sources, predict, sinks, batch_size, same_size, show_progress, workers)
    dump_sink.write_index(summary.entries)
    return summary


def show(input_spec: str, predict: PredictFn, visualizers: str, output: str, legend: bool = False,
         batch_size: int = 1, iuv_dir: Optional[str] = None, show_progress: bool = True,
         same_size: bool = False, workers: int = 1) -> RunSummary:
    """Render the predictions with `visualizers` (e.g. "dp_segm,bbox"; see vis/visualizers.py); batching as
    in `dump`.

    `output` is a picture file when the input is one image and `output` has an image extension, a
    video file when the input is a video and `output` has a video extension, and otherwise a folder
    receiving <name>.png per frame."""
    renderer = Renderer(build_visualizer(visualizers), legend)
    sources = resolve_inputs(input_spec)
    suffix = Path(output).suffix.lower()
    single = len(sources) == 1 and suffix in (VIDEO_EXTENSIONS if sources[0].is_video else IMAGE_EXTENSIONS)
    if suffix in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS and not single:
        raise InputError("--output", "a folder, unless INPUT is a single image or video",
                         f"the file name {output!r} for INPUT {input_spec!r}")
    check_output(output, "--output", is_file=single, inputs=sources)
    if iuv_dir:
        check_output(iuv_dir, "--iuv-dir", is_file=False)
    if single and sources[0].is_video:
        sink: Sink = VideoSink(output, video_fps(sources[0].path), renderer)
    elif single:
        sink = ImageSink(str(Path(output).parent), renderer, single_file=output)
    else:
        sink = ImageSink(output, renderer)
        _check_pictures_spare_inputs(sink, sources, "--output")
    sinks = [sink] + ([IUVSink(iuv_dir)] if iuv_dir else [])
    return _execute(sources, predict, sinks, batch_size, same_size, show_progress, workers)
