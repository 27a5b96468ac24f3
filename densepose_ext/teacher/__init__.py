"""The teacher ("inpainting") pipeline of paper Sec. 3.4: learn dense supervision from sparse points.

1. `DensePoseTeacher` (model.py, META_ARCH "DensePoseTeacher"): an FCN on scale-normalised person crops with the
   background grayed out, trained with the student's point losses (configs/teacher/*.yaml, train_net.py).
2. `python -m densepose_ext.teacher densify` (densify.py): dense I/U/V labels inside every person mask.
3. `DenseLabelsDatasetMapper` (student_mapper.py): the student trains on those labels, sampled at
   DENSEPOSE_TEACHER.POINTS_PER_PERSON points per person, with or without the sparse points.

Importing this package registers the meta-architecture; it reads no files.
"""
from .config import add_teacher_config
from .labels import DenseLabels, sample_box256_points
from .model import DensePoseTeacher
from .student_mapper import DenseLabelsDatasetMapper, build_densepose_train_mapper

__all__ = [
    "DenseLabels",
    "DenseLabelsDatasetMapper",
    "DensePoseTeacher",
    "add_teacher_config",
    "build_densepose_train_mapper",
    "sample_box256_points",
]
