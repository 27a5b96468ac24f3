"""Visualizer of the UV confidence of WC1/WC2 models (modeling/confidence.py): the predicted standard
deviation of (U, V) at every person pixel.

From the raw confidences of the pixel's part (structures/results.py) the covariance of (U, V) is
Sigma = s I + r r^T with s = softplus(sigma_2) + epsilon and r = (kappa_u, kappa_v) (r = 0 for "iid_iso");
the map shows sqrt(trace(Sigma) / 2) = sqrt(s + |r|^2 / 2), the root mean square of the U and V standard
deviations, in chart units, on a fixed scale 0 .. MAX_STD (larger values are clipped), so pictures compare.
epsilon is the reference's default UV_CONFIDENCE.EPSILON (the dumps do not carry the config).
"""
from __future__ import annotations

import numpy as np

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.vis.iuv_image import FullImageIUV, box_pixel_grid
from densepose_ext.vis.legend import colorbar_panel
from densepose_ext.vis.palette import colorize_unit_interval
from densepose_ext.vis.visualizers import VISUALIZER_REGISTRY, Visualizer, _blend

EPSILON = 0.01
# Top of the colour scale, chart units: a standard deviation of half the chart is no information.
MAX_STD = 0.5


def uv_std(confidences: dict[str, np.ndarray]) -> np.ndarray:
    """sqrt(trace(Sigma) / 2) (module docstring) from one person's raw confidence maps {name: (H, W)}."""
    s = np.logaddexp(0.0, confidences["sigma_2"]) + EPSILON  # softplus, stable for large inputs
    r_sq = confidences.get("kappa_u", 0.0) ** 2 + confidences.get("kappa_v", 0.0) ** 2
    return np.sqrt(s + r_sq / 2).astype(np.float32)


def composite_uv_std(detections: ImageDetections, iuv: FullImageIUV) -> np.ndarray:
    """(H, W) float32 full-image map of `uv_std`, each pixel from the person `iuv.inds` assigns it (so overlaps
    resolve as in the IUV composite); 0 off people.

    Raises ValueError when the detections carry no confidences (a model without UV confidence)."""
    if not detections.confidences:
        raise ValueError("dp_uv_std: the detections have no UV confidences (needs a model with "
                         "MODEL.ROI_DENSEPOSE_HEAD.UV_CONFIDENCE.ENABLED, e.g. the WC1/WC2 recipes)")
    out = np.zeros(detections.image_size, np.float32)
    for k, maps in enumerate(detections.confidences):
        std = uv_std(maps)
        rows, cols, cell_rows, cell_cols = box_pixel_grid(detections.boxes[k], std.shape, detections.image_size)
        if rows.size == 0 or cols.size == 0:
            continue
        window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        mine = iuv.inds[window] == k + 1
        out[window][mine] = std[np.ix_(cell_rows, cell_cols)][mine]
    return out


class UVStdVisualizer(Visualizer):
    """The UV standard deviation (module docstring) over each person, colour scale 0 .. MAX_STD."""

    def draw(self, image, detections, iuv):
        std = composite_uv_std(detections, iuv)
        return _blend(image, colorize_unit_interval(std / MAX_STD), iuv.labels > 0)

    def legend(self):
        return colorbar_panel(f"UV std (0..{MAX_STD})")


@VISUALIZER_REGISTRY.register()
def dp_uv_std() -> Visualizer:
    return UVStdVisualizer()
