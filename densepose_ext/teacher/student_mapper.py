"""The student side of distillation: the DensePose mapper, supervising with densified teacher labels.

`DenseLabelsDatasetMapper` draws, every time an image is loaded, `points_per_person` dense teacher points of
each annotated person (labels.py, box-256 frame) and adds them to the annotation's sparse points or replaces
them, before the parent mapper turns the points into `DensePoseTargets` (image px, all augmentations applied,
flip mirrored through the surface). The DensePose losses are unchanged: dense labels are just many points.
"""
from __future__ import annotations

from detectron2.config import configurable
from fvcore.transforms.transform import Transform

from densepose_ext.data import DensePoseDatasetMapper
from densepose_ext.data.validate import DP_POINT_FIELDS

from .labels import DenseLabels, sample_box256_points


class DenseLabelsDatasetMapper(DensePoseDatasetMapper):
    """`DensePoseDatasetMapper` whose training points include (or are) samples of the teacher's dense labels.

    Extra keyword arguments: `dense_labels` (DenseLabels), `points_per_person` (>= 1), `keep_sparse_points`.
    People without dense labels (no coarse mask when densified) keep their sparse points.
    """

    @configurable
    def __init__(self, *, dense_labels: DenseLabels, points_per_person: int, keep_sparse_points: bool, **kwargs):
        super().__init__(**kwargs)
        if points_per_person < 1:
            raise ValueError(f"DENSEPOSE_TEACHER.POINTS_PER_PERSON: expected >= 1, got {points_per_person}")
        self.dense_labels = dense_labels
        self.points_per_person = points_per_person
        self.keep_sparse_points = keep_sparse_points

    @classmethod
    def from_config(cls, cfg, is_train: bool = True) -> dict:
        t = cfg.DENSEPOSE_TEACHER
        return {
            **super().from_config(cfg, is_train),
            "dense_labels": DenseLabels(t.DENSE_LABELS_DIR),
            "points_per_person": t.POINTS_PER_PERSON,
            "keep_sparse_points": t.KEEP_SPARSE_POINTS,
        }

    def with_dense_points(self, annotation: dict) -> dict:
        """A copy of `annotation` (with `id`) whose dp_* point fields hold the drawn dense points (after its own
        sparse points when `keep_sparse_points`); the annotation itself when it has no dense labels."""
        iuv = self.dense_labels.iuv(annotation["id"]) if "id" in annotation else None
        if iuv is None:
            return annotation
        dense = sample_box256_points(iuv, self.points_per_person)
        if self.keep_sparse_points and "dp_x" in annotation:
            dense = {f: list(annotation[f]) + dense[f] for f in DP_POINT_FIELDS}
        return {**annotation, **dense}

    def _transform_annotations(self, dataset_dict: dict, transforms: Transform, image_shape: tuple) -> None:
        # The parent copied dataset_dict, so the annotations can be replaced in place.
        dataset_dict["annotations"] = [self.with_dense_points(a) for a in dataset_dict["annotations"]]
        super()._transform_annotations(dataset_dict, transforms, image_shape)


def build_densepose_train_mapper(cfg) -> DensePoseDatasetMapper:
    """The training mapper a config asks for: dense teacher labels when DENSEPOSE_TEACHER.DENSE_LABELS_DIR is
    set, the sparse-point mapper otherwise."""
    if cfg.DENSEPOSE_TEACHER.DENSE_LABELS_DIR:
        return DenseLabelsDatasetMapper(cfg, True)
    return DensePoseDatasetMapper(cfg, True)
