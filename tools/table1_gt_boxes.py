#!/usr/bin/env python
"""DensePose accuracy of the Table 1 models on ground-truth boxes (the DensePose branch alone, detector aside).

    python tools/table1_gt_boxes.py RUNS_DIR [--dataset densepose_synth_val] [--device cpu]

For each row's OUTPUT_DIR (config.yaml + model_final.pth) the model predicts DensePose inside every annotated
person's box (image px of the unresized image) and is scored at the annotated points (box-256 dp_x/dp_y mapped
to image px): part accuracy (predicted fine part == dp_I, background counts as wrong) and the mean |U|, |V| error
over points whose part is right. Cascade rows are scored twice: with the second stage (what inference returns)
and with the first stage alone (the same weights, cascade switched off), which shows what the refinement adds.
"""
import argparse
import os

import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog
from detectron2.data import detection_utils as utils
from detectron2.modeling import build_model
from detectron2.structures import Boxes, BoxMode, Instances

import densepose_ext  # noqa: F401  (registers datasets and ROI heads)
from densepose_ext.config import add_densepose_config
from table1_report import ROWS as REPORT_ROWS  # this script's own folder is on sys.path

ROWS = tuple(row for row, _ in REPORT_ROWS)


def _inputs(dataset_dicts, image_format):
    """Model inputs with the GT person boxes as detections, and the annotated points per person (image px)."""
    for d in dataset_dicts:
        annos = [a for a in d["annotations"] if "dp_x" in a and a.get("iscrowd", 0) == 0]
        if not annos:
            continue
        image = utils.read_image(d["file_name"], format=image_format)
        boxes = torch.tensor([BoxMode.convert(a["bbox"], a["bbox_mode"], BoxMode.XYXY_ABS) for a in annos])
        detections = Instances(image.shape[:2], pred_boxes=Boxes(boxes), scores=torch.ones(len(annos)),
                               pred_classes=torch.zeros(len(annos), dtype=torch.long))
        points = []
        for a in annos:
            x, y, w, h = a["bbox"]
            points.append((x + np.asarray(a["dp_x"]) * w / 256, y + np.asarray(a["dp_y"]) * h / 256,
                           np.asarray(a["dp_I"]).astype(int), np.asarray(a["dp_U"]), np.asarray(a["dp_V"])))
        image = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)))
        yield {"image": image, "height": image.shape[1], "width": image.shape[2]}, detections, points


def _score(model, samples):
    """(part accuracy, mean |U error|, mean |V error|) over all annotated points of `samples`."""
    hits, du, dv = [], [], []
    with torch.no_grad():
        for inp, detections, points in samples:
            (out,) = model.inference([inp], detected_instances=[detections], do_postprocess=False)
            results = out.pred_densepose.to_results(out.pred_boxes.tensor)
            for result, box, (px, py, part, u, v) in zip(results, out.pred_boxes.tensor, points):
                x0, y0, x1, y1 = box.tolist()  # the result's grid lies over its detection box
                h, w = result.labels.shape
                col = np.clip(((px - x0) / max(x1 - x0, 1e-6) * w).astype(int), 0, w - 1)
                row = np.clip(((py - y0) / max(y1 - y0, 1e-6) * h).astype(int), 0, h - 1)
                label = result.labels.numpy()[row, col]
                ok = label == part
                hits.append(ok)
                du.append(np.abs(result.uv[0].numpy()[row, col] - u)[ok])
                dv.append(np.abs(result.uv[1].numpy()[row, col] - v)[ok])
    hits, du, dv = np.concatenate(hits), np.concatenate(du), np.concatenate(dv)
    return float(hits.mean()), _mean(du), _mean(dv), hits.size


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs_dir")
    parser.add_argument("--dataset", default="densepose_synth_val")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    dataset_dicts = DatasetCatalog.get(args.dataset)
    print("| row | stage | part accuracy | mean abs U error | mean abs V error | points |")
    print("|---|---|---|---|---|---|")
    for row in ROWS:
        run = os.path.join(args.runs_dir, row)
        if not os.path.exists(os.path.join(run, "model_final.pth")):
            print(f"| {row} | (no model_final.pth) | | | | |")
            continue
        cfg = get_cfg()
        add_densepose_config(cfg)
        cfg.merge_from_file(os.path.join(run, "config.yaml"))
        cfg.MODEL.DEVICE = args.device
        model = build_model(cfg)
        DetectionCheckpointer(model).load(os.path.join(run, "model_final.pth"))
        model.eval()
        samples = list(_inputs(dataset_dicts, cfg.INPUT.FORMAT))
        stages = [("last", model.roi_heads.densepose_cascade)]
        if model.roi_heads.densepose_cascade is not None:
            stages.append(("first only", None))
        for name, cascade in stages:
            model.roi_heads.densepose_cascade = cascade
            acc, du, dv, n = _score(model, samples)
            print(f"| {row} | {name} | {acc:.3f} | {du:.3f} | {dv:.3f} | {n} |")


if __name__ == "__main__":
    main()
