"""Where the predictions of each frame go: dump records, IUV/INDS PNGs, rendered images or a video.

A sink has `done(name) -> bool` (its output for that frame exists, so a resumed run may skip it),
`write(frame, prediction)` and `close()`. Every file is written atomically (atomic.py), so an
interrupted run leaves complete outputs only, and the next run redoes exactly the missing ones.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from densepose_ext.inference_io.atomic import atomic_write_bytes, remove_stale_temporaries, temp_path
from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.inputs import Frame
from densepose_ext.inference_io.records import FORMATS, record_bytes
from densepose_ext.utils.cli_errors import UserInputError
from densepose_ext.utils.image_file import encode_image
from densepose_ext.vis.iuv_image import FullImageIUV, composite_iuv, iuv_png_arrays, iuv_png_bytes
from densepose_ext.vis.visualizers import CompoundVisualizer


@dataclass
class Prediction:
    """The detections of one frame; the full-image composite is computed once, when first needed."""

    detections: ImageDetections

    @cached_property
    def iuv(self) -> FullImageIUV:
        return composite_iuv(self.detections)


def _encode(array: np.ndarray, path: Path) -> bytes:
    """The bytes of `array` as the image file `path` (format from its extension, PNG without one)."""
    return encode_image(path.suffix or ".png", array)


class Sink:
    def done(self, name: str) -> bool:
        raise NotImplementedError

    def write(self, frame: Frame, prediction: Prediction) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the outputs; called once after the last frame."""


class OutputConflictError(UserInputError):
    """An output folder holds results made with other settings; resuming into it would mix them."""


class DumpSink(Sink):
    """One record file per frame: <root>/<name>.<fmt> (see records.py), plus <root>/index.json
    listing every input in order with its record or its error (written by `write_index`).

    `settings` (JSON-safe: model, weights, thresholds, ...) are stored in <root>/settings.json by the
    first run; a later run into the same folder must pass equal settings, because it keeps the
    records already there."""

    def __init__(self, root: str, fmt: str, settings: Optional[dict] = None):
        if fmt not in FORMATS:
            raise ValueError(f"--format: expected one of {FORMATS}, got {fmt!r}")
        self.root, self.fmt = Path(root), fmt
        self._claim(dict(settings or {}, format=fmt))
        remove_stale_temporaries(self.root)

    def _claim(self, settings: dict) -> None:
        path = self.root / "settings.json"
        current = json.loads(json.dumps(settings))  # as it reads back: tuples become lists
        if path.is_file():
            stored = json.loads(path.read_text(encoding="utf-8"))
            if stored != current:
                changed = sorted(k for k in stored.keys() | current.keys() if stored.get(k) != current.get(k))
                raise OutputConflictError(
                    f"--output {self.root}", f"a new folder or one holding a dump with these settings (choose "
                    "another folder or delete it)", f"a dump made with other settings ({', '.join(changed)}: "
                    f"{[stored.get(k) for k in changed]} there, {[current.get(k) for k in changed]} now)")
        else:
            atomic_write_bytes(path, json.dumps(current, indent=1).encode("utf-8"))

    def path(self, name: str) -> Path:
        return self.root / f"{name}.{self.fmt}"

    def done(self, name):
        return self.path(name).is_file()

    def write(self, frame, prediction):
        data = record_bytes(self.fmt, frame.source, frame.index, prediction.detections)
        atomic_write_bytes(self.path(frame.name), data)

    def write_index(self, entries: Sequence[dict]) -> None:
        """entries: {"name", "file_name", "frame", "error"} per input in order; adds "record"."""
        rows = [dict(e, record=None if e["error"] else self.path(e["name"]).relative_to(self.root).as_posix())
                for e in entries]
        index = {"format": self.fmt, "inputs": rows}
        atomic_write_bytes(self.root / "index.json", json.dumps(index, indent=1).encode("utf-8"))


class IUVSink(Sink):
    """Full-image <root>/<name>_IUV.png (the reference's layout, vis.iuv_image.iuv_png_bytes) and <name>_INDS.png."""

    def __init__(self, root: str):
        self.root = Path(root)
        remove_stale_temporaries(self.root)

    def paths(self, name: str) -> tuple[Path, Path]:
        return self.root / f"{name}_IUV.png", self.root / f"{name}_INDS.png"

    def done(self, name):
        return all(p.is_file() for p in self.paths(name))

    def write(self, frame, prediction):
        iuv, inds = iuv_png_arrays(prediction.iuv)
        iuv_path, inds_path = self.paths(frame.name)
        atomic_write_bytes(iuv_path, iuv_png_bytes(iuv))
        atomic_write_bytes(inds_path, _encode(inds, inds_path))


@dataclass
class Renderer:
    """Draws a frame with the chosen visualizers (and their legend) into a BGR picture."""

    visualizer: CompoundVisualizer
    legend: bool

    def __call__(self, frame: Frame, prediction: Prediction) -> np.ndarray:
        return self.visualizer.render(frame.image, prediction.detections, prediction.iuv, self.legend)


class ImageSink(Sink):
    """Rendered pictures: <root>/<name>.png, or exactly `single_file` when set (one input image).

    Pictures are always redrawn (done() is False): a rerun usually means other visualizers."""

    def __init__(self, root: str, renderer: Renderer, single_file: Optional[str] = None):
        self.root, self.render, self.single_file = Path(root), renderer, single_file
        if single_file is None:
            remove_stale_temporaries(self.root)

    def path(self, name: str) -> Path:
        return Path(self.single_file) if self.single_file else self.root / f"{name}.png"

    def done(self, name):
        return False

    def write(self, frame, prediction):
        path = self.path(frame.name)
        atomic_write_bytes(path, _encode(self.render(frame, prediction), path))


@dataclass
class VideoSink(Sink):
    """All rendered frames, in order, into one video file (fourcc chosen from the extension).

    The video is written to a temporary file and renamed on close, so a partial video never appears
    under the final name; it cannot be resumed (done() is always False)."""

    path: str
    fps: float
    render: Renderer
    _writer: Optional[cv2.VideoWriter] = field(default=None, init=False)

    _FOURCC = {".avi": "MJPG", ".mkv": "MJPG"}

    def done(self, name):
        return False

    def write(self, frame, prediction):
        picture = self.render(frame, prediction)
        if self._writer is None:
            target = Path(self.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fourcc = cv2.VideoWriter_fourcc(*self._FOURCC.get(target.suffix.lower(), "mp4v"))
            self._writer = cv2.VideoWriter(str(temp_path(target)), fourcc, self.fps,
                                           (picture.shape[1], picture.shape[0]))
            if not self._writer.isOpened():
                raise RuntimeError(f"--output {self.path}: OpenCV cannot write this video format")
        self._writer.write(picture)

    def close(self):
        if self._writer is not None:
            self._writer.release()
            temp_path(Path(self.path)).replace(self.path)
            self._writer = None
