"""densepose_ext: DensePose for detectron2.

Importing the package registers its detectron2 plugins (ROI heads, datasets, evaluator); it reads no files.
"""
__version__ = "0.1.0"
