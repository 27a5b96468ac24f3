"""Encoding arrays as image file bytes (cv2), the one encoder behind every image the package writes."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np


def encode_image(ext: str, image: np.ndarray, params: Sequence[int] = ()) -> bytes:
    """The bytes of `image` as an image file of format `ext` (".png", ".jpg", ...).

    Args:
        ext: the file extension cv2 chooses the format by, with its dot.
        image: (H, W) or (H, W, 3) uint8, channels in cv2's BGR order.
        params: cv2.imencode flags, e.g. [cv2.IMWRITE_PNG_COMPRESSION, 1].
    Raises RuntimeError when cv2 cannot encode it (an unknown extension, an unsupported array).
    """
    ok, data = cv2.imencode(ext, image, list(params))
    if not ok:
        raise RuntimeError(f"cv2.imencode({ext!r}) failed for an array of shape {image.shape} {image.dtype}")
    return data.tobytes()
