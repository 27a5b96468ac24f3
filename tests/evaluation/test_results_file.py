"""Result records lay each box-relative DensePose grid over the detection box they are given."""
import numpy as np
import torch

from densepose_ext.evaluation.results_file import decode_arrays, result_records
from densepose_ext.structures.results import DensePoseResult


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
