"""Dump records: round trip in every format, and readable without densepose_ext."""
import subprocess
import sys

import numpy as np
import pytest

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.records import FORMATS, load_record, record_bytes



def random_detections(rng: np.random.Generator, n: int) -> ImageDetections:
    """n people with distinct grid sizes, random labels 0..24 and (U, V)."""
    boxes = np.array([[k, 2 * k, 5 + 3 * k, 9 + 2 * k] for k in range(n)], np.float32).reshape(-1, 4)
    labels = tuple(rng.integers(0, 25, (9, 5 + 2 * k)).astype(np.uint8) for k in range(n))
    uv = tuple(rng.random((2, *lab.shape)).astype(np.float32) for lab in labels)
    return ImageDetections((30, 40), boxes, rng.random(n).astype(np.float32), labels, uv)


def _write(tmp_path, fmt, det, file_name="in/x.png", frame=-1):
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(record_bytes(fmt, file_name, frame, det))
    return path


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n", [0, 3])
def test_round_trip(tmp_path, fmt, n):
    det = random_detections(np.random.default_rng(n), n=n)
    meta, back = load_record(str(_write(tmp_path, fmt, det, "v.mp4", 7)))
    assert meta == {"file_name": "v.mp4", "frame": 7}
    assert back.image_size == det.image_size
    np.testing.assert_allclose(back.boxes, det.boxes, atol=1e-5)
    np.testing.assert_array_equal(back.scores, det.scores)
    assert len(back) == n
    for k in range(n):
        np.testing.assert_array_equal(back.labels[k], det.labels[k])
        # json stores U, V as PNG bytes: quantised to 1/255 (structures.results.encode)
        atol = 0.5 / 255 + 1e-6 if fmt == "json" else 0
        np.testing.assert_allclose(back.uv[k], det.uv[k], atol=atol)


def _run_without_package(code: str, path) -> str:
    """Run `code` in a fresh interpreter where densepose_ext and detectron2 cannot be imported."""
    guard = "import sys; sys.modules['densepose_ext'] = None; sys.modules['detectron2'] = None\n"
    out = subprocess.run([sys.executable, "-c", guard + code, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_npz_loads_with_numpy_alone(tmp_path):
    det = random_detections(np.random.default_rng(0), n=2)
    path = _write(tmp_path, "npz", det)
    code = ("sys.modules['torch'] = None\nimport numpy as np\nz = np.load(sys.argv[1], allow_pickle=False)\n"
            "print(str(z['file_name']), z['boxes'].shape, z['labels_1'].shape, z['uv_1'].dtype)")
    assert _run_without_package(code, path) == f"in/x.png (2, 4) {det.labels[1].shape} float32"


def test_json_loads_with_json_alone(tmp_path):
    path = _write(tmp_path, "json", random_detections(np.random.default_rng(1), n=2))
    code = ("sys.modules['torch'] = None\nimport json\nr = json.load(open(sys.argv[1]))\n"
            "print(sorted(r), len(r['densepose']), sorted(r['densepose'][0]))")
    expected = (f"{sorted(['boxes', 'densepose', 'file_name', 'frame', 'image_size', 'scores'])} 2 "
                "['box', 'iuv_png', 'size']")
    assert _run_without_package(code, path) == expected


def test_pth_loads_with_torch_weights_only(tmp_path):
    det = random_detections(np.random.default_rng(2), n=1)
    path = _write(tmp_path, "pth", det)
    code = ("import torch\nr = torch.load(sys.argv[1], weights_only=True)\n"
            "print(r['densepose'][0]['labels'].shape[0], r['scores'].shape[0])")
    assert _run_without_package(code, path) == f"{det.labels[0].shape[0]} 1"


def test_unknown_format_rejected():
    with pytest.raises(ValueError, match="expected one of.*'npy'"):
        record_bytes("npy", "x", -1, ImageDetections.empty((2, 2)))
    with pytest.raises(ValueError, match="x.txt.*'txt'"):
        load_record("x.txt")
