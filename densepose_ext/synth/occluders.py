"""Objects in front of people: flat textured shapes that hide parts of a body, as furniture or bags do.

An occluder is a filled ellipse or rotated rectangle at one camera depth (metres). It is drawn into the
depth buffer before the dense truth is read, so hidden body pixels become background in the IUV/INDS
truth and leave the person's mask, exactly like occlusion by another person.
"""
from __future__ import annotations

import cv2
import numpy as np

OCCLUDED_IMAGE_SHARE = 0.35  # share of images with 1-2 occluders
_MIN_DEPTH_M = 0.3


def sample_occluders(rng: np.random.Generator, screen_per_person: list[np.ndarray], size: tuple[int, int]
                     ) -> np.ndarray:
    """(H,W) float32 occluder depth in metres (inf where there is none).

    screen_per_person: per person (V,3) projected vertices (image px x, y, camera depth). Each occluder
    covers part of a random person's box (more often its lower half) and stands 0.2-1 m in front of the
    person's nearest point.
    """
    height, width = size
    layer = np.full(size, np.inf, dtype=np.float32)
    if not screen_per_person or rng.random() >= OCCLUDED_IMAGE_SHARE:
        return layer
    for _ in range(rng.integers(1, 3)):
        s = screen_per_person[rng.integers(len(screen_per_person))]
        (x0, y0), (x1, y1) = s[:, :2].min(0), s[:, :2].max(0)
        w, h = x1 - x0, y1 - y0
        centre = (x0 + rng.uniform(0.0, 1.0) * w, y0 + rng.uniform(0.3, 1.0) * h)
        axes = (max(2.0, rng.uniform(0.25, 0.8) * w), max(2.0, rng.uniform(0.1, 0.4) * h))
        angle = rng.uniform(-30.0, 30.0)
        mask = np.zeros(size, dtype=np.uint8)
        if rng.random() < 0.5:
            cv2.ellipse(mask, (centre, axes, angle), 1, -1)
        else:
            corners = cv2.boxPoints((centre, (2 * axes[0], 2 * axes[1]), angle))
            cv2.fillPoly(mask, [np.rint(corners).astype(np.int32)], 1)
        depth = np.float32(max(_MIN_DEPTH_M, s[:, 2].min() - rng.uniform(0.2, 1.0)))
        layer[mask.astype(bool)] = np.minimum(layer[mask.astype(bool)], depth)
    return layer
