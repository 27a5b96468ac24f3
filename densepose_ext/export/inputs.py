"""What the exported graph expects as input, and the preprocessing that makes it from an image."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from detectron2.data import transforms as T


@dataclass(frozen=True)
class ModelInput:
    """The test-time preprocessing of a config, kept outside the graph (a Python transform of the image).

    input_format: INPUT.FORMAT, "BGR" or "RGB" channel order of the model's image tensor.
    min_size_test, max_size_test: INPUT.MIN_SIZE_TEST / MAX_SIZE_TEST of detectron2's ResizeShortestEdge.
    """

    input_format: str
    min_size_test: int
    max_size_test: int

    @classmethod
    def from_config(cls, cfg) -> "ModelInput":
        return cls(cfg.INPUT.FORMAT, int(cfg.INPUT.MIN_SIZE_TEST), int(cfg.INPUT.MAX_SIZE_TEST))

    def preprocess(self, image_bgr: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 BGR -> (3, H', W') float32 0..255 in `input_format` order, resized as detectron2's
        DefaultPredictor does."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise ValueError(f"image: expected (H, W, 3) BGR, got shape {image_bgr.shape}")
        image = image_bgr[:, :, ::-1] if self.input_format == "RGB" else image_bgr
        resize = T.ResizeShortestEdge([self.min_size_test] * 2, self.max_size_test)
        resized = resize.get_transform(image).apply_image(image)
        return torch.as_tensor(np.ascontiguousarray(resized.transpose(2, 0, 1)).astype("float32"))
