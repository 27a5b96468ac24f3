"""Config setup and a predictor that runs several images per forward pass."""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional, Sequence, TypeVar

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.engine import DefaultPredictor
from detectron2.structures import Instances

from densepose_ext.config_files import load_config
from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.modeling.checkpoint import DensePoseCheckpointer
from densepose_ext.modeling.mixed_precision import AMP_DTYPES, AutocastBackbone
from densepose_ext.modeling.test_time_augmentation import build_densepose_tta

logger = logging.getLogger(__name__)
T = TypeVar("T")


def setup_inference_cfg(config_file: str, weights: str, opts: Sequence[str] = (),
                        device: Optional[str] = None, min_score: Optional[float] = None) -> CfgNode:
    """A frozen inference config: DensePose keys, `config_file`, `opts` (KEY VALUE pairs), validated
    (config_files.load_config: UserInputError naming the file and the key), then the flags.

    Args:
        device: torch device for MODEL.DEVICE ("cpu", "cuda", "cuda:1"); None keeps the config's value,
            except that a CUDA device on a machine without CUDA falls back to "cpu" with a warning.
        min_score: when set, becomes the test-time box score threshold of the ROI heads.
    """
    # Before the model is built: a bad file, key or value, or a reference feature not implemented here, is a
    # UserInputError naming the file and the key.
    cfg = load_config(config_file, opts)
    cfg.MODEL.WEIGHTS = weights
    if device is not None:
        cfg.MODEL.DEVICE = device
    elif cfg.MODEL.DEVICE.startswith("cuda") and not torch.cuda.is_available():
        logger.warning("%s sets MODEL.DEVICE=%s but CUDA is not available: using cpu",
                       config_file, cfg.MODEL.DEVICE)
        cfg.MODEL.DEVICE = "cpu"
    if min_score is not None:
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = min_score
    cfg.freeze()
    return cfg


class BatchPredictor(DefaultPredictor):
    """detectron2's DefaultPredictor (model from cfg, test-time resize, input format), extended to predict a
    batch of images in one forward pass; the weights cfg.MODEL.WEIGHTS load through DensePoseCheckpointer,
    which refuses a DensePose checkpoint that does not fit the config (see modeling/checkpoint.py).
    `amp` ("bf16", "fp16"; None: float32 throughout) runs the backbone in that precision
    (modeling/mixed_precision.py)."""

    def __init__(self, cfg: CfgNode, amp: Optional[str] = None):
        # DefaultPredictor loads cfg.MODEL.WEIGHTS with a plain DetectionCheckpointer: build it without
        # weights, then load them once, with the DensePose checks.
        no_weights = cfg.clone()
        no_weights.defrost()
        no_weights.MODEL.WEIGHTS = ""
        super().__init__(no_weights)
        self.cfg = cfg.clone()
        DensePoseCheckpointer.from_config(cfg, self.model).load(cfg.MODEL.WEIGHTS)
        if amp is not None:
            self.model.backbone = AutocastBackbone(self.model.backbone, AMP_DTYPES[amp])
        # TEST.AUG.ENABLED: detectron2-style test-time augmentation, which makes its views from the original image.
        self.tta = build_densepose_tta(cfg, self.model) if cfg.TEST.AUG.ENABLED else None

    def predict_batch(self, images: Sequence[np.ndarray]) -> list[Instances]:
        """Predict a batch of images.

        Args:
            images: B arrays (H_b, W_b, 3) uint8 BGR (sizes may differ).
        Returns:
            B Instances on the CPU, in the image px frame of the given (unresized) images.
        """
        inputs = []
        for image in images:
            if self.input_format == "RGB":
                image = image[:, :, ::-1]
            resized = image if self.tta is not None else self.aug.get_transform(image).apply_image(image)
            tensor = torch.as_tensor(np.ascontiguousarray(resized.transpose(2, 0, 1)).astype("float32"))
            inputs.append({"image": tensor, "height": image.shape[0], "width": image.shape[1]})
        with torch.no_grad():
            outputs = (self.model if self.tta is None else self.tta)(inputs)
        return [out["instances"].to("cpu") for out in outputs]


def _loaded_once(load: Callable[[], T]) -> Callable[[], T]:
    """A function returning `load()`, called at its first call only, also when that first call comes from several
    threads at once (runner.run with workers > 1)."""
    lock, loaded = threading.Lock(), []

    def get() -> T:
        with lock:
            if not loaded:
                loaded.append(load())
        return loaded[0]

    return get


def detections_predictor(cfg: CfgNode, min_score: float = 0.0, amp: Optional[str] = None):
    """A function images -> ImageDetections (see runner.PredictFn) over a BatchPredictor of `cfg` (and `amp`),
    keeping people with score >= min_score. Thread-safe unless TEST.AUG.ENABLED (test-time augmentation
    switches the model's heads on and off while it predicts).

    The model is built and its weights loaded at the first call, so a run that finds nothing to do
    (bad input, resumed dump already complete) does not pay for it."""
    predictor = _loaded_once(lambda: BatchPredictor(cfg, amp))

    def predict(images: Sequence[np.ndarray]) -> list[ImageDetections]:
        return [ImageDetections.from_instances(inst, min_score) for inst in predictor().predict_batch(images)]

    return predict


# WEIGHTS with these suffixes are whole models written by `python -m densepose_ext.export`, not checkpoints
EXPORTED_SUFFIXES = (".onnx", ".ts")


def is_exported_model(weights: str) -> bool:
    return weights.lower().endswith(EXPORTED_SUFFIXES)


def exported_predictor(path: str, min_score: float = 0.0):
    """Like `detections_predictor`, over a file of `python -m densepose_ext.export` (ONNX with onnxruntime,
    TorchScript with torch; on the CPU), one image per run of the graph (it was traced on one image). The
    graph keeps the score threshold it was exported with; `min_score` can only raise it. Loaded at the
    first call. Thread-safe."""
    from densepose_ext.export.runtime import ExportedDensePoseModel

    model = _loaded_once(lambda: ExportedDensePoseModel.load(path))

    def predict(images: Sequence[np.ndarray]) -> list[ImageDetections]:
        return [ImageDetections.from_instances(model()(image), min_score) for image in images]

    return predict
