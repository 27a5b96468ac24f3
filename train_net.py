#!/usr/bin/env python
"""Train or evaluate DensePose R-CNN with detectron2 (glue only; the work is in densepose_ext).

    python train_net.py --config-file configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml
    python train_net.py --config-file CFG --num-gpus 2 MODEL.DEVICE cpu     # 2 gloo processes
    python train_net.py --config-file CFG --eval-only MODEL.WEIGHTS model_final.pth
    python train_net.py --config-file CFG --eval-only MODEL.WEIGHTS W TEST.AUG.ENABLED True   # + flip/scale TTA

`--num-gpus N` starts N processes (on CPU when MODEL.DEVICE is cpu).
"""
import logging
import os
import sys
from collections import OrderedDict

import detectron2.utils.comm as comm
from detectron2.data import build_detection_test_loader, build_detection_train_loader
from detectron2.engine import DefaultTrainer, default_argument_parser, default_setup
from detectron2.evaluation import verify_results

import densepose_ext  # noqa: F401  (registers datasets, ROI heads, teacher, ...)
from densepose_ext.config_files import check_config_inputs, load_config
from densepose_ext.data import DensePoseDatasetMapper
from densepose_ext.engine import build_optimizer, launch
from densepose_ext.evaluation import DensePoseCOCOEvaluator
from densepose_ext.modeling.checkpoint import DensePoseCheckpointer
from densepose_ext.modeling.test_time_augmentation import build_densepose_tta
from densepose_ext.teacher import build_densepose_train_mapper
from densepose_ext.utils.cli_errors import drop_user_error_tracebacks, run_cli


class Trainer(DefaultTrainer):
    """DefaultTrainer with the DensePose mapper and evaluator, SOLVER.OPTIMIZER, and DensePoseCheckpointer."""

    def __init__(self, cfg):
        super().__init__(cfg)
        # resume_or_load loads through self.checkpointer; the PeriodicCheckpointer hook built above keeps
        # detectron2's instance, which saves to the same folder in the same way.
        self.checkpointer = DensePoseCheckpointer.from_config(
            cfg, self.checkpointer.model, cfg.OUTPUT_DIR, **self.checkpointer.checkpointables
        )

    @classmethod
    def build_optimizer(cls, cfg, model):
        return build_optimizer(cfg, model)

    @classmethod
    def build_train_loader(cls, cfg):
        return build_detection_train_loader(cfg, mapper=build_densepose_train_mapper(cfg))

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        return build_detection_test_loader(cfg, dataset_name, mapper=DensePoseDatasetMapper(cfg, False))

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        if output_folder is None:
            output_folder = os.path.join(cfg.OUTPUT_DIR, "inference", dataset_name)
        return DensePoseCOCOEvaluator(cfg, dataset_name, output_folder)

    @classmethod
    def test_with_TTA(cls, cfg, model):
        """Evaluate with TEST.AUG test-time augmentation (modeling/test_time_augmentation.py); results named <task>_TTA,
        written under OUTPUT_DIR/inference_TTA (as detectron2's tools/train_net.py)."""
        evaluators = [cls.build_evaluator(cfg, name, os.path.join(cfg.OUTPUT_DIR, "inference_TTA", name))
                      for name in cfg.DATASETS.TEST]
        res = cls.test(cfg, build_densepose_tta(cfg, model), evaluators)
        return OrderedDict((k + "_TTA", v) for k, v in res.items())


def build_config(args):
    # Before anything is built: a bad file, key or value, or a reference feature not implemented here, is a
    # UserInputError naming the file and the key (config_files.load_config).
    cfg = load_config(args.config_file, args.opts)
    cfg.freeze()
    return cfg


def main(args):
    cfg = build_config(args)
    default_setup(cfg, args)
    if args.eval_only:
        model = Trainer.build_model(cfg)
        checkpointer = DensePoseCheckpointer.from_config(cfg, model, cfg.OUTPUT_DIR)
        checkpointer.resume_or_load(cfg.MODEL.WEIGHTS, resume=args.resume)
        res = Trainer.test(cfg, model)
        if cfg.TEST.AUG.ENABLED:
            res.update(Trainer.test_with_TTA(cfg, model))
        if comm.is_main_process():
            verify_results(cfg, res)
        return res
    # detectron2's train loop logs any exception with its traceback before re-raising it; a user error (e.g. an
    # image the mapper cannot read, in a DataLoader worker) is printed once by run_cli instead.
    logging.getLogger("detectron2.engine.train_loop").addFilter(drop_user_error_tracebacks)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


def cli(argv=None) -> None:
    """The command line. The config and what it names are checked here, once, before `launch` starts processes."""
    args = default_argument_parser().parse_args(argv)
    print("Command Line Args:", args)
    cfg = build_config(args)
    # --resume loads OUTPUT_DIR's last checkpoint when there is one, so MODEL.WEIGHTS may legitimately be unused.
    check_config_inputs(cfg, args.config_file, weights=not args.resume)
    launch(
        main,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
        device=cfg.MODEL.DEVICE,
    )


if __name__ == "__main__":
    sys.exit(run_cli(cli, "train_net.py"))
