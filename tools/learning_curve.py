#!/usr/bin/env python
"""Accuracy of a training run's checkpoints on the DensePose-Synth val split, as a learning curve.

    python tools/learning_curve.py MODEL_DIR --data DATA_ROOT [--config CFG] [--every 1000] [--out DIR]

For every checkpoint model_NNNNNNN.pth of MODEL_DIR at iteration (k * EVERY - 1), and model_final.pth, the
demo's evaluation (tools/demo.py: GPS / GPSm AP with both kappa modes, AUC10/AUC30, box AP) on
DATA_ROOT/densepose_synth/val, plus part accuracy at the annotated points on ground-truth boxes
(tools/table1_gt_boxes.py), against training iterations and training minutes (the sum of the step times
detectron2 logged in MODEL_DIR/metrics.json). One row per checkpoint is printed as a Markdown table and written
to OUT/curve.json; each checkpoint's evaluation and row are kept under OUT/iter_NNNNNNN/ and reused when rerun,
so the curve of a run still training can be extended as its checkpoints appear.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import DatasetCatalog
from detectron2.modeling import build_model

from demo import VAL_DATASET, Demo  # this script's own folder is on sys.path
from pretrain import DEFAULT_CONFIG
from table1_gt_boxes import _inputs, _score


def checkpoints(model_dir: Path, every: int) -> list[tuple[int, Path]]:
    """(iteration, path) of the checkpoints to score, by iteration. model_final counts as the last iteration."""
    found = []
    for path in model_dir.glob("model_*.pth"):
        match = re.fullmatch(r"model_(\d+)\.pth", path.name)
        if match and (int(match.group(1)) + 1) % every == 0:
            found.append((int(match.group(1)) + 1, path))
    final = model_dir / "model_final.pth"
    if final.is_file():
        last = torch.load(final, map_location="cpu", weights_only=False).get("iteration", -1) + 1
        found = [(it, p) for it, p in found if it != last] + [(last, final)]
    return sorted(found)


def training_minutes(model_dir: Path) -> dict[int, float]:
    """Iteration -> minutes of training up to it: detectron2 logs the mean step time every 20 iterations."""
    rows = [json.loads(line) for line in (model_dir / "metrics.json").read_text().splitlines() if line.strip()]
    rows = sorted({r["iteration"]: r for r in rows if "time" in r}.values(), key=lambda r: r["iteration"])
    minutes, total, previous = {}, 0.0, -1
    for row in rows:
        total += row["time"] * (row["iteration"] - previous) / 60
        minutes[row["iteration"] + 1] = total
        previous = row["iteration"]
    return minutes


def nearest(minutes: dict[int, float], iteration: int) -> float:
    return minutes[min(minutes, key=lambda it: abs(it - iteration))] if minutes else float("nan")


def score_checkpoint(args: argparse.Namespace, iteration: int, weights: Path) -> dict:
    """The curve's row of one checkpoint, kept as OUT/iter_NNNNNNN/row.json and reused while newer than it."""
    saved = args.out / f"iter_{iteration:07d}" / "row.json"
    if saved.is_file() and saved.stat().st_mtime >= weights.stat().st_mtime:
        return json.loads(saved.read_text())
    row = _score_checkpoint(args, iteration, weights)
    tmp = saved.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(row))
    tmp.replace(saved)
    return row


def _score_checkpoint(args: argparse.Namespace, iteration: int, weights: Path) -> dict:
    run = Demo(args.out / f"iter_{iteration:07d}", args.config, 0, 100, "320x240", [], 1, 0.5)
    run.data_root, run.weights = args.data.resolve(), weights.resolve()
    metrics = run.evaluate()
    run.register_val()  # evaluate() does it only when it does not reuse earlier metrics
    cfg = run.cfg()
    model = build_model(cfg)
    DetectionCheckpointer(model).load(str(weights))
    model.eval()
    samples = list(_inputs(DatasetCatalog.get(VAL_DATASET), cfg.INPUT.FORMAT))
    accuracy, du, dv, points = _score(model, samples)
    return {"iteration": iteration, "GPS AP global": metrics["kappa"]["global"]["GPS"]["AP"],
            "GPSm AP global": metrics["kappa"]["global"]["GPSm"]["AP"],
            "GPS AP per-part": metrics["kappa"]["per-part"]["GPS"]["AP"],
            "AUC10": metrics["pointwise"]["AUC10"], "AUC30": metrics["pointwise"]["AUC30"],
            "box AP": metrics["bbox"]["AP"], "part accuracy (GT boxes)": accuracy, "mean |dU|": du,
            "mean |dV|": dv, "points": points}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data", type=Path, required=True, help="folder holding densepose_synth/val")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None, help="default MODEL_DIR/../curve")
    args = parser.parse_args()
    args.out = args.out or args.model_dir.parent / "curve"
    minutes = training_minutes(args.model_dir)
    rows = []
    for iteration, weights in checkpoints(args.model_dir, args.every):
        row = score_checkpoint(args, iteration, weights)
        row["training minutes"] = round(nearest(minutes, iteration), 1)
        rows.append(row)
        args.out.mkdir(parents=True, exist_ok=True)
        tmp = args.out / "curve.json.tmp"
        tmp.write_text(json.dumps(rows, indent=1))
        tmp.replace(args.out / "curve.json")
    keys = ["iteration", "training minutes", "part accuracy (GT boxes)", "AUC10", "AUC30", "GPS AP global",
            "GPSm AP global", "GPS AP per-part", "box AP"]
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{row[k]:.3f}" if isinstance(row[k], float) else str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
