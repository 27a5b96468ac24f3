"""Small configs and hand-built ground truth shared by the modeling tests."""
import numpy as np
import torch
from detectron2.config import get_cfg
from detectron2.structures import Boxes, Instances

from densepose_ext.config import add_densepose_config
from densepose_ext.structures.targets import DensePoseList, DensePoseTargets
from densepose_ext.surface.parts import FINE_TO_COARSE

import densepose_ext.modeling  # noqa: F401  (registers DensePoseROIHeads)


def densepose_cfg(config_file=None):
    """Default config with the DensePose keys, optionally merged with a YAML file."""
    cfg = get_cfg()
    add_densepose_config(cfg)
    if config_file:
        cfg.merge_from_file(config_file)
    return cfg


def tiny_cfg():
    """The CPU recipe shrunk further so a model trains on a few 64-128 px images in seconds."""
    cfg = densepose_cfg("configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml")
    cfg.MODEL.FPN.OUT_CHANNELS = 32
    cfg.MODEL.ROI_BOX_HEAD.FC_DIM = 64
    cfg.MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE = 32
    cfg.MODEL.RPN.POST_NMS_TOPK_TRAIN = 50
    cfg.MODEL.RPN.POST_NMS_TOPK_TEST = 20
    h = cfg.MODEL.ROI_DENSEPOSE_HEAD
    h.NUM_STACKED_CONVS, h.CONV_HEAD_DIM, h.POOLER_RESOLUTION, h.HEATMAP_SIZE = 2, 32, 7, 28
    return cfg


# A "person" drawn as a 2x2 grid of coloured regions, each one fine part (torso front, head, a hand,
# a foot). BGR colours, distinct so that the part is visible in the image.
BLOB_PARTS = np.array([[2, 23], [3, 5]])
BLOB_COLOURS = np.array([[[40, 40, 220], [40, 220, 40]], [[220, 40, 40], [220, 220, 40]]], dtype=np.float32)


def render_blob_person(height, width, box, rng, num_points=40):
    """Image (3, H, W) float BGR 0..255 with a 2x2-part blob person in `box` (XYXY image px), and its
    DensePoseTargets: points uniformly in the box, part from the quadrant, U/V = position within it."""
    x0, y0, x1, y1 = box
    image = np.full((height, width, 3), 128.0, dtype=np.float32) + rng.normal(0, 8, (height, width, 3))
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    for r, (ya, yb) in enumerate(((y0, ym), (ym, y1))):
        for c, (xa, xb) in enumerate(((x0, xm), (xm, x1))):
            image[int(ya) : int(yb), int(xa) : int(xb)] = BLOB_COLOURS[r, c]
    px = rng.uniform(x0, x1, num_points).astype(np.float32)
    py = rng.uniform(y0, y1, num_points).astype(np.float32)
    col, row = (px >= xm).astype(int), (py >= ym).astype(int)
    u = np.where(col == 0, (px - x0) / (xm - x0), (px - xm) / (x1 - xm)).astype(np.float32)
    v = np.where(row == 0, (py - y0) / (ym - y0), (py - ym) / (y1 - ym)).astype(np.float32)
    parts = BLOB_PARTS[row, col]
    coarse = np.zeros((256, 256), dtype=np.uint8)
    for r in range(2):
        for c in range(2):
            coarse[r * 128 : (r + 1) * 128, c * 128 : (c + 1) * 128] = FINE_TO_COARSE[BLOB_PARTS[r, c]]
    targets = DensePoseTargets(
        x=torch.from_numpy(px), y=torch.from_numpy(py), i=torch.from_numpy(parts).long(),
        u=torch.from_numpy(u), v=torch.from_numpy(v), coarse_masks=torch.from_numpy(coarse),
        mask_box=torch.tensor(box, dtype=torch.float32),
    )
    return torch.from_numpy(image.clip(0, 255).astype(np.float32)).permute(2, 0, 1).contiguous(), targets


def blob_dataset(num_images, seed=0, size=(96, 96)):
    """detectron2 model inputs: one blob person per image with `instances` (boxes, classes, targets)."""
    rng = np.random.default_rng(seed)
    h, w = size
    inputs = []
    for _ in range(num_images):
        bw, bh = rng.uniform(0.35, 0.6) * w, rng.uniform(0.5, 0.8) * h
        bx, by = rng.uniform(2, w - bw - 2), rng.uniform(2, h - bh - 2)
        box = (float(bx), float(by), float(bx + bw), float(by + bh))
        image, targets = render_blob_person(h, w, box, rng)
        inst = Instances((h, w))
        inst.gt_boxes = Boxes(torch.tensor([box]))
        inst.gt_classes = torch.zeros(1, dtype=torch.long)
        inst.gt_densepose = DensePoseList([targets])
        inputs.append({"image": image, "instances": inst, "height": h, "width": w})
    return inputs
