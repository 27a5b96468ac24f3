"""ImageDetections.from_instances: score filter, boxes from pred_boxes, clear error without DensePose."""
import numpy as np
import pytest
import torch
from detectron2.structures import Boxes, Instances

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.structures.results import DensePoseResult, DensePoseResultList


def _instances():
    inst = Instances((20, 30))
    inst.pred_boxes = Boxes(torch.tensor([[1.0, 2.0, 11.0, 7.0], [0.0, 0.0, 4.0, 4.0]]))
    inst.scores = torch.tensor([0.9, 0.3])
    inst.pred_classes = torch.zeros(2, dtype=torch.int64)
    results = [DensePoseResult(torch.full((5, 10), k + 1, dtype=torch.uint8), torch.full((2, 5, 10), 0.5),
                               torch.tensor([1.0, 2.0, 11.0, 7.0]) * 2)  # box in another frame
               for k in range(2)]
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
