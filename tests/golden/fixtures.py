"""The reference's golden fixtures (tests/data/golden, see its README.md) and the models they describe.

Frames: images are uint8 (H, W, 3) BGR; boxes XYXY image px of the image as given; raw outputs (n, C, S, S) in
the ROI frame of their box; results (H_b, W_b) in the box frame of the original image (structures/results.py).
"""
from __future__ import annotations

import json
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch
from detectron2.config import CfgNode, get_cfg
from detectron2.modeling import build_model
from detectron2.structures import Boxes, Instances

import densepose_ext.modeling  # noqa: F401  (registers the ROI heads)
from densepose_ext.config import add_densepose_config
from densepose_ext.modeling.checkpoint import DensePoseCheckpointer
from densepose_ext.modeling.inference import DensePoseChartPredictions

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
S1X = "densepose_rcnn_R_50_FPN_s1x"
LEGACY = "densepose_rcnn_R_50_FPN_s1x_legacy"
NUM_IMAGES = 3
# Reference-identical results: share of identical labels, and U/V tolerance where labels agree.
MIN_LABEL_AGREEMENT = 0.999
UV_TOLERANCE = 1e-3


def overrides(family: str) -> List[Tuple[str, str]]:
    """(key, value as YAML text) of the reductions the fixtures applied to the reference recipe (overrides.txt)."""
    rows = []
    for line in (GOLDEN / family / "overrides.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _upstream, used, _why = (field.strip() for field in line.split("|"))
            rows.append((key, used))
    return rows


def golden_cfg(family: str) -> CfgNode:
    """Our configs/<family>.yaml (the reference recipe of that name) with the fixtures' reductions applied and
    the family's model.pkl as weights: the config the reference's numbers were produced with
    (test_configs.py checks it equals the reference's merged config.yaml key by key)."""
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(str(CONFIGS / f"{family}.yaml"))
    cfg.merge_from_list([x for key, used in overrides(family) if key != "MODEL.WEIGHTS" for x in (key, used)])
    cfg.MODEL.WEIGHTS = str(GOLDEN / family / "model.pkl")
    return cfg


# Non-persistent buffers of a built model: in no checkpoint, set from the config.
FROM_CONFIG = {"pixel_mean", "pixel_std"}


def reference_weights(family: str) -> Dict[str, np.ndarray]:
    """The tensors of the family's model.pkl (the reference's model-zoo format), by parameter name."""
    with open(GOLDEN / family / "model.pkl", "rb") as f:
        return pickle.load(f)["model"]


@lru_cache(maxsize=None)
def golden_model(family: str) -> torch.nn.Module:
    """The model of `family`'s config with its model.pkl loaded by DensePoseCheckpointer, eval mode."""
    cfg = golden_cfg(family)
    model = build_model(cfg)
    DensePoseCheckpointer.from_config(cfg, model).load(cfg.MODEL.WEIGHTS)
    return model.eval()


@lru_cache(maxsize=None)
def npz(name: str) -> Dict[str, np.ndarray]:
    """The arrays of tests/data/golden/<name> (e.g. "inputs.npz", "<family>/results.npz")."""
    with np.load(GOLDEN / name) as z:
        return {k: z[k] for k in z.files}


def summary(family: str) -> dict:
    return json.loads((GOLDEN / family / "results_summary.json").read_text())


def image(i: int) -> np.ndarray:
    """Input image i, uint8 (H, W, 3) BGR."""
    return npz("inputs.npz")[f"img{i}"]


@lru_cache(maxsize=None)
def given_box_predictions(family: str, i: int) -> Tuple[torch.Tensor, DensePoseChartPredictions]:
    """The model's raw DensePose outputs on image i's given boxes, fed at native size (the README's recipe).

    Returns:
        boxes (n, 4) XYXY image px and the `pred_densepose` field of those boxes.
    """
    model = golden_model(family)
    return predict_given_boxes(model, model.backbone, i)


def predict_given_boxes(model: torch.nn.Module, backbone: torch.nn.Module,
                        i: int) -> Tuple[torch.Tensor, DensePoseChartPredictions]:
    """`given_box_predictions` of any model, with its features from `backbone` (the model's own, or a wrapper of it
    such as bench/bench_amp.py's half-precision one); not cached."""
    img = image(i)
    boxes = torch.from_numpy(npz("inputs.npz")[f"img{i}_boxes"])
    with torch.no_grad():
        images = model.preprocess_image([{"image": torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32))}])
        features = backbone(images.tensor)
        given = Instances(img.shape[:2], pred_boxes=Boxes(boxes), pred_classes=torch.zeros(len(boxes), dtype=torch.long),
                          scores=torch.ones(len(boxes)))
        (out,) = model.roi_heads.forward_with_given_boxes(features, [given])
    return boxes, out.pred_densepose


def label_agreement(ours: np.ndarray, reference: np.ndarray) -> Tuple[int, float]:
    """(number of differing pixels, share of identical pixels) of two (H, W) label maps of the same shape."""
    assert ours.shape == reference.shape, f"label maps of shape {ours.shape} vs the reference's {reference.shape}"
    differ = int((ours != reference).sum())
    return differ, 1.0 - differ / max(reference.size, 1)


def max_uv_error_where_labels_agree(labels: np.ndarray, uv: np.ndarray, ref_labels: np.ndarray,
                                    ref_uv: np.ndarray) -> float:
    """max |U - U_ref|, |V - V_ref| over the pixels with identical labels (uv: (2, H, W))."""
    same = labels == ref_labels
    return float(np.abs(uv - ref_uv)[:, same].max(initial=0.0))
