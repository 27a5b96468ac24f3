"""The apply loop: stream frames, predict them in batches, hand each prediction to the sinks."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.inputs import Frame
from densepose_ext.inference_io.sinks import Prediction, Sink

logger = logging.getLogger(__name__)

# images (B arrays (H, W, 3) uint8 BGR) -> B ImageDetections
PredictFn = Callable[[Sequence[np.ndarray]], Sequence[ImageDetections]]


@dataclass
class RunSummary:
    """What happened to every input frame, in input order.

    entries: {"name", "file_name", "frame", "error"} per frame; error is None for processed frames.
    """

    entries: list = field(default_factory=list)
    processed: int = 0
    skipped: int = 0

    @property
    def failed(self) -> list[dict]:
        return [e for e in self.entries if e["error"]]


def run(frames: Iterable[Frame], predict: PredictFn, sinks: Sequence[Sink], batch_size: int = 1,
        progress: Callable[[int], None] = lambda n: None) -> RunSummary:
    """Predict every readable frame not yet done by all sinks, `batch_size` frames per call of
    `predict`, and write it to every sink; then close the sinks.

    Memory stays bounded by one batch: frames are consumed lazily and released after writing.
    `progress(n)` is called with the number of frames finished (processed, skipped or failed).
    """
    if batch_size < 1:
        raise ValueError(f"--batch-size: expected >= 1, got {batch_size}")
    summary = RunSummary()
    batch: list[Frame] = []

    def flush() -> None:
        for frame, det in zip(batch, predict([f.image for f in batch])):
            prediction = Prediction(det)
            for sink in sinks:
                sink.write(frame, prediction)
        summary.processed += len(batch)
        progress(len(batch))
        batch.clear()

    for frame in frames:
        summary.entries.append({"name": frame.name, "file_name": frame.source, "frame": frame.index,
                                "error": frame.error})
        if frame.error:
            logger.error("skipping %s: %s", frame.source, frame.error)
            progress(1)
        elif frame.image is None:
            summary.skipped += 1
            progress(1)
        else:
            batch.append(frame)
            if len(batch) == batch_size:
                flush()
    if batch:
        flush()
    for sink in sinks:
        sink.close()
    return summary
