#!/usr/bin/env python
"""`make demo`: the whole mission on one CPU machine, nothing downloaded.

    python tools/demo.py [--scratch] [--out demo_output]
                         [--config configs/demo/densepose_rcnn_R_18ish_FPN_finetune.yaml]
                         [--num-train 600] [--num-val 100] [--size 320x240] [KEY VALUE ...]

Steps, each skipped when its outputs exist (so a rerun resumes where the last run stopped):
  1. data      python -m densepose_ext.synth -> OUT/data/densepose_synth/{train,val}  (resumes per image)
  2. train     train_net.py on the demo config -> OUT/model/model_final.pth          (resumes from checkpoints):
               by default a short fine-tune of the shipped model (docs/MODEL_CARD.md); with --scratch the
               demo recipe from random weights (configs/demo/densepose_rcnn_R_18ish_FPN_demo.yaml)
  3. evaluate  GPS / GPSm / mask-IoU AP (global and per-part kappa), AUC10/AUC30, box AP on the val split
               -> OUT/metrics.json, OUT/eval/*.json, OUT/rcp.png
  4. apply     apply_net.py on held-out val images and scikit-image's astronaut photograph
               -> OUT/vis/<name>.png (parts, U/V iso-lines, boxes, legend), OUT/iuv/<name>_{IUV,INDS}.png,
                  OUT/dump/<name>.npz
Then a short summary with the numbers and paths is printed. `KEY VALUE` pairs override the config (train,
evaluation and apply alike). Glue only: the work is done by the project's CLIs and densepose_ext.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO / "configs" / "demo" / "densepose_rcnn_R_18ish_FPN_finetune.yaml"  # from the shipped model
SCRATCH_CONFIG = REPO / "configs" / "demo" / "densepose_rcnn_R_18ish_FPN_demo.yaml"  # from random weights
VAL_DATASET = "densepose_demo_val"
# The accuracy the demo model must reach on the val split, global kappa.
FLOOR = {"GPS AP": 20.0, "AUC30": 0.4}
# The val images apply_net is shown (held out: the val split has its own seed).
NUM_SHOWN_VAL_IMAGES = 4


def log(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_cmd(cmd: Sequence[str], env: Optional[dict] = None) -> None:
    """Run a project CLI with the demo's interpreter, its output streaming through (progress bars, logs)."""
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([sys.executable, *map(str, cmd)], check=True, cwd=REPO, env=env)


class Demo:
    """Paths and settings of one demo run under `out`; each public method is one resumable step."""

    def __init__(self, out: Path, config: Path, num_train: int, num_val: int, size: str, opts: Sequence[str],
                 workers: int, min_score: float, train_seed: int = 0, model_dir: Optional[Path] = None) -> None:
        self.out, self.config, self.opts = out.resolve(), config.resolve(), list(opts)
        self.num = {"train": num_train, "val": num_val}
        # the val split (seed 1) is the same for every run, so that the demo and the shipped model are scored
        # on one held-out set; the training split's seed lets pretraining and the demo's fine-tune differ
        self.seed = {"train": train_seed, "val": 1}
        self.size, self.workers, self.min_score = size, workers, min_score
        self.data_root = self.out / "data"
        self.model_dir = self.out / "model" if model_dir is None else model_dir.resolve()
        self.weights = self.model_dir / "model_final.pth"
        self.metrics = self.out / "metrics.json"

    def split_dir(self, split: str) -> Path:
        return self.data_root / "densepose_synth" / split

    def env(self) -> dict:
        """The environment of the project's CLIs: DENSEPOSE_DATA names this run's data folder."""
        return dict(os.environ, DENSEPOSE_DATA=str(self.data_root))

    # ---- 1. data ----
    def data(self) -> None:
        for split, seed in self.seed.items():
            if num_images(self.split_dir(split) / "annotations.json") >= self.num[split]:
                log(f"data: {self.split_dir(split)} has {self.num[split]} images, reused")
                continue
            run_cmd(["-m", "densepose_ext.synth", "--out", self.split_dir(split), "--num-images", self.num[split],
                     "--seed", seed, "--size", self.size, "--workers", self.workers])

    # ---- 2. train ----
    def train(self) -> None:
        if self.weights.is_file():
            log(f"train: {self.weights} exists, reused")
            return
        # --resume continues from the last checkpoint of an interrupted run
        run_cmd(["train_net.py", "--config-file", self.config, "--resume", "OUTPUT_DIR", self.model_dir,
                 *self.opts], env=self.env())

    # ---- 3. evaluate ----
    def cfg(self):
        from detectron2.config import get_cfg

        from densepose_ext.config import add_densepose_config

        cfg = get_cfg()
        add_densepose_config(cfg)
        cfg.merge_from_file(str(self.config))
        cfg.merge_from_list(self.opts)
        cfg.MODEL.WEIGHTS = str(self.weights)
        return cfg

    def register_val(self) -> Path:
        """Register the val split as VAL_DATASET (once per process, on the anny surface); its annotation file."""
        from detectron2.data import DatasetCatalog

        from densepose_ext.data import register_densepose_coco
        from densepose_ext.data.datasets import SYNTH_SURFACE

        gt_file = self.split_dir("val") / "annotations.json"
        if VAL_DATASET not in DatasetCatalog.list():
            register_densepose_coco(VAL_DATASET, str(gt_file), str(self.split_dir("val") / "images"), SYNTH_SURFACE)
        return gt_file

    def evaluate(self) -> dict:
        if self.metrics.is_file() and self.metrics.stat().st_mtime >= self.weights.stat().st_mtime:
            log(f"evaluate: {self.metrics} is newer than the model, reused")
            return json.loads(self.metrics.read_text())
        import torch
        from detectron2.checkpoint import DetectionCheckpointer
        from detectron2.data import build_detection_test_loader
        from detectron2.evaluation import inference_on_dataset
        from detectron2.modeling import build_model
        from detectron2.utils.logger import setup_logger

        import densepose_ext.modeling  # noqa: F401  (registers DensePoseROIHeads)
        from densepose_ext.data import DensePoseDatasetMapper
        from densepose_ext.data.dataset_surface import dataset_surface
        from densepose_ext.evaluation import DensePoseCOCOEvaluator
        from densepose_ext.evaluation.evaluate import evaluate_densepose
        from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
        from densepose_ext.evaluation.report import format_table, plot_rcp
        from densepose_ext.evaluation.results_file import load_results, write_json

        gt_file = self.register_val()
        setup_logger(name="detectron2")  # inference_on_dataset's progress lines
        cfg = self.cfg()
        model = build_model(cfg)
        DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
        eval_dir = self.out / "eval"
        # the loader first: loading the dataset records its category mapping, which the evaluator reads
        loader = build_detection_test_loader(cfg, VAL_DATASET, mapper=DensePoseDatasetMapper(cfg, False))
        evaluator = DensePoseCOCOEvaluator(VAL_DATASET, output_dir=str(eval_dir), distributed=False,
                                           kappa_mode="global")
        log(f"evaluate: {self.num['val']} val images (detectron2 logs progress)")
        start = time.perf_counter()
        with torch.no_grad():
            d2_results = inference_on_dataset(model, loader, evaluator)
        seconds = time.perf_counter() - start
        reports = {"global": json.loads((eval_dir / "densepose_report.json").read_text())}
        # the same predictions scored with the reference evaluator's per-part kappa
        with open(gt_file) as f:
            gt = DensePoseGroundTruth(json.load(f), str(gt_file))
        reports["per-part"] = evaluate_densepose(gt, load_results(str(eval_dir / "densepose_results.json")), "per-part",
                                                 dataset_surface(VAL_DATASET).load().geodesic,
                                                 source="demo model on the val split")
        write_json(str(eval_dir / "densepose_report_per_part.json"), reports["per-part"])
        for report in reports.values():
            print(format_table(report), flush=True)
        plot_rcp(reports["global"], str(self.out / "rcp.png"))
        metrics = summarize(reports, d2_results.get("bbox", {}), seconds)
        write_json(str(self.metrics), metrics)
        return metrics

    # ---- 4. apply ----
    def _apply_outputs(self, name: str) -> list[Path]:
        return [self.out / "dump" / f"{name}.npz", self.out / "iuv" / f"{name}_IUV.png",
                self.out / "iuv" / f"{name}_INDS.png", self.out / "vis" / f"{name}.png"]

    def apply(self) -> None:
        inputs = self.out / "inputs"
        inputs.mkdir(parents=True, exist_ok=True)
        val_images = sorted((self.split_dir("val") / "images").glob("*.jpg"))[:NUM_SHOWN_VAL_IMAGES]
        for path in val_images:
            if not (inputs / f"val_{path.name}").is_file():
                shutil.copyfile(path, inputs / f"val_{path.name}")
        if not (inputs / "astronaut.png").is_file():
            write_astronaut(inputs / "astronaut.png")
        outputs = [p for name in sorted(p.stem for p in inputs.iterdir()) for p in self._apply_outputs(name)]
        if all(p.is_file() and p.stat().st_mtime >= self.weights.stat().st_mtime for p in outputs):
            log(f"apply: pictures and IUV images of {inputs} exist, reused")
            return
        # a fresh model's pictures replace those of an earlier one (apply_net resumes by file name only)
        for p in outputs:
            if p.is_file() and p.stat().st_mtime < self.weights.stat().st_mtime:
                p.unlink()
        common = [self.config, self.weights, inputs]
        flags = ["--min-score", str(self.min_score), *self.opts]
        run_cmd(["apply_net.py", "dump", *common, "--output", self.out / "dump", "--format", "npz",
                 "--iuv-dir", self.out / "iuv", *flags])
        # part colours with U/V iso-lines on top, boxes and scores, and a legend panel
        run_cmd(["apply_net.py", "show", *common, "dp_segm,dp_contour,bbox", "--legend", "--output",
                 self.out / "vis", *flags])


def num_images(annotation_file: Path) -> int:
    """Images listed in a DensePose-COCO file; 0 when it does not exist (the generator writes it last)."""
    if not annotation_file.is_file():
        return 0
    with open(annotation_file) as f:
        return len(json.load(f)["images"])


def write_astronaut(path: Path) -> None:
    """scikit-image's astronaut photograph (Eileen Collins; ships inside the package, public domain) as PNG."""
    import cv2
    from skimage import data

    cv2.imwrite(str(path), data.astronaut()[:, :, ::-1])


def summarize(reports: dict, bbox: dict, seconds: float) -> dict:
    """The demo's headline numbers: per kappa mode, the instance metrics' AP/AP50/AP75; pointwise AUC10/AUC30
    (fractions in [0, 1]); detectron2's box AP (percent)."""
    def instance(report: dict, metric: str) -> dict:
        return {k: report[metric][k] for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")}

    out = {"kappa": {}, "bbox": {k: bbox.get(k) for k in ("AP", "AP50", "AP75")}, "eval_seconds": round(seconds, 1)}
    for mode, report in reports.items():
        out["kappa"][mode] = {"kappa": report["kappa"], "GPS": instance(report, "GPS"),
                              "GPSm": instance(report, "GPSm")}
    global_report = reports["global"]
    out["pointwise"] = {k: global_report["pointwise"][k] for k in ("AUC10", "AUC30")}
    out["pointwise"]["num_points"] = global_report["pointwise"]["num_points"]
    out["num_images"], out["num_people"] = global_report["num_images"], global_report["num_people"]
    out["num_detections"] = global_report["num_detections"]
    return out


def _fmt(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def check_floor(metrics: dict) -> list[str]:
    """The ways `metrics` miss the accuracy floor of the demo (empty when it is met)."""
    values = {"GPS AP": metrics["kappa"]["global"]["GPS"]["AP"], "AUC30": metrics["pointwise"]["AUC30"]}
    return [f"{name} {_fmt(values[name], 3)} < {floor}" for name, floor in FLOOR.items()
            if values[name] is None or values[name] < floor]


def print_summary(demo: Demo, metrics: dict, minutes: float) -> None:
    g, p = metrics["kappa"]["global"], metrics["kappa"]["per-part"]
    missed = check_floor(metrics)
    lines = [
        f"DensePose demo finished in {minutes:.1f} min. Val split: {metrics['num_images']} images, "
        f"{metrics['num_people']} people.",
        f"  GPS  AP (global kappa {g['kappa']['value']} m): {_fmt(g['GPS']['AP'])}   "
        f"GPSm AP: {_fmt(g['GPSm']['AP'])}",
        f"  GPS  AP (per-part kappa):           {_fmt(p['GPS']['AP'])}   GPSm AP: {_fmt(p['GPSm']['AP'])}",
        f"  AUC10 {_fmt(metrics['pointwise']['AUC10'], 3)}  AUC30 {_fmt(metrics['pointwise']['AUC30'], 3)} "
        f"over {metrics['pointwise']['num_points']} annotated points;  box AP {_fmt(metrics['bbox']['AP'])}",
        "  floor (GPS AP >= 20, AUC30 >= 0.4): " + ("met" if not missed else "MISSED: " + ", ".join(missed)),
        f"  metrics      {demo.metrics}",
        f"  RCP plot     {demo.out / 'rcp.png'}",
        f"  pictures     {demo.out / 'vis'}/ (astronaut.png, val_*.png)",
        f"  IUV PNGs     {demo.out / 'iuv'}/",
        f"  model        {demo.weights}",
    ]
    print("\n".join(lines), flush=True)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="default demo_output (demo_output_scratch)")
    parser.add_argument("--config", type=Path, default=None,
                        help=f"default {DEFAULT_CONFIG.relative_to(REPO)} ({SCRATCH_CONFIG.relative_to(REPO)})")
    parser.add_argument("--scratch", action="store_true",
                        help="train from random weights instead of fine-tuning the shipped model (~13 min)")
    parser.add_argument("--num-train", type=int, default=600)
    parser.add_argument("--num-val", type=int, default=100)
    parser.add_argument("--size", default="320x240", help="synthetic image WIDTHxHEIGHT")
    parser.add_argument("--workers", type=int, default=2, help="synthetic data processes")
    # apply_net's default, 0.8, would hide most people from a ten-minute model
    parser.add_argument("--min-score", type=float, default=0.5, help="score threshold of apply_net's detections")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = REPO / ("demo_output_scratch" if args.scratch else "demo_output")
    if args.config is None:
        args.config = SCRATCH_CONFIG if args.scratch else DEFAULT_CONFIG
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    demo = Demo(args.out, args.config, args.num_train, args.num_val, args.size, args.opts, args.workers,
                args.min_score)
    demo.data()
    demo.train()
    metrics = demo.evaluate()
    demo.apply()
    print_summary(demo, metrics, (time.perf_counter() - start) / 60)
    return metrics


if __name__ == "__main__":
    main()
