"""The apply loop with a stand-in predictor: batching, order, errors, interruption and resume."""
import json
import threading
import time

import cv2
import numpy as np
import pytest
import torch

from densepose_ext.inference_io.commands import dump
from densepose_ext.inference_io import predictor as predictor_module
from densepose_ext.inference_io.device import CPU_MAX_WORKERS, auto_batch_size, auto_workers
from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.inputs import iter_frames, resolve_inputs
from densepose_ext.inference_io.predictor import detections_predictor, setup_inference_cfg
from densepose_ext.inference_io.records import load_record
from densepose_ext.inference_io.runner import run
from densepose_ext.inference_io.sinks import OutputConflictError, Sink

from tests.scripts import REPO, load_script

from .media import make_folder, write_image

CPU_CONFIG = str(REPO / "configs" / "synth" / "densepose_rcnn_R_18ish_FPN_cpu.yaml")


class FakePredictor:
    """One person per image covering its top-left quarter, labelled by the image's mean intensity, so
    every record can be traced back to its image. Records each call's batch size and image sizes; can be
    told to raise KeyboardInterrupt after some calls (an interrupted run)."""

    def __init__(self, interrupt_after=None):
        self.batches, self.sizes = [], []
        self.interrupt_after = interrupt_after

    def __call__(self, images):
        if self.interrupt_after is not None and len(self.batches) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.batches.append(len(images))
        self.sizes.append([image.shape[:2] for image in images])
        out = []
        for image in images:
            h, w = image.shape[:2]
            label = np.full((h // 2, w // 2), 1 + int(image.mean()) % 24, np.uint8)
            out.append(ImageDetections((h, w), np.array([[0, 0, w // 2, h // 2]], np.float32),
                                       np.array([0.9], np.float32), (label,),
                                       (np.full((2, h // 2, w // 2), 0.5, np.float32),)))
        return out


def _folder_of(tmp_path, n):
    for k in range(n):
        write_image(tmp_path / "in" / f"im{k:02d}.png", seed=k)
    return str(tmp_path / "in")


def _records(out):
    return sorted(p.name for p in out.iterdir() if p.suffix == ".npz" and not p.name.startswith("."))


@pytest.mark.parametrize("batch_size,expected", [(1, [1] * 5), (2, [2, 2, 1]), (8, [5])])
def test_batches_and_identical_records_for_any_batch_size(tmp_path, batch_size, expected):
    fake = FakePredictor()
    summary = dump(_folder_of(tmp_path, 5), fake, str(tmp_path / "out"), batch_size=batch_size,
                   show_progress=False)
    assert fake.batches == expected and summary.processed == 5
    reference = FakePredictor()([write_image(tmp_path / "again.png", seed=3)])[0]
    _, det = load_record(str(tmp_path / "out" / "im03.npz"))
    np.testing.assert_array_equal(det.labels[0], reference.labels[0])


WIDE, TALL = (48, 64), (64, 48)


@pytest.mark.parametrize("pipeline", [False, True])
def test_same_size_batches_split_where_the_image_size_changes(tmp_path, pipeline):
    sizes = [WIDE, WIDE, TALL, WIDE, WIDE, WIDE, WIDE, WIDE, TALL, TALL]
    for k, size in enumerate(sizes):
        write_image(tmp_path / "in" / f"im{k:02d}.png", seed=k, size=size)
    (tmp_path / "in" / "im04b.png").write_bytes(b"not a png")  # an unreadable frame does not split a batch
    fake, sink = FakePredictor(), SlowRecordingSink()
    frames = iter_frames(resolve_inputs(str(tmp_path / "in")), lambda name: False)
    summary = run(frames, fake, [sink], batch_size=4, pipeline=pipeline, same_size=True)
    assert fake.sizes == [[WIDE] * 2, [TALL], [WIDE] * 4, [WIDE], [TALL] * 2]
    assert [name for name, _ in sink.written] == [f"im{k:02d}" for k in range(10)]
    assert [e["name"] for e in summary.failed] == ["im04b"] and summary.processed == 10


def test_same_size_batches_resume_where_an_interrupted_run_stopped(tmp_path):
    for k, size in enumerate([WIDE, WIDE, WIDE, TALL, TALL, WIDE]):
        write_image(tmp_path / "in" / f"im{k:02d}.png", seed=k, size=size)
    folder, out = str(tmp_path / "in"), tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        dump(folder, FakePredictor(interrupt_after=1), str(out), batch_size=2, same_size=True, show_progress=False)
    assert _records(out) == ["im00.npz", "im01.npz"]
    resumed = FakePredictor()
    summary = dump(folder, resumed, str(out), batch_size=2, same_size=True, show_progress=False)
    assert resumed.sizes == [[WIDE], [TALL] * 2, [WIDE]]  # done frames skipped, not counted in a batch
    assert (summary.processed, summary.skipped) == (4, 2)
    assert _records(out) == [f"im{k:02d}.npz" for k in range(6)]


def test_apply_net_batches_automatically_by_default(tmp_path, monkeypatch):
    apply_net = load_script("apply_net.py", "apply_net")
    cap = auto_batch_size("cpu", 256)  # the CPU recipe's INPUT.MIN_SIZE_TEST
    for k, size in enumerate([WIDE] * (2 * cap + 1) + [TALL]):
        write_image(tmp_path / "in" / f"im{k:03d}.png", seed=k, size=size)
    fakes = []

    def fake_predictor(cfg, min_score, amp):
        fakes.append(FakePredictor())
        return fakes[-1]

    monkeypatch.setattr(apply_net, "detections_predictor", fake_predictor)
    args = ["dump", CPU_CONFIG, "", str(tmp_path / "in"), "--device", "cpu", "--no-progress", "--workers", "1"]
    assert apply_net.main([*args, "--output", str(tmp_path / "auto")]) == 0
    assert fakes[0].sizes == [[WIDE] * cap, [WIDE] * cap, [WIDE], [TALL]]
    assert apply_net.main([*args, "--output", str(tmp_path / "fixed"), "--batch-size", str(2 * cap)]) == 0
    assert fakes[1].sizes == [[WIDE] * 2 * cap, [WIDE, TALL]]  # an explicit size batches any sizes together


def test_auto_batch_size_shrinks_with_the_model_input_on_the_cpu():
    assert [auto_batch_size("cpu", side) for side in (128, 240, 256, 362, 363, 512, 800)] == [2, 2, 2, 1, 1, 1, 1]
    assert auto_batch_size("cpu", 0) == 1  # no test resize: input size unknown
    assert auto_batch_size("cuda:0", 800) == auto_batch_size("cuda", 0) == 16


def test_errors_are_listed_in_input_order_and_not_predicted(tmp_path):
    fake = FakePredictor()
    out = tmp_path / "out"
    summary = dump(str(make_folder(tmp_path / "in")), fake, str(out), batch_size=2, show_progress=False)
    assert [e["name"] for e in summary.failed] == ["broken"]
    assert fake.batches == [2, 1]
    index = json.loads((out / "index.json").read_text())
    assert [(e["name"], e["record"]) for e in index["inputs"]] == [
        ("broken", None), ("img_a", "img_a.npz"), ("img_b", "img_b.npz"), ("img_c", "img_c.npz")]
    assert _records(out) == ["img_a.npz", "img_b.npz", "img_c.npz"]


def test_interrupted_dump_resumes_without_duplicates_or_rework(tmp_path):
    folder, out = _folder_of(tmp_path, 7), tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        dump(folder, FakePredictor(interrupt_after=2), str(out), batch_size=2, show_progress=False)
    assert _records(out) == ["im00.npz", "im01.npz", "im02.npz", "im03.npz"]
    # a record torn by the interruption (killed during a write) is only ever a hidden temporary
    (out / ".im04.partial.npz").write_bytes(b"torn")
    before = {p: (out / p).stat().st_mtime_ns for p in _records(out)}

    resumed = FakePredictor()
    summary = dump(folder, resumed, str(out), batch_size=2, show_progress=False)
    assert resumed.batches == [2, 1]  # only im04..im06 predicted
    assert (summary.processed, summary.skipped) == (3, 4)
    assert _records(out) == [f"im{k:02d}.npz" for k in range(7)]
    assert sorted(p.name for p in out.iterdir()) == [f"im{k:02d}.npz" for k in range(7)] + [
        "index.json", "settings.json"]
    assert {p: (out / p).stat().st_mtime_ns for p in before} == before  # done records untouched
    names = [e["name"] for e in json.loads((out / "index.json").read_text())["inputs"]]
    assert names == [f"im{k:02d}" for k in range(7)]


def test_iuv_outputs_take_part_in_resume(tmp_path):
    folder, out, iuv = _folder_of(tmp_path, 3), tmp_path / "out", tmp_path / "iuv"
    dump(folder, FakePredictor(), str(out), show_progress=False)
    fake = FakePredictor()
    dump(folder, fake, str(out), iuv_dir=str(iuv), show_progress=False)
    assert fake.batches == [1, 1, 1]  # records existed but IUV pictures did not
    assert sorted(p.name for p in iuv.iterdir()) == [f"im{k:02d}_{kind}.png" for k in range(3)
                                                      for kind in ("INDS", "IUV")]


def test_batch_size_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="--batch-size: expected >= 1, got 0"):
        dump(_folder_of(tmp_path, 1), FakePredictor(), str(tmp_path / "out"), batch_size=0,
             show_progress=False)


def test_resume_refuses_a_folder_dumped_with_other_settings(tmp_path):
    folder, out = _folder_of(tmp_path, 1), str(tmp_path / "out")
    dump(folder, FakePredictor(), out, settings={"weights": "a.pth", "min_score": 0.5}, show_progress=False)
    dump(folder, FakePredictor(), out, settings={"weights": "a.pth", "min_score": 0.5}, show_progress=False)
    with pytest.raises(OutputConflictError, match=r"min_score: \[0.5\] there, \[0.8\] now"):
        dump(folder, FakePredictor(), out, settings={"weights": "a.pth", "min_score": 0.8},
             show_progress=False)
    with pytest.raises(OutputConflictError, match=r"format: \['npz'\] there, \['json'\] now"):
        dump(folder, FakePredictor(), out, fmt="json", settings={"weights": "a.pth", "min_score": 0.5},
             show_progress=False)


class SlowRecordingSink(Sink):
    """Records the frames written, in order; each write takes a varying time, so a pipelined writer that
    reordered or dropped work would show it."""

    def __init__(self):
        self.written = []

    def done(self, name):
        return False

    def write(self, frame, prediction):
        time.sleep(0.002 * (len(self.written) % 3))
        self.written.append((frame.name, int(prediction.detections.labels[0][0, 0])))


@pytest.mark.parametrize("batch_size", [1, 3])
def test_pipeline_writes_in_input_order_what_the_sequential_loop_writes(tmp_path, batch_size):
    folder = _folder_of(tmp_path, 8)
    outputs = []
    for pipeline in (False, True):
        sink = SlowRecordingSink()
        frames = iter_frames(resolve_inputs(folder), lambda name: False)
        summary = run(frames, FakePredictor(), [sink], batch_size=batch_size, pipeline=pipeline)
        outputs.append((sink.written, [e["name"] for e in summary.entries], summary.processed))
    assert outputs[0] == outputs[1]
    assert [name for name, _ in outputs[1][0]] == [f"im{k:02d}" for k in range(8)]


def test_pipeline_writes_every_predicted_batch_before_an_interruption_propagates(tmp_path):
    sink = SlowRecordingSink()
    frames = iter_frames(resolve_inputs(_folder_of(tmp_path, 7)), lambda name: False)
    with pytest.raises(KeyboardInterrupt):
        run(frames, FakePredictor(interrupt_after=2), [sink], batch_size=2, pipeline=True)
    assert [name for name, _ in sink.written] == ["im00", "im01", "im02", "im03"]


def test_pipeline_raises_a_sink_error_and_stops(tmp_path):
    class Failing(SlowRecordingSink):
        def write(self, frame, prediction):
            if frame.name == "im02":
                raise OSError("disk full")
            super().write(frame, prediction)

    sink, fake = Failing(), FakePredictor()
    frames = iter_frames(resolve_inputs(_folder_of(tmp_path, 9)), lambda name: False)
    with pytest.raises(OSError, match="disk full"):
        run(frames, fake, [sink], batch_size=1, pipeline=True)
    assert [name for name, _ in sink.written] == ["im00", "im01"]
    assert sum(fake.batches) < 9  # the model stopped soon after the failure


class Staggered(FakePredictor):
    """FakePredictor for concurrent calls: each call holds a lock while it records, then sleeps 40 ms for the
    first call, 10 ms for the others, so a later batch can finish before an earlier one. Records how many
    calls ran at once, the order calls finished in (by the first image's label), and torch's thread count
    inside each call; raises `error` on the batch holding the image `fail_on`."""

    def __init__(self, fail_on=None, error=OSError("model crashed")):
        super().__init__()
        self.lock, self.running, self.most_at_once = threading.Lock(), 0, 0
        self.finished, self.threads = [], set()
        self.fail_on, self.error = fail_on, error

    def __call__(self, images):
        with self.lock:
            first_call = not self.batches
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.threads.add(torch.get_num_threads())
            out = super().__call__(images)
        time.sleep(0.04 if first_call else 0.01)
        with self.lock:
            self.running -= 1
            self.finished.append(int(out[0].labels[0][0, 0]))
        if self.fail_on is not None and any(np.array_equal(image, self.fail_on) for image in images):
            raise self.error
        return out


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_write_in_input_order_what_one_worker_writes(tmp_path, workers):
    folder = _folder_of(tmp_path, 9)
    outputs, fakes = [], []
    for w in (1, workers):
        sink, fake = SlowRecordingSink(), Staggered()
        frames = iter_frames(resolve_inputs(folder), lambda name: False)
        summary = run(frames, fake, [sink], batch_size=2, workers=w)
        outputs.append((sink.written, [e["name"] for e in summary.entries], summary.processed))
        fakes.append(fake)
    assert outputs[0] == outputs[1]
    assert [name for name, _ in outputs[1][0]] == [f"im{k:02d}" for k in range(9)]
    assert fakes[0].most_at_once == 1 and fakes[1].most_at_once >= 2  # the batches really overlapped
    assert fakes[1].finished != [label for _, label in outputs[1][0][::2]]  # ... and finished out of order


def test_a_failing_batch_among_workers_writes_the_batches_before_it_only_and_resumes(tmp_path):
    folder, out = _folder_of(tmp_path, 7), tmp_path / "out"
    failing = Staggered(fail_on=cv2.imread(str(tmp_path / "in" / "im04.png")))
    with pytest.raises(OSError, match="model crashed"):
        dump(folder, failing, str(out), batch_size=2, workers=3, show_progress=False)
    assert failing.most_at_once >= 2 and sum(failing.batches) > 4  # later batches ran, yet are not written
    assert _records(out) == ["im00.npz", "im01.npz", "im02.npz", "im03.npz"]
    resumed = Staggered()
    summary = dump(folder, resumed, str(out), batch_size=2, workers=3, show_progress=False)
    assert (summary.processed, summary.skipped) == (3, 4) and sorted(resumed.batches) == [1, 2]
    assert _records(out) == [f"im{k:02d}.npz" for k in range(7)]


def test_workers_share_out_the_torch_threads_for_the_run_only(tmp_path):
    folder, before = _folder_of(tmp_path, 6), torch.get_num_threads()
    try:
        torch.set_num_threads(4)
        for workers, each in ((1, 4), (2, 2), (3, 1), (8, 1)):
            fake = Staggered()
            run(iter_frames(resolve_inputs(folder), lambda name: False), fake, [SlowRecordingSink()], workers=workers)
            assert fake.threads == {each} and torch.get_num_threads() == 4
    finally:
        torch.set_num_threads(before)


def test_workers_must_be_positive_and_pipelined(tmp_path):
    frames = iter_frames(resolve_inputs(_folder_of(tmp_path, 1)), lambda name: False)
    with pytest.raises(ValueError, match="--workers: expected 1, or >= 1 with the pipelined loop, got 0"):
        run(frames, FakePredictor(), [], workers=0)
    with pytest.raises(ValueError, match="got 2"):
        run(frames, FakePredictor(), [], workers=2, pipeline=False)


def test_auto_workers_one_per_torch_thread_on_the_cpu_one_on_a_gpu():
    before = torch.get_num_threads()
    try:
        for threads in (1, 2, 3, CPU_MAX_WORKERS + 2):
            torch.set_num_threads(threads)
            assert auto_workers("cpu") == min(threads, CPU_MAX_WORKERS)
    finally:
        torch.set_num_threads(before)
    assert auto_workers("cuda") == auto_workers("cuda:1") == 1


def test_the_model_is_built_once_when_the_first_calls_come_at_once(monkeypatch):
    built = []

    class SlowToBuild:
        def __init__(self, cfg, amp):
            time.sleep(0.05)
            built.append(cfg)

        def predict_batch(self, images):
            return []

    monkeypatch.setattr(predictor_module, "BatchPredictor", SlowToBuild)
    predict = detections_predictor(setup_inference_cfg(CPU_CONFIG, "", device="cpu"))
    calls = [threading.Thread(target=predict, args=([],)) for _ in range(4)]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    assert len(built) == 1
