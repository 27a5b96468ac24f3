#!/usr/bin/env python
"""Train the DensePose-Synth model that the project ships (densepose_ext/model_zoo, docs/MODEL_CARD.md).

    python tools/pretrain.py [--out pretrain_output] [--num-train 4000] [--workers 2] [--resume]
                             [--export densepose_ext/model_zoo] [KEY VALUE ...]

Steps (tools/demo.py's, with the pretraining configs and a training split of its own seed):
  1. data      DensePose-Synth 320x240: OUT/data/densepose_synth/train (seed 2), val (seed 1, the demo's)
  2. train     stage 1: train_net.py on configs/synth/densepose_rcnn_R_18ish_FPN_pretrain.yaml -> OUT/model/;
               dense truth: every person cell of the training split labelled from its rendered IUV
               -> OUT/dense_truth_labels/ (python -m densepose_ext.teacher densify --dense-truth);
               stage 2: ..._pretrain_stage2.yaml from stage 1's model_final.pth, those labels added to the points
               -> OUT/stage2/ (the learning-rate schedule restarted). A checkpoint every 500 iterations;
               detectron2's log lines carry the ETA. An interrupted run continues with --resume; without it an
               output folder that already holds checkpoints is refused (no work is lost). KEY VALUE overrides go
               to both stages.
  3. evaluate  GPS / GPSm / mask-IoU AP with both kappa modes, AUC10/AUC30, box AP of the stage-2 model on the
               val split -> OUT/metrics.json
  4. export    with --export DIR: DIR/densepose_synth_R18ish_FPN.pth (the model's weights alone, float32) and
               DIR/densepose_synth_R18ish_FPN.yaml (the recipe as changes to the defaults), the pair the
               package ships.
Runs on a GPU with the same code: `MODEL.DEVICE cuda`.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Optional, Sequence

import torch
import yaml

from demo import REPO, Demo, log, run_cmd  # this script's own folder is on sys.path

DEFAULT_CONFIG = REPO / "configs" / "synth" / "densepose_rcnn_R_18ish_FPN_pretrain.yaml"
STAGE2_CONFIG = REPO / "configs" / "synth" / "densepose_rcnn_R_18ish_FPN_pretrain_stage2.yaml"
# its crop size (64) is the resolution of the dense-truth labels stage 2 trains on
TEACHER_CONFIG = REPO / "configs" / "teacher" / "densepose_teacher_synth_cpu.yaml"
TRAIN_SEED = 2  # the demo's fine-tune trains on seed 0: the shipped model has not seen those images
SHIPPED_STEM = "densepose_synth_R18ish_FPN"


def refuse_fresh_start_over_checkpoints(model_dir: Path, resume: bool) -> None:
    """Stop before a new run would overwrite the checkpoints of an earlier one in `model_dir`."""
    if not resume and (model_dir / "last_checkpoint").is_file():
        raise SystemExit(f"pretrain.py: {model_dir} holds checkpoints of an earlier run; pass --resume to continue "
                         f"it, or choose another --out")


def densify_dense_truth(run: Demo, labels: Path) -> None:
    """Label every person cell of `run`'s training split from its rendered dense truth into `labels` (the teacher
    pipeline's oracle labeller, docs/RESULTS_teacher.md); a rerun skips the images already labelled."""
    run_cmd(["-m", "densepose_ext.teacher", "densify", "--config", TEACHER_CONFIG, "--dense-truth",
             "--dataset", "densepose_synth_train", "--out", labels, "--no-progress"], env=run.env())


def export_weights(checkpoint: Path, cfg, out_dir: Path, stem: str = SHIPPED_STEM) -> tuple[Path, Path]:
    """Write `stem`.pth (the `model` tensors of a detectron2 checkpoint, float32 as trained: float16 halves the
    file but moved the val GPS AP from 20.1 to 19.99, across the floor) and `stem`.yaml (the keys where `cfg`
    differs from the defaults, no _BASE_, without the run's paths: MODEL.WEIGHTS, OUTPUT_DIR and the dense-label
    folder of the training machine) into `out_dir`. Returns both paths."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]
    out_dir.mkdir(parents=True, exist_ok=True)
    weights, config = out_dir / f"{stem}.pth", out_dir / f"{stem}.yaml"
    tmp = weights.with_suffix(".pth.tmp")
    torch.save({"model": state, "__author__": "densepose_ext tools/pretrain.py"}, tmp)
    tmp.replace(weights)
    recipe = config_changes(cfg, default_config())
    recipe.get("MODEL", {}).pop("WEIGHTS", None)
    recipe.pop("OUTPUT_DIR", None)
    recipe.pop("DENSEPOSE_TEACHER", None)  # only DENSE_LABELS_DIR differs: fine-tuning trains on the points
    recipe["VERSION"] = cfg.VERSION  # detectron2 warns about config files that do not state it
    header = (f"# {stem}: the recipe of the shipped weights (docs/MODEL_CARD.md), as changes to the defaults;\n"
              "# its last stage also trained on DensePose-Synth's dense truth (tools/pretrain.py)\n")
    config.write_text(header + yaml.safe_dump(recipe, sort_keys=True))
    return weights, config


def default_config():
    """detectron2's defaults with the DensePose keys: what a shipped config is merged into."""
    from detectron2.config import get_cfg

    from densepose_ext.config import add_densepose_config

    cfg = get_cfg()
    add_densepose_config(cfg)
    return cfg


def config_changes(cfg, default) -> dict:
    """The keys of `cfg` whose values differ from `default`, as nested plain dicts (a config file that only
    states its recipe keeps loading when keys it does not use are added to or dropped from the defaults)."""
    changes = {}
    for key, value in cfg.items():
        base = default.get(key)
        if hasattr(value, "items") and hasattr(base, "items"):
            nested = config_changes(value, base)
            if nested:
                changes[key] = nested
        elif value != base:
            changes[key] = list(value) if isinstance(value, tuple) else value
    return changes


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "pretrain_output")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="stage 1")
    parser.add_argument("--stage2-config", type=Path, default=STAGE2_CONFIG,
                        help="stage 2, started from stage 1's final weights")
    parser.add_argument("--num-train", type=int, default=4000)
    parser.add_argument("--num-val", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="synthetic data processes")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted run in OUT/model, OUT/stage2")
    parser.add_argument("--export", type=Path, default=None,
                        help="folder for the shipped weights + config (densepose_ext/model_zoo to ship them)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()

    def stage(config: Path, opts: Sequence[str], model_dir: Optional[Path] = None) -> Demo:
        return Demo(args.out, config, args.num_train, args.num_val, "320x240", opts, args.workers, min_score=0.5,
                    train_seed=TRAIN_SEED, model_dir=model_dir)

    labels = args.out.resolve() / "dense_truth_labels"
    stage1 = stage(args.config, args.opts)
    stage2 = stage(args.stage2_config, [*args.opts, "MODEL.WEIGHTS", str(stage1.weights),
                                        "DENSEPOSE_TEACHER.DENSE_LABELS_DIR", str(labels)], args.out / "stage2")
    for run in (stage1, stage2):
        refuse_fresh_start_over_checkpoints(run.model_dir, args.resume or run.weights.is_file())
    stage1.data()
    stage1.train()
    if not stage2.weights.is_file():  # a finished stage 2 needs no labels
        densify_dense_truth(stage2, labels)
    stage2.train()
    metrics = stage2.evaluate()
    log(f"pretrain: GPS AP (global kappa) {metrics['kappa']['global']['GPS']['AP']}, "
        f"AUC30 {metrics['pointwise']['AUC30']}, box AP {metrics['bbox']['AP']}; "
        f"{(time.perf_counter() - start) / 60:.1f} min")
    if args.export is not None:
        for path in export_weights(stage2.weights, stage2.cfg(), args.export):
            log(f"export: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return metrics


if __name__ == "__main__":
    main()
