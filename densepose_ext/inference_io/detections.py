"""The predictions for one image in plain numpy: what the dump writers, the IUV export and the
visualizers consume, independent of torch and detectron2 structures."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from densepose_ext.surface.parts import NUM_FINE_PARTS


@dataclass(frozen=True)
class ImageDetections:
    """Detected people of one image with their DensePose results.

    Attributes:
        image_size: (height, width) of the image in pixels (image px frame).
        boxes: (N, 4) float32 XYXY in image px; box k is the frame of labels[k] and uv[k].
        scores: (N,) float32 detection confidences.
        labels: N arrays (H_k, W_k) uint8 fine part labels 0..24 (0 = background): a grid over box k,
            cell (r, c) covering image px [x0 + c * w / W_k, x0 + (c + 1) * w / W_k) x
            [y0 + r * h / H_k, y0 + (r + 1) * h / H_k). The model gives box resolution
            (H_k = ceil(h), W_k = ceil(w)); any other resolution is valid too.
        uv: N arrays (2, H_k, W_k) float32 chart coordinates (U then V) in [0, 1], same frame as labels.
        confidences: N dicts {name: (H_k, W_k) float32} of a model with UV confidence ("sigma_2", and
            "kappa_u", "kappa_v" for "indep_aniso"; structures/results.py), same frame as labels; () without.
    """

    image_size: tuple[int, int]
    boxes: np.ndarray
    scores: np.ndarray
    labels: tuple[np.ndarray, ...]
    uv: tuple[np.ndarray, ...]
    confidences: tuple[dict[str, np.ndarray], ...] = ()

    def __post_init__(self) -> None:
        n = len(self.labels)
        _check(self.boxes.shape == (n, 4), "boxes", f"shape ({n}, 4)", self.boxes.shape)
        _check(self.scores.shape == (n,), "scores", f"shape ({n},)", self.scores.shape)
        _check(len(self.uv) == n, "uv", f"{n} arrays", len(self.uv))
        for k, (lab, uv) in enumerate(zip(self.labels, self.uv)):
            _check(lab.ndim == 2 and lab.dtype == np.uint8, f"labels[{k}]", "(H, W) uint8",
                   f"{lab.shape} {lab.dtype}")
            _check(uv.shape == (2, *lab.shape), f"uv[{k}]", f"shape {(2, *lab.shape)}", uv.shape)
            _check(int(lab.max(initial=0)) <= NUM_FINE_PARTS, f"labels[{k}]",
                   f"values <= {NUM_FINE_PARTS}", int(lab.max(initial=0)))
        _check(len(self.confidences) in (0, n), "confidences", f"0 or {n} dicts", len(self.confidences))
        for k, (lab, maps) in enumerate(zip(self.labels, self.confidences)):
            for name, values in maps.items():
                _check(values.shape == lab.shape, f"confidences[{k}][{name!r}]", f"shape {lab.shape}", values.shape)

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def empty(cls, image_size: tuple[int, int]) -> "ImageDetections":
        """No person detected in an image of (height, width) pixels."""
        return cls(tuple(image_size), np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), (), ())

    @classmethod
    def from_instances(cls, instances: Any, min_score: float = 0.0) -> "ImageDetections":
        """Convert a model's output Instances (fields pred_boxes, scores and pred_densepose, see
        densepose_ext/modeling/inference.py) to numpy, keeping people with score >= min_score.

        The boxes are the detection boxes `pred_boxes`, which detectron2 rescales to the output image; each
        DensePose result is computed over its box there, at the reference's size (structures/results.py).
        """
        if not instances.has("pred_densepose"):
            raise ValueError(
                "model output Instances has no field 'pred_densepose' (fields: "
                f"{sorted(instances.get_fields())}); is MODEL.DENSEPOSE_ON set in the config?")
        all_scores = instances.scores.detach().cpu().numpy()
        keep = np.flatnonzero(all_scores >= min_score)
        kept = instances[torch.as_tensor(keep, dtype=torch.long)]
        results = kept.pred_densepose.to_results(kept.pred_boxes.tensor)
        boxes = kept.pred_boxes.tensor.detach().cpu().numpy().astype(np.float32)
        confidences = tuple({name: values.detach().cpu().numpy().astype(np.float32)
                             for name, values in r.confidences.items()} for r in results)
        return cls(
            image_size=tuple(int(s) for s in instances.image_size),
            boxes=boxes.reshape(-1, 4),
            scores=all_scores[keep].astype(np.float32),
            labels=tuple(r.labels.detach().cpu().numpy().astype(np.uint8) for r in results),
            uv=tuple(r.uv.detach().cpu().numpy().astype(np.float32) for r in results),
            confidences=confidences if any(confidences) else (),
        )


def _check(ok: bool, field: str, expected: str, actual: Any) -> None:
    if not ok:
        raise ValueError(f"ImageDetections.{field}: expected {expected}, got {actual}")
