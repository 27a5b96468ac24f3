"""apply_net.py end to end with a small random-weight model built from the CPU config.

The model's detections are meaningless but real (boxes, scores, DensePose grids), so these tests
check plumbing against the model: names, order, exit status, formats, IUV/record agreement, videos.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from densepose_ext.inference_io.commands import dump
from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.predictor import BatchPredictor, detections_predictor, setup_inference_cfg
from densepose_ext.inference_io.records import load_record
from densepose_ext.utils.cli_errors import run_cli
from densepose_ext.vis.iuv_image import composite_iuv, iuv_png_arrays

from tests.scripts import load_script

from .media import make_folder, write_image, write_video

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs" / "synth" / "densepose_rcnn_R_18ish_FPN_cpu.yaml")
# Few, low-scoring detections: random weights score around 0.5, and 3 people per image keep it fast.
OPTS = ["TEST.DETECTIONS_PER_IMAGE", "3", "INPUT.MIN_SIZE_TEST", "64"]
FLAGS = ["--device", "cpu", "--min-score", "0.0", "--no-progress"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    import densepose_ext.modeling  # noqa: F401  registers DensePoseROIHeads
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.modeling import build_model

    torch.manual_seed(0)
    model = build_model(setup_inference_cfg(CONFIG, "", device="cpu"))
    folder = tmp_path_factory.mktemp("weights")
    DetectionCheckpointer(model, save_dir=str(folder)).save("random")
    return str(folder / "random.pth")


@pytest.fixture(scope="module")
def apply_net():
    return load_script("apply_net.py", "apply_net")


def test_dump_cli_folder_with_bad_files_and_iuv_agreement(tmp_path, weights):
    folder = make_folder(tmp_path / "in")
    out, iuv_dir = tmp_path / "dump", tmp_path / "iuv"
    cmd = [sys.executable, str(REPO / "apply_net.py"), "dump", CONFIG, weights, str(folder),
           "--output", str(out), "--iuv-dir", str(iuv_dir), "--batch-size", "2", *FLAGS, *OPTS]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # one unreadable input
    assert "unreadable input: " in result.stderr and "broken.jpg" in result.stderr
    assert "notes.txt" not in result.stderr.split("unreadable input")[-1]

    index = json.loads((out / "index.json").read_text())
    assert [(e["name"], e["record"]) for e in index["inputs"]] == [
        ("broken", None), ("img_a", "img_a.npz"), ("img_b", "img_b.npz"), ("img_c", "img_c.npz")]
    people = 0
    for name in ("img_a", "img_b", "img_c"):
        meta, det = load_record(str(out / f"{name}.npz"))
        assert Path(meta["file_name"]).name.startswith(name) and det.image_size == (48, 64)
        people += len(det)
        iuv = cv2.imread(str(iuv_dir / f"{name}_IUV.png"), cv2.IMREAD_UNCHANGED)
        inds = cv2.imread(str(iuv_dir / f"{name}_INDS.png"), cv2.IMREAD_UNCHANGED)
        expected_iuv, expected_inds = iuv_png_arrays(composite_iuv(det))
        np.testing.assert_array_equal(iuv, expected_iuv)
        np.testing.assert_array_equal(inds, expected_inds)
        # every labelled pixel belongs to a dumped person; the I channel is a valid part
        assert ((iuv[..., 0] > 0) == (inds > 0)).all() and inds.max() <= len(det)
        assert (iuv[..., 0] <= 24).all()
    assert people > 0 and len(list(iuv_dir.iterdir())) == 6


def test_dump_formats_on_a_glob_agree(tmp_path, weights, apply_net):
    for k in range(2):
        write_image(tmp_path / "in" / f"g{k}.png", seed=10 + k)
    write_image(tmp_path / "in" / "other.png", seed=12)  # not matched by the glob
    pattern = str(tmp_path / "in" / "g*.png")
    for fmt in ("npz", "json", "pth"):
        assert apply_net.main(["dump", CONFIG, weights, pattern, "--output", str(tmp_path / fmt),
                               "--format", fmt, *FLAGS, *OPTS]) == 0
        assert sorted(p.name for p in (tmp_path / fmt).iterdir()) == [
            "g0." + fmt, "g1." + fmt, "index.json", "settings.json"]
    # the same command again finds everything done: nothing is rewritten (the model is not even loaded)
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "npz").glob("g*.npz")}
    assert apply_net.main(["dump", CONFIG, weights, pattern, "--output", str(tmp_path / "npz"),
                           *FLAGS, *OPTS]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "npz").glob("g*.npz")} == stamps
    for k in range(2):
        _, det_npz = load_record(str(tmp_path / "npz" / f"g{k}.npz"))
        for fmt in ("json", "pth"):
            _, det = load_record(str(tmp_path / fmt / f"g{k}.{fmt}"))
            np.testing.assert_allclose(det.boxes, det_npz.boxes, atol=1e-4)
            for a, b in zip(det.labels, det_npz.labels):
                np.testing.assert_array_equal(a, b)


def test_show_glob_single_image_and_errors(tmp_path, weights, apply_net):
    for k in range(3):
        write_image(tmp_path / "in" / f"s{k}.jpg", seed=20 + k)
    out = tmp_path / "show"
    assert apply_net.main(["show", CONFIG, weights, str(tmp_path / "in" / "s*.jpg"), "dp_segm,bbox",
                           "--output", str(out), "--legend", *FLAGS, *OPTS]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["s0.png", "s1.png", "s2.png"]
    picture = cv2.imread(str(out / "s0.png"))
    assert picture.shape[1] > 64 and picture.shape[0] >= 48  # legend beside the 48x64 image

    single = tmp_path / "one.jpg"
    assert apply_net.main(["show", CONFIG, weights, str(tmp_path / "in" / "s1.jpg"), "dp_contour",
                           "--output", str(single), *FLAGS, *OPTS]) == 0
    assert cv2.imread(str(single)).shape == (48, 64, 3)

    # several inputs cannot go to one picture file
    assert run_cli(apply_net.main, "apply_net.py", ["show", CONFIG, weights, str(tmp_path / "in"), "dp_u",
                                                    "--output", str(single), *FLAGS, *OPTS]) == 2
    with pytest.raises(SystemExit) as exit_info:
        apply_net.main(["show", CONFIG, weights, str(tmp_path / "in"), "dp_nope", *FLAGS])
    assert exit_info.value.code == 2


def test_video_to_video_frames_and_dump(tmp_path, weights, apply_net):
    clip = tmp_path / "clip.mp4"
    write_video(clip, 3)
    video_out = tmp_path / "rendered.avi"
    assert apply_net.main(["show", CONFIG, weights, str(clip), "dp_iuv,bbox", "--output", str(video_out),
                           *FLAGS, *OPTS]) == 0
    capture = cv2.VideoCapture(str(video_out))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    assert (capture.get(cv2.CAP_PROP_FRAME_HEIGHT), capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == (48, 64)
    capture.release()
    assert not list(tmp_path.glob(".*partial*"))

    dump_out = tmp_path / "dump"
    assert apply_net.main(["dump", CONFIG, weights, str(clip), "--output", str(dump_out), "--batch-size",
                           "3", *FLAGS, *OPTS]) == 0
    assert sorted(p.name for p in (dump_out / "clip").iterdir()) == [
        "frame_000000.npz", "frame_000001.npz", "frame_000002.npz"]
    metas = [load_record(str(dump_out / "clip" / f"frame_{k:06d}.npz"))[0] for k in range(3)]
    assert [m["frame"] for m in metas] == [0, 1, 2] and all(m["file_name"] == str(clip) for m in metas)


def test_batch_predictor_matches_detectron2_default_predictor(weights):
    cfg = setup_inference_cfg(CONFIG, weights, OPTS, device="cpu", min_score=0.0)
    predictor = BatchPredictor(cfg)
    images = [np.random.default_rng(s).integers(0, 255, (48, 64, 3), dtype=np.uint8) for s in (0, 1)]
    single = [predictor(image)["instances"] for image in images]  # detectron2's own __call__
    batched = predictor.predict_batch(images)
    assert [len(one) for one in single] == [len(both) for both in batched] == [3, 3]
    for one, both in zip(single, batched):
        torch.testing.assert_close(both.pred_boxes.tensor, one.pred_boxes.tensor, atol=1e-3, rtol=1e-4)
        torch.testing.assert_close(both.scores, one.scores, atol=1e-4, rtol=1e-4)
        for name in ("coarse_segm", "fine_segm", "u", "v"):  # every raw map, in the ROI frame of its own box
            torch.testing.assert_close(getattr(both.pred_densepose.outputs, name),
                                       getattr(one.pred_densepose.outputs, name), atol=1e-4, rtol=1e-4)
        # The results users get (part labels and chart U/V over each box, image px frame) agree by value.
        mine, theirs = ImageDetections.from_instances(both), ImageDetections.from_instances(one)
        assert mine.image_size == theirs.image_size == (48, 64)
        for labels, ref_labels, uv, ref_uv in zip(mine.labels, theirs.labels, mine.uv, theirs.uv):
            assert labels.shape == ref_labels.shape and (labels > 0).any()
            np.testing.assert_array_equal(labels, ref_labels)
            np.testing.assert_allclose(uv, ref_uv, atol=1e-4)


def test_same_size_batches_give_the_records_of_batch_size_1(tmp_path, weights):
    sizes = [(48, 64)] * 5 + [(64, 48)] * 2 + [(48, 64)]
    for k, size in enumerate(sizes):
        write_image(tmp_path / "in" / f"m{k}.png", seed=40 + k, size=size)
    predict = detections_predictor(setup_inference_cfg(CONFIG, weights, OPTS, "cpu", 0.0))
    calls = []

    def recording(images):
        calls.append(len(images))
        return predict(images)

    dump(str(tmp_path / "in"), recording, str(tmp_path / "one"), batch_size=1, show_progress=False)
    dump(str(tmp_path / "in"), recording, str(tmp_path / "auto"), batch_size=4, same_size=True, show_progress=False)
    assert calls == [1] * 8 + [4, 1, 2, 1]
    people = 0
    for k in range(len(sizes)):
        _, one = load_record(str(tmp_path / "one" / f"m{k}.npz"))
        _, batched = load_record(str(tmp_path / "auto" / f"m{k}.npz"))
        assert len(batched) == len(one) and batched.image_size == one.image_size == sizes[k]
        np.testing.assert_allclose(batched.boxes, one.boxes, atol=1e-3, rtol=1e-4)
        np.testing.assert_allclose(batched.scores, one.scores, atol=1e-4)
        for labels, ref_labels, uv, ref_uv in zip(batched.labels, one.labels, batched.uv, one.uv):
            np.testing.assert_array_equal(labels, ref_labels)
            np.testing.assert_allclose(uv, ref_uv, atol=1e-4)
        people += len(one)
    assert people > 0


def test_concurrent_workers_give_the_records_of_one_worker(tmp_path, weights):
    for k in range(6):
        write_image(tmp_path / "in" / f"w{k}.png", seed=60 + k)
    predict = detections_predictor(setup_inference_cfg(CONFIG, weights, OPTS, "cpu", 0.0))
    # Each worker gets one torch thread here, as the single one: bit for bit the same arithmetic. (Another thread
    # count changes the rounding of some reductions, ~1e-6 in U/V, with or without workers.)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        dump(str(tmp_path / "in"), predict, str(tmp_path / "three"), batch_size=2, same_size=True, workers=3,
             show_progress=False)
        torch.set_num_threads(1)
        dump(str(tmp_path / "in"), predict, str(tmp_path / "one"), batch_size=2, same_size=True, show_progress=False)
    finally:
        torch.set_num_threads(threads)
    people = 0
    for k in range(6):
        one, three = (load_record(str(tmp_path / out / f"w{k}.npz"))[1] for out in ("one", "three"))
        assert len(three) == len(one) and np.array_equal(three.boxes, one.boxes)
        for labels, ref_labels, uv, ref_uv in zip(three.labels, one.labels, three.uv, one.uv):
            np.testing.assert_array_equal(labels, ref_labels)
            np.testing.assert_array_equal(uv, ref_uv)
        people += len(one)
    assert people > 0


def test_test_time_augmentation_takes_one_worker(apply_net, tmp_path, capsys, weights):
    write_image(tmp_path / "a.png", 0)
    tta = [*OPTS, "TEST.AUG.ENABLED", "True", "TEST.AUG.MIN_SIZES", "(64,)", "TEST.AUG.MAX_SIZE", "128"]
    args = ["dump", CONFIG, weights, str(tmp_path / "a.png"), *FLAGS]
    assert apply_net.main([*args, "--output", str(tmp_path / "auto"), *tta]) == 0
    capsys.readouterr()
    assert run_cli(apply_net.main, "apply_net.py",
                   [*args, "--output", str(tmp_path / "two"), "--workers", "2", *tta]) == 2
    err = capsys.readouterr().err
    assert "--workers" in err and "1 or auto with TEST.AUG.ENABLED" in err and "found 2" in err
    assert not (tmp_path / "two").exists()


def test_ctrl_c_stops_the_cli_with_one_line_and_the_rerun_completes_the_dump(tmp_path, weights):
    for k in range(60):
        write_image(tmp_path / "in" / f"c{k:03d}.png", seed=k, size=(240, 320))
    out = tmp_path / "dump"
    # 256 px inputs: ~0.05 s per image on 2 cores, so the run is still going when the first record appears
    cmd = [sys.executable, str(REPO / "apply_net.py"), "dump", CONFIG, weights, str(tmp_path / "in"), "--output",
           str(out), *FLAGS, "TEST.DETECTIONS_PER_IMAGE", "3", "INPUT.MIN_SIZE_TEST", "256"]
    env = {k: v for k, v in os.environ.items() if k != "DENSEPOSE_DEBUG"}
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not list(out.glob("c*.npz")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "apply_net.py: interrupted" and "Traceback" not in err
    written = sorted(p.name for p in out.glob("c*.npz"))
    assert 0 < len(written) < 60 and not list(out.glob(".*partial*"))
    assert written == [f"c{k:03d}.npz" for k in range(len(written))]  # a prefix, in input order
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{60 - len(written)} frame(s) predicted, {len(written)} already done" in rerun.stdout + rerun.stderr
    assert sorted(p.name for p in out.glob("c*.npz")) == [f"c{k:03d}.npz" for k in range(60)]


def test_amp_runs_the_backbone_in_bfloat16_and_hands_on_float32(apply_net, tmp_path, capsys, weights):
    image = np.random.default_rng(5).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    cfg = setup_inference_cfg(CONFIG, weights, OPTS, "cpu", 0.0)
    predictor = BatchPredictor(cfg, amp="bf16")
    dtypes = []
    predictor.model.backbone.body.bottom_up.register_forward_hook(
        lambda module, inputs, output: dtypes.append(output["res5"].dtype))
    (mixed,) = predictor.predict_batch([image])
    (plain,) = BatchPredictor(cfg).predict_batch([image])
    assert dtypes == [torch.bfloat16]
    assert mixed.pred_boxes.tensor.dtype == mixed.scores.dtype == mixed.pred_densepose.outputs.u.dtype == torch.float32
    assert len(mixed) > 0 and not torch.equal(mixed.pred_densepose.outputs.u[:1], plain.pred_densepose.outputs.u[:1])
    write_image(tmp_path / "a.png", 0)
    args = ["dump", CONFIG, weights, str(tmp_path / "a.png"), *FLAGS, *OPTS]
    assert apply_net.main([*args[:4], "--output", str(tmp_path / "d"), "--amp", "bf16", *args[4:]]) == 0
    assert (tmp_path / "d" / "a.npz").is_file()
    capsys.readouterr()
    exported = str(tmp_path / "model.onnx")
    assert run_cli(apply_net.main, "apply_net.py", ["dump", CONFIG, exported, str(tmp_path / "a.png"), "--output",
                                                    str(tmp_path / "e"), "--amp", "bf16"]) == 2
    assert "--amp: expected a checkpoint as WEIGHTS" in capsys.readouterr().err


def test_interrupted_real_dump_resumes(tmp_path, weights):
    folder = tmp_path / "in"
    for k in range(4):
        write_image(folder / f"r{k}.png", seed=30 + k)
    predict = detections_predictor(setup_inference_cfg(CONFIG, weights, OPTS, "cpu", 0.0))
    calls = []

    def interrupted(images):
        if calls:
            raise KeyboardInterrupt
        calls.append(len(images))
        return predict(images)

    out = tmp_path / "dump"
    with pytest.raises(KeyboardInterrupt):
        dump(str(folder), interrupted, str(out), batch_size=2, show_progress=False)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(first) == ["r0.npz", "r1.npz", "settings.json"]
    summary = dump(str(folder), predict, str(out), batch_size=2, show_progress=False)
    assert (summary.processed, summary.skipped) == (2, 2)
    assert sorted(p.name for p in out.iterdir()) == [
        "index.json", "r0.npz", "r1.npz", "r2.npz", "r3.npz", "settings.json"]
    assert all((out / name).read_bytes() == data for name, data in first.items())


def test_device_from_flag_config_or_fallback(monkeypatch):
    assert setup_inference_cfg(CONFIG, "", device="cpu").MODEL.DEVICE == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert setup_inference_cfg(CONFIG, "", ["MODEL.DEVICE", "cuda"]).MODEL.DEVICE == "cpu"
    assert setup_inference_cfg(CONFIG, "", ["MODEL.DEVICE", "cuda"], device="cuda:1").MODEL.DEVICE == "cuda:1"
