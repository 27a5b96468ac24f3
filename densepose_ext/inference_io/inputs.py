"""What `apply_net.py` runs on: one image, a folder, a glob or a video, as an ordered stream of frames.

Order and names are deterministic: folders and globs are sorted by path, video frames come in
stream order, and each frame gets an output name derived from its input path (extension dropped,
'/' separating folders), e.g. "img_001", "sub/img_002" or "clip/frame_000042".
"""
from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import cv2
import numpy as np

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
_GLOB_CHARS = frozenset("*?[")


class InputError(ValueError):
    """The INPUT argument names no usable input; the message says which and why."""


@dataclass(frozen=True)
class InputSource:
    """One input file. `name` is the output name (relative path without extension, '/'-separated)."""

    path: str
    name: str
    is_video: bool


@dataclass(frozen=True)
class Frame:
    """One image to process.

    Attributes:
        name: output name, unique within a run (videos: "<video name>/frame_<index:06d>").
        source: the input file path (the video file for video frames).
        index: frame index within a video, -1 for image files.
        image: (H, W, 3) uint8 BGR, or None when the frame was skipped (done earlier) or unreadable.
        error: why the input could not be read, or None.
    """

    name: str
    source: str
    index: int = -1
    image: Optional[np.ndarray] = None
    error: Optional[str] = None


def _is_image(path: str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _name(path: str, base: str) -> str:
    return Path(os.path.relpath(path, base)).with_suffix("").as_posix()


def _glob_base(pattern: str) -> str:
    """The longest leading folder of a glob pattern without wildcard characters."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."


def resolve_inputs(spec: str) -> list[InputSource]:
    """Turn the INPUT argument into an ordered list of input files.

    - an existing file: itself (a video when its extension is in VIDEO_EXTENSIONS, else an image);
    - an existing folder: its files with an image extension (case-insensitive), sorted by name,
      not recursive; other files are logged and ignored;
    - otherwise a glob pattern (``**`` recurses): matching image files, sorted by path.

    Raises:
        InputError: nothing matches `spec`, or two inputs would get the same output name
            (e.g. a.jpg and a.png).
    """
    if os.path.isfile(spec):
        is_video = Path(spec).suffix.lower() in VIDEO_EXTENSIONS
        sources = [InputSource(spec, Path(spec).stem, is_video)]
    else:
        if os.path.isdir(spec):
            base, paths = spec, sorted(os.path.join(spec, f) for f in os.listdir(spec))
        elif _GLOB_CHARS & set(spec):
            base, paths = _glob_base(spec), sorted(glob.glob(spec, recursive=True))
        else:
            raise InputError(f"INPUT {spec!r}: no such file or folder, and not a glob pattern")
        files = [p for p in paths if os.path.isfile(p)]
        ignored = [p for p in files if not _is_image(p)]
        if ignored:
            logger.info("INPUT %r: ignoring %d file(s) without an image extension: %s",
                        spec, len(ignored), ", ".join(ignored))
        sources = [InputSource(p, _name(p, base), False) for p in files if _is_image(p)]
        if not sources:
            raise InputError(
                f"INPUT {spec!r}: no image files (extensions {sorted(IMAGE_EXTENSIONS)}) found")
    _check_unique_names(sources)
    return sources


def _check_unique_names(sources: Sequence[InputSource]) -> None:
    seen: dict[str, str] = {}
    for src in sources:
        if src.name in seen:
            raise InputError(
                f"inputs {seen[src.name]!r} and {src.path!r} would both be written as {src.name!r}; "
                "select one of them with a glob pattern")
        seen[src.name] = src.path


def video_frame_name(video_name: str, index: int) -> str:
    """Output name of frame `index` of a video whose output name is `video_name`."""
    return f"{video_name}/frame_{index:06d}"


def count_frames(sources: Sequence[InputSource]) -> int:
    """Number of frames `iter_frames` will yield (videos: the container's frame count, an estimate)."""
    total = 0
    for src in sources:
        if src.is_video:
            capture = cv2.VideoCapture(src.path)
            total += max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 1)
            capture.release()
        else:
            total += 1
    return total


def iter_frames(sources: Sequence[InputSource], skip: Callable[[str], bool]) -> Iterator[Frame]:
    """Yield every frame of `sources` in order, loading at most one image at a time.

    Frames whose name satisfies `skip` (already processed) are yielded without image and not decoded.
    Unreadable images and videos are yielded with `error` set, so the caller reports them by name.
    """
    for src in sources:
        if src.is_video:
            yield from _video_frames(src, skip)
        elif skip(src.name):
            yield Frame(src.name, src.path)
        else:
            image = cv2.imread(src.path, cv2.IMREAD_COLOR)
            error = None if image is not None else "not a readable image (cv2.imread failed)"
            yield Frame(src.name, src.path, image=image, error=error)


def _video_frames(src: InputSource, skip: Callable[[str], bool]) -> Iterator[Frame]:
    capture = cv2.VideoCapture(src.path)
    try:
        if not capture.isOpened():
            yield Frame(src.name, src.path, error="not a readable video (cv2.VideoCapture failed)")
            return
        index = 0
        while True:
            name = video_frame_name(src.name, index)
            if skip(name):
                if not capture.grab():
                    return
                yield Frame(name, src.path, index=index)
            else:
                ok, image = capture.read()
                if not ok:
                    if index == 0:
                        yield Frame(src.name, src.path, error="video has no readable frame")
                    return
                yield Frame(name, src.path, index=index, image=image)
            index += 1
    finally:
        capture.release()


def video_fps(path: str, default: float = 25.0) -> float:
    """Frame rate stored in a video file, or `default` when the container does not say."""
    capture = cv2.VideoCapture(path)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return float(fps) if fps and fps > 0 else default
