"""apply_net.py on bad arguments, images, videos and output locations: one message naming the item and what was
expected, the right exit status, no traceback, no user file changed (issue 19)."""
import hashlib
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from densepose_ext.inference_io.inputs import InputError, iter_frames, read_image, resolve_inputs
from densepose_ext.utils.cli_errors import run_cli

from tests.scripts import load_script

from .media import write_image

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs" / "synth" / "densepose_rcnn_R_18ish_FPN_cpu.yaml")
# No weights: a random model is enough to reach the output and input checks.
FAST = ["--device", "cpu", "--min-score", "0.0", "--no-progress", "TEST.DETECTIONS_PER_IMAGE", "1",
        "INPUT.MIN_SIZE_TEST", "32"]


@pytest.fixture(scope="module")
def apply_net():
    return load_script("apply_net.py", "apply_net_bad_inputs")


def _digests(root: Path) -> dict:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _huge_png(path: Path, side: int = 40000) -> None:
    """A valid 8x8 PNG whose header claims side x side pixels (more than OpenCV decodes)."""
    data = bytearray(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    data[16:24] = struct.pack(">II", side, side)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))


def _truncated_jpeg(path: Path) -> None:
    rng = np.random.default_rng(0)
    data = cv2.imencode(".jpg", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))[1].tobytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def _truncated_avi(path: Path, frames: int = 10) -> None:
    """An MJPG AVI cut in half: its header still declares `frames` frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    for k in range(frames):
        writer.write(np.random.default_rng(k).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("make,reason", [
    (lambda p: p.write_bytes(b""), "an empty file (0 bytes)"),
    (lambda p: p.write_text("hello, I am text"), "not an image: no known image format"),
    (_truncated_jpeg, "a truncated JPEG"),
    (_huge_png, "1600000000 pixels"),
])
def test_each_bad_image_says_what_the_file_is(tmp_path, make, reason):
    path = tmp_path / "bad.jpg"
    make(path)
    image, error = read_image(str(path))
    assert image is None and reason in error


def test_a_good_image_reads_as_before(tmp_path):
    pixels = write_image(tmp_path / "ok.png", 0)
    image, error = read_image(str(tmp_path / "ok.png"))
    assert error is None and np.array_equal(image, pixels)


def test_truncated_and_empty_videos_are_reported(tmp_path):
    _truncated_avi(tmp_path / "cut.avi")
    frames = list(iter_frames(resolve_inputs(str(tmp_path / "cut.avi")), lambda name: False))
    read, (missing,) = frames[:-1], frames[-1:]
    assert read and all(f.error is None for f in read)
    assert "truncated video" in missing.error and "declares 10 frames" in missing.error
    (tmp_path / "empty.mp4").write_bytes(b"")
    (frame,) = iter_frames(resolve_inputs(str(tmp_path / "empty.mp4")), lambda name: False)
    assert frame.error == "an empty file (0 bytes)"


def test_folder_without_images_says_what_it_holds(tmp_path, caplog):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match=r"no image files: the folder .*in' holds 1 sub-folder\(s\) and 1 other"):
        resolve_inputs(str(tmp_path / "in"))
    write_image(tmp_path / "in" / "a.png", 0)
    assert [s.name for s in resolve_inputs(str(tmp_path / "in"))] == ["a"]
    assert "sub-folder" in caplog.text and "sub" in caplog.text  # named, not skipped silently


@pytest.mark.parametrize("flag,value,message", [
    ("--batch-size", "0", "expected auto or an integer >= 1, found 0"),
    ("--batch-size", "many", "expected auto or an integer >= 1, found 'many'"),
    ("--workers", "0", "expected auto or an integer >= 1, found 0"),
    ("--workers", "two", "expected auto or an integer >= 1, found 'two'"),
    ("--min-score", "1.5", "expected a score in [0, 1], found 1.5"),
    ("--min-score", "nan", "expected a score in [0, 1], found nan"),
    ("--device", "tpu", "expected a torch device"),
    ("--device", "cuda:7", "found 'cuda:7'"),
])
def test_bad_flags_are_usage_errors(apply_net, tmp_path, capsys, flag, value, message):
    write_image(tmp_path / "a.png", 0)
    with pytest.raises(SystemExit) as exit_info:
        apply_net.main(["dump", CONFIG, "", str(tmp_path / "a.png"), flag, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and message in err and "Traceback" not in err


def test_output_locations_that_would_change_user_files_are_refused(apply_net, tmp_path, capsys):
    image = tmp_path / "in" / "a.png"
    write_image(image, 0)
    (tmp_path / "file.txt").write_text("mine")
    before = _digests(tmp_path)
    cases = [
        (["dump", CONFIG, "", str(image), "--output", str(tmp_path / "file.txt")], "the existing file"),
        (["dump", CONFIG, "", str(image), "--output", str(tmp_path / "file.txt" / "out")], "under the regular file"),
        (["show", CONFIG, "", str(image), "dp_u", "--output", str(image)], "the INPUT itself"),
        (["show", CONFIG, "", str(tmp_path / "in"), "dp_u", "--output", str(tmp_path / "in")], "overwrite the input"),
        (["dump", CONFIG, "", str(image), "--output", str(tmp_path / "d"), "--iuv-dir", str(tmp_path / "file.txt")],
         "--iuv-dir"),
    ]
    for argv, message in cases:
        assert run_cli(apply_net.main, "apply_net.py", argv + FAST) == 2, argv
        err = capsys.readouterr().err
        assert "apply_net.py: error: --" in err and message in err and "Traceback" not in err, err
    assert _digests(tmp_path) == before


def test_bad_files_in_a_folder_are_named_skipped_and_indexed(apply_net, tmp_path, capsys):
    folder = tmp_path / "in"
    write_image(folder / "a.png", 0)
    write_image(folder / "z.png", 1)
    _truncated_jpeg(folder / "cut.jpg")
    _huge_png(folder / "huge.png")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "sub").mkdir()
    before = _digests(folder)
    out = tmp_path / "dump"
    assert run_cli(apply_net.main, "apply_net.py", ["dump", CONFIG, "", str(folder), "--output", str(out)] + FAST) == 1
    err = capsys.readouterr().err
    for name, reason in (("cut.jpg", "truncated JPEG"), ("huge.png", "pixels"), ("empty.jpg", "empty file")):
        assert any(name in line and reason in line for line in err.splitlines()), (name, err)
    rows = json.loads((out / "index.json").read_text())["inputs"]
    assert {r["name"]: r["error"] is None for r in rows} == {"a": True, "cut": False, "empty": False,
                                                              "huge": False, "z": True}
    assert (out / "a.npz").is_file() and (out / "z.npz").is_file()  # the images after the bad ones too
    assert _digests(folder) == before


def test_no_traceback_unless_debug_is_asked(tmp_path):
    cmd = [sys.executable, str(REPO / "apply_net.py"), "dump", CONFIG, "", str(tmp_path / "missing.png")]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path,
                            env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "INPUT: expected an image or video file" in result.stderr and "Traceback" not in result.stderr
    debug = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path,
                           env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "DENSEPOSE_DEBUG": "1"})
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "InputError" in debug.stderr
