#!/usr/bin/env python
"""Print the Table 1 experiment as a Markdown table from the training runs' output folders.

    python tools/table1_report.py RUNS_DIR [--dataset densepose_synth_val]

RUNS_DIR holds one OUTPUT_DIR per row (base, masks, keypoints, st_cascade, cascade_masks, cascade_keypoints),
each with the evaluator's `inference/DATASET/densepose_report.json`, detectron2's `metrics.json` and `log.txt`.
Columns: GPS AP / AP50 / AP75 / AR and GPSm AP (percent, the report's kappa), the pointwise AUC10 / AUC30
(fractions, as in the paper), detectron2's box AP (percent, the last "copypaste: Task: bbox" block of log.txt),
the number of detections, the last stage's DensePose losses (I = fine parts, S = coarse segmentation) averaged
over the last 10 logged iterations, the iterations trained and the training seconds per iteration (same mean),
and the row's wall time in minutes when tools/table1_run.sh left RUNS_DIR/ROW.wall (training + evaluation).
"""
import argparse
import json
import os

ROWS = (
    ("base", "DensePose R-CNN (single task)"),
    ("masks", "multi-task: + masks"),
    ("keypoints", "multi-task: + keypoints"),
    ("st_cascade", "cascade: DensePose-ST"),
    ("cascade_masks", "cascade: + masks"),
    ("cascade_keypoints", "cascade: + keypoints"),
)
COLUMNS = ("GPS AP", "AP50", "AP75", "GPS AR", "GPSm AP", "AUC10", "AUC30", "box AP", "detections",
           "loss I", "loss S", "iters", "s/iter", "wall min")


def _training_summary(metrics_file: str, last: int = 10) -> dict:
    """Mean of the last `last` logged iterations' final-stage DensePose losses and the time per iteration."""
    with open(metrics_file) as f:
        records = [json.loads(line) for line in f if line.strip()]
    records = [r for r in records if "loss_densepose_I" in r][-last:]
    suffix = "_stage2" if "loss_densepose_I_stage2" in records[-1] else ""

    def mean(key: str) -> float:
        return sum(r[key] for r in records) / len(records)

    return {
        "I": mean("loss_densepose_I" + suffix),
        "S": mean("loss_densepose_S" + suffix),
        "s_per_iter": mean("time") if all("time" in r for r in records) else float("nan"),
        "iterations": records[-1]["iteration"] + 1,
    }


def _box_ap(log_file: str) -> float:
    """Box AP (percent) of the last evaluation in detectron2's log.txt (its "copypaste" lines); nan if none."""
    if not os.path.exists(log_file):
        return float("nan")
    with open(log_file) as f:
        lines = [line.split("copypaste: ", 1)[1].strip() for line in f if "copypaste: " in line]
    ap = float("nan")
    for k, line in enumerate(lines[:-2]):
        if line == "Task: bbox":
            ap = float(dict(zip(lines[k + 1].split(","), lines[k + 2].split(",")))["AP"])
    return ap


def _wall_minutes(wall_file: str) -> float:
    if not os.path.exists(wall_file):
        return float("nan")
    with open(wall_file) as f:
        return float(f.read().split()[0]) / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs_dir")
    parser.add_argument("--dataset", default="densepose_synth_val")
    args = parser.parse_args()
    print("| row | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    kappas = set()
    for row, title in ROWS:
        run = os.path.join(args.runs_dir, row)
        report_file = os.path.join(run, "inference", args.dataset, "densepose_report.json")
        if not os.path.exists(report_file):
            print(f"| {title} | (no report: {report_file} missing) |" + " |" * (len(COLUMNS) - 1))
            continue
        with open(report_file) as f:
            report = json.load(f)
        gps, gpsm, pointwise = report["GPS"], report["GPSm"], report["pointwise"]
        kappas.add(json.dumps(report["kappa"], sort_keys=True))
        train = _training_summary(os.path.join(run, "metrics.json"))
        print(
            f"| {title} | {gps['AP']:.2f} | {gps['AP50']:.2f} | {gps['AP75']:.2f} | {gps['AR']:.2f} "
            f"| {gpsm['AP']:.2f} | {pointwise['AUC10']:.3f} | {pointwise['AUC30']:.3f} "
            f"| {_box_ap(os.path.join(run, 'log.txt')):.2f} | {report['num_detections']} "
            f"| {train['I']:.3f} | {train['S']:.3f} | {train['iterations']} | {train['s_per_iter']:.2f} "
            f"| {_wall_minutes(run + '.wall'):.1f} |"
        )
    print(f"\nGPS kappa: {', '.join(sorted(kappas)) or 'no report'}")


if __name__ == "__main__":
    main()
