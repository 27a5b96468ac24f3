"""Visualizers and full-image IUV/INDS compositing of DensePose predictions."""
from densepose_ext.vis import confidence  # noqa: F401  registers dp_uv_std
from densepose_ext.vis.iuv_image import FullImageIUV, composite_iuv, iuv_png_arrays
from densepose_ext.vis.visualizers import VISUALIZER_REGISTRY, Visualizer, build_visualizer

__all__ = ["FullImageIUV", "composite_iuv", "iuv_png_arrays", "VISUALIZER_REGISTRY", "Visualizer",
           "build_visualizer"]
