"""Config keys of the teacher ("inpainting") pipeline (paper Sec. 3.4), added by `add_teacher_config`.

Two groups:
- MODEL.DENSEPOSE_TEACHER: the teacher network (META_ARCHITECTURE "DensePoseTeacher", model.py).
- DENSEPOSE_TEACHER: the student side, i.e. how the mapper uses densified labels (student_mapper.py).
"""
from __future__ import annotations

from detectron2.config import CfgNode as CN


def add_teacher_config(cfg: CN) -> None:
    """Add the teacher keys with their defaults to `cfg` (in place)."""
    t = cfg.MODEL.DENSEPOSE_TEACHER = CN()
    # Side S of the person crops: every person box is resampled to S x S (scale normalisation), and the
    # teacher predicts at S x S in that box frame (the resolution of the densified labels).
    t.CROP_SIZE = 64
    # Channels of the encoder levels at S, S/2, S/4 (a small U-Net; the decoder mirrors them).
    t.CHANNELS = [32, 64, 128]
    t.NORM = "GN"

    s = cfg.DENSEPOSE_TEACHER = CN()
    # Directory written by `python -m densepose_ext.teacher densify`; "" trains on the sparse points only.
    s.DENSE_LABELS_DIR = ""
    # Dense teacher points drawn per person per iteration (uniformly among the labelled pixels of its
    # crop, fresh each time the image is loaded): the sampling density of the dense supervision.
    s.POINTS_PER_PERSON = 200
    # True: dense points are added to the annotated sparse points; False: they replace them.
    s.KEEP_SPARSE_POINTS = True
