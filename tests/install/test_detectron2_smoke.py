"""Stock detectron2 works in the installed environment: masks from polygons, Mask R-CNN on the CPU."""
import numpy as np
import torch

import densepose_ext  # noqa: F401  (the package must import next to detectron2)
from detectron2 import model_zoo
from detectron2.config import get_cfg
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage
from detectron2.structures import Boxes, Instances, PolygonMasks, polygons_to_bitmask


def test_polygon_rasterisation_uses_patched_numpy_aliases():
    square = [np.array([2.0, 2.0, 8.0, 2.0, 8.0, 6.0, 2.0, 6.0])]
    mask = polygons_to_bitmask(square, 10, 12)
    assert mask.dtype == bool and mask.shape == (10, 12)
    assert mask[3:6, 3:8].all() and not mask[:2].any() and not mask[:, 9:].any()
    polys = PolygonMasks([square, []])
    assert polys.nonempty().tolist() == [True, False]


def _tiny_mask_rcnn_cfg():
    cfg = get_cfg()
    cfg.merge_from_file(model_zoo.get_config_file("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_1x.yaml"))
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE = 32
    cfg.MODEL.RPN.POST_NMS_TOPK_TRAIN = 64
    cfg.MODEL.RPN.POST_NMS_TOPK_TEST = 64
    cfg.INPUT.MIN_SIZE_TEST = 128
    return cfg


def test_mask_rcnn_trains_one_step_and_infers_on_cpu():
    torch.manual_seed(0)
    model = build_model(_tiny_mask_rcnn_cfg())
    image = torch.randint(0, 255, (3, 128, 160), dtype=torch.uint8)
    target = Instances((128, 160))
    target.gt_boxes = Boxes(torch.tensor([[20.0, 30.0, 90.0, 120.0]]))
    target.gt_classes = torch.tensor([0])
    target.gt_masks = PolygonMasks([[np.array([20.0, 30.0, 90.0, 30.0, 90.0, 120.0, 20.0, 120.0])]])
    model.train()
    with EventStorage():
        losses = model([{"image": image, "instances": target}])
    assert {"loss_cls", "loss_box_reg", "loss_mask", "loss_rpn_cls", "loss_rpn_loc"} <= set(losses)
    total = sum(losses.values())
    assert torch.isfinite(total)
    before = model.roi_heads.mask_head.predictor.weight.detach().clone()
    total.backward()
    torch.optim.SGD(model.parameters(), lr=1e-3).step()
    assert not torch.equal(before, model.roi_heads.mask_head.predictor.weight)
    model.eval()
    with torch.no_grad():
        (free,) = model([{"image": image, "height": 128, "width": 160}])
        # An untrained detector may find nothing; given a box, the mask branch must still answer for it.
        given = Instances((128, 160), pred_boxes=target.gt_boxes, pred_classes=target.gt_classes)
        (fixed,) = model.inference([{"image": image, "height": 128, "width": 160}], detected_instances=[given])
    assert free["instances"].image_size == (128, 160)
    masks = fixed["instances"].pred_masks
    assert masks.shape == (1, 128, 160) and masks.dtype == torch.bool
    assert not masks[0, :, :10].any()  # nothing outside the given box (x from 20 to 90)
