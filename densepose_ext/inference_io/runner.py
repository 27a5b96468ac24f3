"""The apply loop: stream frames, predict them in batches, hand each prediction to the sinks."""
from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import torch

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
        progress: Callable[[int], None] = lambda n: None, pipeline: bool = True,
        same_size: bool = False, workers: int = 1) -> RunSummary:
    """Predict every readable frame not yet done by all sinks, up to `batch_size` consecutive frames per
    call of `predict`, and write it to every sink; then close the sinks.

    With `same_size` a batch only holds frames of one image size: a frame of another size closes the batch
    before it, full or not. The model pads the images of a batch to a common size, which changes the
    features near the border of a smaller image; batches of one size give the results of batch size 1.

    With `pipeline` (the default) the model overlaps with the rest: a loader thread reads (decodes) the
    next frames from `frames` while `predict` runs, and a writer thread hands finished batches to the
    sinks (encoding, atomic writes) in input order. Outputs, their order and the summary are those of
    the sequential loop (`pipeline=False`); when `predict` or a sink fails (or the run is interrupted),
    every batch predicted before is written first, so a resumed run redoes exactly the rest.
    Memory stays bounded by a few batches: frames are consumed lazily and released after writing.
    `progress(n)` is called with the number of frames finished (processed, skipped or failed).

    With `workers` > 1 (pipelined only) up to `workers` batches are predicted at once, each by a thread of
    its own calling `predict`, which must then be thread-safe (detections_predictor and exported_predictor
    are; TEST.AUG.ENABLED models are not). For the run, torch's CPU threads are shared out among them
    (torch.get_num_threads() // workers each, at least 1): on a few CPU cores a small model runs faster as
    one forward pass per core than as one pass spread over all cores (BENCHMARKS.md). The order, resume and
    error guarantees above hold as with one worker: batches are written in input order, and on a failure
    everything predicted before the failing batch is written, nothing after it.
    """
    if batch_size < 1:
        raise ValueError(f"--batch-size: expected >= 1, got {batch_size}")
    if workers < 1 or (workers > 1 and not pipeline):
        raise ValueError(f"--workers: expected 1, or >= 1 with the pipelined loop, got {workers}")
    summary = RunSummary()

    def write(batch: list[Frame], detections: Sequence[ImageDetections]) -> None:
        for frame, det in zip(batch, detections):
            prediction = Prediction(det)
            for sink in sinks:
                sink.write(frame, prediction)
        summary.processed += len(batch)
        progress(len(batch))

    def batches(source: Iterable[Frame]) -> Iterator[list[Frame]]:
        """Readable frames in batches; failed and done frames are recorded in `summary` on the way, in order."""
        batch: list[Frame] = []
        for frame in source:
            summary.entries.append({"name": frame.name, "file_name": frame.source, "frame": frame.index,
                                    "error": frame.error})
            if frame.error:
                logger.error("skipping %s: %s", frame.source, frame.error)
                progress(1)
            elif frame.image is None:
                summary.skipped += 1
                progress(1)
            else:
                if same_size and batch and frame.image.shape != batch[0].image.shape:
                    yield batch
                    batch = []
                batch.append(frame)
                if len(batch) == batch_size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    if not pipeline:
        for batch in batches(frames):
            write(batch, predict([f.image for f in batch]))
    else:
        with _Writer(write) as writer, _ConcurrentPredict(predict, workers) as model:
            for batch in _read_ahead(batches(frames), depth=2):
                for done in model.submit(batch):
                    writer.put(*done)
            for done in model.drain():
                writer.put(*done)
    for sink in sinks:
        sink.close()
    return summary


_END = object()


def _read_ahead(items: Iterator, depth: int) -> Iterator:
    """Yield `items`, produced by a loader thread up to `depth` items ahead of the consumer.

    An exception of the producer is raised in the consumer at its place in the sequence; when the
    consumer stops early, the loader stops after at most one more item."""
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def load() -> None:
        try:
            for item in items:
                out.put((item, None))
                if stop.is_set():
                    return
            out.put((_END, None))
        except BaseException as error:  # noqa: BLE001  handed to the consumer
            out.put((_END, error))

    thread = threading.Thread(target=load, name="apply-loader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = out.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a loader waiting on a full queue
            try:
                out.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()


class _ConcurrentPredict:
    """`predict` over up to `workers` batches at once (one thread each), handing back (batch, detections) in the
    order the batches were submitted. One worker predicts in the caller's thread. On exit the batches still
    running finish and are dropped, the queued ones are cancelled, and torch's CPU thread count is restored."""

    def __init__(self, predict: PredictFn, workers: int):
        self._predict, self._workers = predict, workers
        self._pending: deque[tuple[list[Frame], Future]] = deque()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._torch_threads = torch.get_num_threads()

    def __enter__(self) -> "_ConcurrentPredict":
        if self._workers > 1:
            torch.set_num_threads(max(1, self._torch_threads // self._workers))
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="apply-model")
        return self

    def submit(self, batch: list[Frame]) -> list[tuple[list[Frame], Sequence[ImageDetections]]]:
        """Start predicting `batch`; returns the batches finished meanwhile, oldest first."""
        images = [frame.image for frame in batch]
        if self._pool is None:
            return [(batch, self._predict(images))]
        self._pending.append((batch, self._pool.submit(self._predict, images)))
        # One batch waits queued beyond the running ones, so a worker that finishes starts the next at once.
        return [self._oldest() for _ in range(len(self._pending) - self._workers)]

    def drain(self) -> Iterator[tuple[list[Frame], Sequence[ImageDetections]]]:
        while self._pending:
            yield self._oldest()

    def _oldest(self) -> tuple[list[Frame], Sequence[ImageDetections]]:
        batch, future = self._pending.popleft()
        return batch, future.result()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            torch.set_num_threads(self._torch_threads)


class _Writer:
    """A thread calling `write(batch, detections)` for the batches `put`, in order; on exit it writes
    everything put before, then raises the first error of `write` (unless one is already propagating)."""

    def __init__(self, write: Callable[[list, Sequence[ImageDetections]], None], depth: int = 2):
        self._write, self._queue = write, queue.Queue(maxsize=depth)
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._loop, name="apply-writer", daemon=True)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if self._error is None:
                try:
                    self._write(*item)
                except BaseException as error:  # noqa: BLE001  raised in the caller's thread
                    self._error = error

    def put(self, batch: list, detections: Sequence[ImageDetections]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((batch, list(detections)))

    def __enter__(self) -> "_Writer":
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._queue.put(_END)
        self._thread.join()
        if self._error is not None and exc is None:
            raise self._error
