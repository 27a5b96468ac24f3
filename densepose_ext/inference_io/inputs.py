"""What `apply_net.py` runs on: one image, a folder, a glob or a video, as an ordered stream of frames.

Order and names are deterministic: folders and globs are sorted by path, video frames come in
stream order, and each frame gets an output name derived from its input path (extension dropped,
'/' separating folders), e.g. "img_001", "sub/img_002" or "clip/frame_000042".
"""
from __future__ import annotations

import glob
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from densepose_ext.utils.cli_errors import UserInputError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
_GLOB_CHARS = frozenset("*?[")


# OpenCV refuses to decode more pixels than this (CV_IO_MAX_IMAGE_PIXELS) with an assertion, not a None.
MAX_IMAGE_PIXELS = 1 << 30
_JPEG_END = b"\xff\xd9"


class InputError(UserInputError):
    """The INPUT argument (or --output) names no usable input or location; the message says which and why."""


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
            what = "the folder"
        elif _GLOB_CHARS & set(spec):
            base, paths = _glob_base(spec), sorted(glob.glob(spec, recursive=True))
            what = "the glob pattern"
        else:
            raise InputError("INPUT", "an image or video file, a folder or a glob pattern",
                             f"{spec!r}: no such file or folder, and no glob characters (*?[)")
        files = [p for p in paths if os.path.isfile(p)]
        folders = [p for p in paths if os.path.isdir(p)]
        ignored = [p for p in files if not _is_image(p)]
        if folders and what == "the folder":
            logger.warning("INPUT %r: not reading %d sub-folder(s), a folder INPUT is not recursive (use a glob "
                           "such as '%s/**/*.jpg'): %s", spec, len(folders), spec.rstrip("/"), ", ".join(folders))
        if ignored:
            logger.warning("INPUT %r: ignoring %d file(s) without an image extension %s: %s",
                           spec, len(ignored), sorted(IMAGE_EXTENSIONS), ", ".join(ignored))
        sources = [InputSource(p, _name(p, base), False) for p in files if _is_image(p)]
        if not sources:
            holds = (f"holds {len(folders)} sub-folder(s) and {len(ignored)} other file(s)" if paths
                     else "is empty" if what == "the folder" else "matches nothing")
            found = f"no image files: {what} {spec!r} {holds}"
            raise InputError("INPUT", f"image files (extensions {sorted(IMAGE_EXTENSIONS)}) or a video file",
                             found)
    _check_unique_names(sources)
    return sources


def _check_unique_names(sources: Sequence[InputSource]) -> None:
    seen: dict[str, str] = {}
    for src in sources:
        if src.name in seen:
            raise InputError("INPUT", "inputs with distinct names once the extension is dropped (select one with "
                             "a glob pattern)", f"{seen[src.name]!r} and {src.path!r}, both {src.name!r}")
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
            image, error = read_image(src.path)
            yield Frame(src.name, src.path, image=image, error=error)


def _empty_or_missing(path: str) -> Optional[str]:
    if not os.path.exists(path):
        return "no such file (removed while running?)"
    return "an empty file (0 bytes)" if os.path.getsize(path) == 0 else None


def _image_file_problem(path: str) -> Optional[str]:
    """What makes `path` not a complete image, from its header and its last bytes, without decoding it."""
    problem = _empty_or_missing(path)
    if problem:
        return problem
    try:
        with warnings.catch_warnings():  # PIL's warning on large images: the pixel limit below decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as header:
                fmt, (width, height) = header.format, header.size
    except Image.DecompressionBombError as e:
        return f"an image too large to decode: {e}"
    except UnidentifiedImageError:
        with open(path, "rb") as f:
            start = f.read(8)
        return f"not an image: no known image format (the file starts with {start!r})"
    if width * height > MAX_IMAGE_PIXELS:
        return (f"a {width}x{height} {fmt} image ({width * height} pixels): more than the {MAX_IMAGE_PIXELS} "
                "pixels OpenCV decodes; downscale it")
    if fmt == "JPEG":
        with open(path, "rb") as f:
            f.seek(max(os.path.getsize(path) - 64, 0))
            tail = f.read().rstrip(b"\x00\r\n ")
        if not tail.endswith(_JPEG_END):
            return "a truncated JPEG (no end-of-image marker): part of the picture is missing"
    return None


def read_image(path: str) -> tuple[Optional[np.ndarray], Optional[str]]:
    """(H, W, 3) uint8 BGR pixels of the image file `path` and None, or None and what is wrong with the file
    (empty, not an image, too large, truncated, undecodable)."""
    problem = _image_file_problem(path)
    if problem:
        return None, problem
    try:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
    except cv2.error as e:
        return None, f"OpenCV cannot decode it: {e.err}"
    return (image, None) if image is not None else (None, "a corrupt image: OpenCV cannot decode it")


def _video_frames(src: InputSource, skip: Callable[[str], bool]) -> Iterator[Frame]:
    problem = _empty_or_missing(src.path)
    if problem:
        yield Frame(src.name, src.path, error=problem)
        return
    capture = cv2.VideoCapture(src.path)
    try:
        if not capture.isOpened():
            yield Frame(src.name, src.path, error="not a video OpenCV can open (unknown container or codec, or "
                                                  "a damaged file)")
            return
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        index = 0
        while True:
            name = video_frame_name(src.name, index)
            if skip(name):
                if not capture.grab():
                    break
                yield Frame(name, src.path, index=index)
            else:
                ok, image = capture.read()
                if not ok:
                    break
                yield Frame(name, src.path, index=index, image=image)
            index += 1
        if index == 0:
            yield Frame(src.name, src.path, error="a video without a readable frame")
        elif index < declared:
            # The frames read are kept; the missing ones are one failed entry, so the run's status says so.
            yield Frame(video_frame_name(src.name, index), src.path, index=index,
                        error=f"a truncated video: its header declares {declared} frames, only {index} could be read")
    finally:
        capture.release()


def video_fps(path: str, default: float = 25.0) -> float:
    """Frame rate stored in a video file, or `default` when the container does not say."""
    capture = cv2.VideoCapture(path)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return float(fps) if fps and fps > 0 else default
