#!/usr/bin/env python
"""Train (and evaluate) the DensePose R-CNN student on densified teacher labels with train_net.py's Trainer.

    python bench/teacher_student_train.py --config-file configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml \
        DENSEPOSE_TEACHER.DENSE_LABELS_DIR DIR [other overrides]

Same arguments as train_net.py. The only difference: the training mapper comes from
densepose_ext.teacher.build_densepose_train_mapper(cfg), which reads DENSEPOSE_TEACHER.* (train_net.py keeps
the sparse-point mapper until it picks the mapper the same way). Used by docs/RESULTS_teacher.md.
"""
import os
import sys

from detectron2.data import build_detection_train_loader
from detectron2.engine import default_argument_parser

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train_net  # noqa: E402  (the repository's training entry point)

from densepose_ext.teacher import build_densepose_train_mapper  # noqa: E402


class StudentTrainer(train_net.Trainer):
    @classmethod
    def build_train_loader(cls, cfg):
        return build_detection_train_loader(cfg, mapper=build_densepose_train_mapper(cfg))


if __name__ == "__main__":
    args = default_argument_parser().parse_args()
    train_net.Trainer = StudentTrainer  # main() builds `Trainer` by name
    train_net.launch(
        train_net.main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
        dist_url=args.dist_url, args=(args,), device=train_net.build_config(args).MODEL.DEVICE,
    )
