"""Result records lay each box-relative DensePose grid over the detection box they are given."""
import numpy as np
import pytest
import torch

from densepose_ext.evaluation.results_file import check_records, decode_arrays, result_records
from densepose_ext.structures.results import DensePoseResult
from densepose_ext.utils.cli_errors import UserInputError


def test_record_holds_the_detection_box_and_the_grid_as_predicted():
    # A grid at the resolution of a 2x-resized network input, over a detection box of the output image.
    labels = torch.zeros(40, 60, dtype=torch.uint8)
    labels[:, 30:] = 7
    uv = torch.full((2, 40, 60), 0.5) * (labels > 0)
    output_box = np.array([[10.0, 20.0, 40.0, 40.0]])

    (record,) = result_records(5, [1], output_box, np.array([0.9]), [DensePoseResult(labels, uv)])

    assert record["bbox"] == [10.0, 20.0, 30.0, 20.0]
    box, decoded_labels, decoded_uv = decode_arrays(record["densepose"])
    np.testing.assert_allclose(box, output_box[0])
    np.testing.assert_array_equal(decoded_labels, labels.numpy())
    np.testing.assert_allclose(decoded_uv, uv.numpy(), atol=1 / 255)


@pytest.mark.parametrize("field,value,expected", [
    ("score", float("nan"), "record 0: field 'score': expected a finite score, found nan"),
    ("bbox", [1.0, 2.0, -3.0, 4.0], "record 0: field 'bbox': expected [x, y, w, h] of finite numbers with w, h >= 0"),
])
def test_a_record_that_would_change_ap_is_refused_by_name(field, value, expected):
    record = {"image_id": 1, "category_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5, "densepose": {}}
    record[field] = value
    with pytest.raises(UserInputError) as info:
        check_records([record], "res.json")
    assert str(info.value).startswith("res.json: ") and expected in str(info.value)


def test_an_empty_results_list_is_warned(caplog):
    assert check_records([], "res.json") == []
    assert "res.json: an empty list of detections" in caplog.text
