"""Visualizers drawing DensePose predictions on an image, selectable by name and combinable.

Every visualizer draws on a BGR uint8 image (H, W, 3) in the image px frame, from the image's
ImageDetections (boxes, scores) and their full-image composite FullImageIUV (so overlaps are resolved
once, by score, the same way as in the exported IUV/INDS PNGs).

    VISUALIZER_REGISTRY: name -> factory() -> Visualizer. Names: bbox, dp_segm, dp_u, dp_v,
    dp_contour, dp_iuv, dp_texture. build_visualizer("dp_segm,bbox") combines several, drawn in that order.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np
from detectron2.utils.registry import Registry

from densepose_ext.inference_io.detections import ImageDetections
from densepose_ext.surface.parts import FINE_PART_NAMES, NUM_FINE_PARTS
from densepose_ext.surface.texture import labelled_part_atlas, paint_texture
from densepose_ext.vis.iuv_image import FullImageIUV
from densepose_ext.vis.legend import attach_legend, colorbar_panel, swatch_panel
from densepose_ext.vis.palette import colorize_unit_interval, part_colors

VISUALIZER_REGISTRY = Registry("DENSEPOSE_VISUALIZER")
VISUALIZER_REGISTRY.__doc__ = """
Visualizers for `apply_net.py show`. Each entry is a factory called without arguments that returns a
Visualizer; the entry name is the name users type.
"""

# Overlay opacity of the dense maps: high enough to read the colours, low enough to see the person.
_ALPHA = 0.7


class Visualizer:
    """Draws one aspect of the predictions. Subclasses implement `draw` and may add a `legend`."""

    def draw(self, image: np.ndarray, detections: ImageDetections, iuv: FullImageIUV) -> np.ndarray:
        """Return a new (H, W, 3) uint8 BGR image with the predictions drawn on `image` (not modified)."""
        raise NotImplementedError

    def legend(self) -> Optional[np.ndarray]:
        """A legend panel (see vis/legend.py) explaining the colours, or None."""
        return None


class BoxVisualizer(Visualizer):
    """Detection boxes (XYXY image px) with their scores."""

    color = (0, 255, 0)

    def draw(self, image, detections, iuv):
        out = image.copy()
        for box, score in zip(detections.boxes, detections.scores):
            x0, y0, x1, y1 = (int(round(float(v))) for v in box)
            cv2.rectangle(out, (x0, y0), (x1, y1), self.color, 1)
            cv2.putText(out, f"{score:.2f}", (x0, max(y0 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        self.color, 1, cv2.LINE_AA)
        return out


def _blend(image: np.ndarray, colors: np.ndarray, mask: np.ndarray, alpha: float = _ALPHA) -> np.ndarray:
    """Alpha-blend colors (H, W, 3) uint8 over image where mask (H, W) bool is set."""
    out = image.copy()
    mixed = (1.0 - alpha) * image[mask].astype(np.float32) + alpha * colors[mask].astype(np.float32)
    out[mask] = np.round(mixed).astype(np.uint8)
    return out


class PartVisualizer(Visualizer):
    """Fine part labels I, one colour per part (palette.part_colors)."""

    def draw(self, image, detections, iuv):
        return _blend(image, part_colors()[iuv.labels], iuv.labels > 0)

    def legend(self):
        colors = part_colors()
        return swatch_panel("parts (I)", [(colors[i], f"{i:2d} {FINE_PART_NAMES[i]}")
                                          for i in range(1, NUM_FINE_PARTS + 1)])


class ChartVisualizer(Visualizer):
    """One chart coordinate (channel 0 = U, 1 = V) in [0, 1] through palette.UV_COLORMAP."""

    def __init__(self, channel: int):
        self.channel = channel

    def draw(self, image, detections, iuv):
        return _blend(image, colorize_unit_interval(iuv.uv[self.channel]), iuv.labels > 0)

    def legend(self):
        return colorbar_panel("UV"[self.channel])


class ContourVisualizer(Visualizer):
    """Iso-lines of U and V at multiples of 1 / levels, and the part boundaries, inside each person.

    A person pixel lies on a U (V) line when its right or lower neighbour belongs to the same person and
    part but falls in another U (V) level; on a boundary when a 4-neighbour is another part, person or
    background. Lines are only drawn on person pixels.
    """

    u_color = (0, 140, 255)
    v_color = (255, 200, 0)
    boundary_color = (255, 255, 255)

    def __init__(self, levels: int = 10):
        self.levels = levels

    def line_masks(self, iuv: FullImageIUV) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u_lines, v_lines, boundaries): (H, W) bool masks, see the class docstring."""
        masks = [np.zeros(iuv.labels.shape, bool) for _ in range(3)]
        rows, cols = np.flatnonzero(iuv.labels.any(axis=1)), np.flatnonzero(iuv.labels.any(axis=0))
        if rows.size == 0:
            return masks[0], masks[1], masks[2]
        # Lines only fall on person pixels, and depend on their 4-neighbours: the box around the people grown by
        # one pixel gives every line of the image, at a fraction of the cost when people are small.
        window = (slice(max(rows[0] - 1, 0), rows[-1] + 2), slice(max(cols[0] - 1, 0), cols[-1] + 2))
        labels, inds, uv = iuv.labels[window], iuv.inds[window], iuv.uv[(slice(None), *window)]
        fg = labels > 0
        level = np.minimum(np.floor(uv * self.levels), self.levels - 1).astype(np.int32)
        region = inds.astype(np.int64) * (NUM_FINE_PARTS + 1) + labels
        crops = [mask[window] for mask in masks]
        for axis in (0, 1):
            here = [slice(None), slice(None)]
            there = [slice(None), slice(None)]
            here[axis], there[axis] = slice(None, -1), slice(1, None)
            here, there = tuple(here), tuple(there)
            same = region[here] == region[there]
            for channel in range(2):
                crops[channel][here] |= same & fg[here] & (level[channel][here] != level[channel][there])
            crops[2][here] |= fg[here] & ~same
            crops[2][there] |= fg[there] & ~same
        return masks[0], masks[1], masks[2]

    def draw(self, image, detections, iuv):
        out = image.copy()
        u_lines, v_lines, boundaries = self.line_masks(iuv)
        out[u_lines] = self.u_color
        out[v_lines] = self.v_color
        out[boundaries] = self.boundary_color
        return out

    def legend(self):
        return swatch_panel("contours", [(self.u_color, f"U iso-lines (1/{self.levels})"),
                                         (self.v_color, f"V iso-lines (1/{self.levels})"),
                                         (self.boundary_color, "part boundaries")])


class IUVVisualizer(Visualizer):
    """The IUV image itself as colours: red = I * 10, green = U * 255, blue = V * 255 (opaque)."""

    def draw(self, image, detections, iuv):
        fg = iuv.labels > 0
        colors = np.stack([iuv.uv[1] * 255.0, iuv.uv[0] * 255.0, iuv.labels * 10.0], axis=-1)
        return _blend(image, np.round(colors).astype(np.uint8), fg, alpha=1.0)

    def legend(self):
        return swatch_panel("IUV", [((0, 0, 240), "red = I x 10"), ((0, 255, 0), "green = U x 255"),
                                    ((255, 0, 0), "blue = V x 255")])


class TextureVisualizer(Visualizer):
    """People painted with a 24-part texture atlas through their charts (surface/texture.py); by default the
    atlas the project generates (`labelled_part_atlas`: a hue per part, a U/V checkerboard)."""

    def __init__(self, atlas: Optional[np.ndarray] = None):
        self.atlas = labelled_part_atlas() if atlas is None else atlas

    def draw(self, image, detections, iuv):
        return paint_texture(image, iuv.labels, iuv.uv, self.atlas)


class CompoundVisualizer(Visualizer):
    """Several visualizers drawn one after another on the same image."""

    def __init__(self, parts: Sequence[Visualizer]):
        self.parts = list(parts)

    def draw(self, image, detections, iuv):
        for part in self.parts:
            image = part.draw(image, detections, iuv)
        return image

    def legends(self) -> list[np.ndarray]:
        return [panel for panel in (p.legend() for p in self.parts) if panel is not None]

    def render(self, image: np.ndarray, detections: ImageDetections, iuv: FullImageIUV,
               legend: bool) -> np.ndarray:
        """draw(), then, when `legend`, the legends of all parts to the right (legend.attach_legend)."""
        drawn = self.draw(image, detections, iuv)
        return attach_legend(drawn, self.legends()) if legend else drawn


@VISUALIZER_REGISTRY.register()
def bbox() -> Visualizer:
    return BoxVisualizer()


@VISUALIZER_REGISTRY.register()
def dp_segm() -> Visualizer:
    return PartVisualizer()


@VISUALIZER_REGISTRY.register()
def dp_u() -> Visualizer:
    return ChartVisualizer(channel=0)


@VISUALIZER_REGISTRY.register()
def dp_v() -> Visualizer:
    return ChartVisualizer(channel=1)


@VISUALIZER_REGISTRY.register()
def dp_contour() -> Visualizer:
    return ContourVisualizer()


@VISUALIZER_REGISTRY.register()
def dp_iuv() -> Visualizer:
    return IUVVisualizer()


@VISUALIZER_REGISTRY.register()
def dp_texture() -> Visualizer:
    return TextureVisualizer()


def build_visualizer(names: str) -> CompoundVisualizer:
    """Build the visualizers named in a comma-separated list (e.g. "dp_segm,bbox"), drawn in that order."""
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    known = sorted(name for name, _ in VISUALIZER_REGISTRY)
    unknown = [n for n in chosen if n not in known]
    if not chosen or unknown:
        raise ValueError(f"VISUALIZERS: expected a comma-separated list of {known}, got {names!r}")
    return CompoundVisualizer([VISUALIZER_REGISTRY.get(n)() for n in chosen])
