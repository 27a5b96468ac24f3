"""ImageDetections.from_instances: score filter, boxes from pred_boxes (also after detectron2's postprocess of a
resized input, down to the dump records), clear error without DensePose."""
import io
import json

import numpy as np
import pytest
import torch
from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import Boxes, Instances

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.inference_io.records import record_bytes
from densepose_ext.structures.results import DensePoseResult, DensePoseResultList


def _instances(scale: int = 1) -> Instances:
    """Two people on a (20, 30) image resized by `scale`, as the ROI heads output them: boxes in that frame,
    each result at its box resolution there."""
    inst = Instances((20 * scale, 30 * scale))
    inst.pred_boxes = Boxes(torch.tensor([[1.0, 2.0, 11.0, 7.0], [0.0, 0.0, 4.0, 4.0]]) * scale)
    inst.scores = torch.tensor([0.9, 0.3])
    inst.pred_classes = torch.zeros(2, dtype=torch.int64)
    results = [DensePoseResult(torch.full((h * scale, w * scale), k + 1, dtype=torch.uint8),
                               torch.full((2, h * scale, w * scale), 0.5))
               for k, (h, w) in enumerate([(5, 10), (4, 4)])]
    inst.pred_densepose = DensePoseResultList(results)
    return inst


def test_score_filter_and_boxes_from_pred_boxes():
    det = ImageDetections.from_instances(_instances(), min_score=0.5)
    assert len(det) == 1 and det.image_size == (20, 30)
    np.testing.assert_array_equal(det.boxes, [[1, 2, 11, 7]])  # the detection box, image px
    np.testing.assert_array_equal(det.labels[0], 1)
    assert det.labels[0].dtype == np.uint8 and det.uv[0].dtype == np.float32
    assert len(ImageDetections.from_instances(_instances(), min_score=0.0)) == 2
    assert len(ImageDetections.from_instances(_instances(), min_score=0.95)) == 0


def test_missing_densepose_field_is_explained():
    inst = _instances()
    inst.remove("pred_densepose")
    with pytest.raises(ValueError, match="no field 'pred_densepose'.*pred_boxes.*DENSEPOSE_ON"):
        ImageDetections.from_instances(inst)


def test_resized_input_outputs_use_the_rescaled_detection_box():
    # GeneralizedRCNN ran on the image resized 2x; detector_postprocess rescales pred_boxes to the 20 x 30 image.
    det = ImageDetections.from_instances(detector_postprocess(_instances(scale=2), 20, 30))
    expected = [[1.0, 2.0, 11.0, 7.0], [0.0, 0.0, 4.0, 4.0]]
    assert det.image_size == (20, 30)
    np.testing.assert_allclose(det.boxes, expected)
    assert det.labels[0].shape == (10, 20)  # the grid as predicted, now laid over the rescaled box
    dumped = json.loads(record_bytes("json", "x.png", -1, det))
    assert [person["box"] for person in dumped["densepose"]] == expected
    dumped = torch.load(io.BytesIO(record_bytes("pth", "x.png", -1, det)), weights_only=True)
    assert [person["box"].tolist() for person in dumped["densepose"]] == expected
