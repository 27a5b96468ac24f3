"""Dump records of a UV-confidence model keep each person's confidence maps, exactly, in every format."""
import numpy as np
import pytest

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.records import FORMATS, load_record, record_bytes

from .test_records import random_detections


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("names", [("sigma_2",), ("sigma_2", "kappa_u", "kappa_v")])
def test_confidences_round_trip(tmp_path, fmt, names):
    rng = np.random.default_rng(len(names))
    plain = random_detections(rng, n=3)
    maps = tuple({name: rng.normal(size=lab.shape).astype(np.float32) for name in names} for lab in plain.labels)
    det = ImageDetections(plain.image_size, plain.boxes, plain.scores, plain.labels, plain.uv, maps)
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(record_bytes(fmt, "x.png", -1, det))
    _, back = load_record(str(path))
    assert len(back.confidences) == 3
    for ours, theirs in zip(back.confidences, maps):
        assert sorted(ours) == sorted(names)
        for name in names:
            np.testing.assert_array_equal(ours[name], theirs[name])


@pytest.mark.parametrize("fmt", FORMATS)
def test_records_without_confidences_read_back_without(tmp_path, fmt):
    det = random_detections(np.random.default_rng(0), n=2)
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(record_bytes(fmt, "x.png", -1, det))
    assert load_record(str(path))[1].confidences == ()


def test_confidence_maps_must_match_their_labels():
    det = random_detections(np.random.default_rng(0), n=1)
    with pytest.raises(ValueError, match=r"confidences\[0\]\['sigma_2'\]: expected shape"):
        ImageDetections(det.image_size, det.boxes, det.scores, det.labels, det.uv, ({"sigma_2": np.zeros((1, 1))},))
