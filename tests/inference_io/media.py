"""Synthetic input files made by the tests: images, a non-image, a corrupt image, a short video."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_image(path: Path, seed: int, size=(48, 64)) -> np.ndarray:
    """A random BGR image with a bright person-sized rectangle; returns the pixels written."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 120, size=(*size, 3), dtype=np.uint8)
    image[size[0] // 6: size[0] - 4, size[1] // 3: size[1] // 3 + size[1] // 4] = 220
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return image


def write_video(path: Path, num_frames: int, size=(48, 64), fps: float = 5.0) -> None:
    """An mp4 whose frame k is uniformly gray with value 20 + 40 k, so frame order is checkable."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size[1], size[0]))
    assert writer.isOpened()
    for k in range(num_frames):
        writer.write(np.full((*size, 3), 20 + 40 * k, np.uint8))
    writer.release()


def make_folder(root: Path) -> Path:
    """Folder with three images (given out of order), a text file and a corrupt .jpg."""
    for name, seed in (("img_b.png", 1), ("img_a.jpg", 0), ("img_c.PNG", 2)):
        write_image(root / name, seed)
    (root / "notes.txt").write_text("not an image")
    (root / "broken.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    return root
