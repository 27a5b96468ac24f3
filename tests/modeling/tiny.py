"""Small configs and hand-built ground truth shared by the modeling tests."""
import os

import numpy as np
import torch
from detectron2.config import get_cfg
from detectron2.structures import Boxes, Instances

from densepose_ext.config import add_densepose_config
from densepose_ext.structures.targets import DensePoseList, DensePoseTargets
from densepose_ext.surface.parts import FINE_TO_COARSE

import densepose_ext.modeling  # noqa: F401  (registers DensePoseROIHeads)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def densepose_cfg(config_file=None):
    """Default config with the DensePose keys, optionally merged with a YAML file (relative to the repo root)."""
    cfg = get_cfg()
    add_densepose_config(cfg)
    if config_file:
        cfg.merge_from_file(os.path.join(REPO, config_file))
    return cfg


def tiny_train_overrides(min_size: int, head_convs: int = 2, head_dim: int = 32) -> list:
    """`KEY VALUE` overrides that shrink the CPU recipe for command-line runs (train_net.py, tools/demo.py) of a
    few iterations on `min_size`-px images."""
    return [
        "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64",
        "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE", "32", "MODEL.RPN.POST_NMS_TOPK_TRAIN", "50",
        "MODEL.ROI_DENSEPOSE_HEAD.NUM_STACKED_CONVS", str(head_convs),
        "MODEL.ROI_DENSEPOSE_HEAD.CONV_HEAD_DIM", str(head_dim),
        "MODEL.ROI_DENSEPOSE_HEAD.POOLER_RESOLUTION", "7", "MODEL.ROI_DENSEPOSE_HEAD.HEATMAP_SIZE", "28",
        "INPUT.MIN_SIZE_TRAIN", f"({min_size},)", "INPUT.MIN_SIZE_TEST", str(min_size), "DATALOADER.NUM_WORKERS", "0",
        "SOLVER.IMS_PER_BATCH", "2", "SOLVER.WARMUP_ITERS", "1", "SOLVER.CHECKPOINT_PERIOD", "1000",
    ]


def gt_boxes_as_detections(inputs, device="cpu"):
    """Per model input, an Instances of detections at its ground-truth boxes (class 0, score 1) on `device`:
    `model.inference(inputs, detected_instances=...)` then runs the DensePose head on known ROIs."""
    detections = []
    for x in inputs:
        n = len(x["instances"])
        detections.append(Instances(x["instances"].image_size, pred_boxes=x["instances"].gt_boxes.to(device),
                                    pred_classes=torch.zeros(n, dtype=torch.long, device=device),
                                    scores=torch.ones(n, device=device)))
    return detections


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


def write_blob_densepose_coco(out_dir, num_images, seed=0, size=(96, 96)):
    """Writes `num_images` blob people as a DensePose-COCO split: out_dir/annotations.json + images/."""
    import json

    from PIL import Image
    from pycocotools import mask as mask_utils

    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    images, annotations = [], []
    for k, x in enumerate(blob_dataset(num_images, seed=seed, size=size)):
        name = f"{k:04d}.png"
        bgr = x["image"].permute(1, 2, 0).round().to(torch.uint8).numpy()
        Image.fromarray(bgr[:, :, ::-1].copy()).save(os.path.join(out_dir, "images", name))
        h, w = size
        images.append({"id": k + 1, "file_name": name, "height": h, "width": w})
        (t,) = list(x["instances"].gt_densepose)
        x0, y0, x1, y1 = x["instances"].gt_boxes.tensor[0].tolist()
        bw, bh = x1 - x0, y1 - y0
        coarse = t.coarse_masks.numpy()
        dp_masks = []
        for part in range(1, 15):
            m = np.asfortranarray((coarse == part).astype(np.uint8))
            rle = mask_utils.encode(m) if m.any() else []
            if rle:
                rle["counts"] = rle["counts"].decode("ascii")
            dp_masks.append(rle)
        annotations.append({
            "id": k + 1, "image_id": k + 1, "category_id": 1, "iscrowd": 0,
            "bbox": [x0, y0, bw, bh], "area": bw * bh,
            "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]],
            "dp_x": ((t.x - x0) * 256 / bw).tolist(), "dp_y": ((t.y - y0) * 256 / bh).tolist(),
            "dp_I": t.i.float().tolist(), "dp_U": t.u.tolist(), "dp_V": t.v.tolist(), "dp_masks": dp_masks,
        })
    data = {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "supercategory": "person"}]}
    with open(os.path.join(out_dir, "annotations.json"), "w") as f:
        json.dump(data, f)
