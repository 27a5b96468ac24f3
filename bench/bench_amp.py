"""What `apply_net --amp` changes: results on the golden families and the shipped model, and CPU speed; one JSON line.

    python bench/bench_amp.py [--val-images 100] [--speed-images 60] [--amp bf16 fp16]

- Golden families (tests/data/golden: the reference's recipes at reduced width, seeded random weights, 3 images):
  DensePose results on the fixtures' given boxes with the backbone in each --amp dtype vs float32: share of
  identical labels, mean and max |dU|, |dV| where labels agree.
- Shipped model (densepose_synth) on the model card's validation split (DensePose-Synth seed 1, 320x240, generated
  here; --val-images of it): GPS AP (global kappa), GPSm AP, mask IoU AP, AUC10/30 and box AP, float32 vs each dtype.
- Speed: `apply_net dump` (npz) end to end with the defaults over --speed-images synthetic JPEGs at 480x640, CPU
  recipe with random weights, float32 vs each dtype (alternated, best of 2). Half precision is only fast where the
  CPU has the instructions for it (bfloat16: AVX512_BF16 or AMX; float16: AVX512_FP16 or AMX).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.golden.fixtures: the golden families' models and inputs

from bench_apply_net import random_model_predictor  # noqa: E402
from densepose_ext.inference_io import commands  # noqa: E402
from densepose_ext.inference_io.device import auto_batch_size, auto_workers  # noqa: E402
from densepose_ext.inference_io.predictor import detections_predictor  # noqa: E402
from densepose_ext.modeling.mixed_precision import AMP_DTYPES, AutocastBackbone  # noqa: E402


def golden_agreement(amps: list[str]) -> dict:
    from tests.golden import fixtures

    families = sorted(p.name for p in fixtures.GOLDEN.iterdir() if (p / "model.pkl").is_file())
    report = {}
    for family in families:
        model = fixtures.golden_model(family)
        runs = {}
        for amp in [None, *amps]:
            backbone = model.backbone if amp is None else AutocastBackbone(model.backbone, AMP_DTYPES[amp])
            results = []
            for i in range(fixtures.NUM_IMAGES):
                boxes, predictions = fixtures.predict_given_boxes(model, backbone, i)
                results += predictions.to_results(boxes)
            runs[amp or "fp32"] = results
        for amp in amps:
            same = total = 0
            errors = []
            for ours, ref in zip(runs[amp], runs["fp32"]):
                agree = ours.labels == ref.labels
                same, total = same + int(agree.sum()), total + agree.numel()
                errors.append((ours.uv - ref.uv)[:, agree & (ref.labels > 0)].abs().flatten())
            error = torch.cat(errors)
            report.setdefault(family, {})[amp] = {"label_agreement": round(same / total, 5),
                                                  "uv_mean_abs": round(error.mean().item(), 5),
                                                  "uv_max_abs": round(error.max().item(), 4)}
    return report


def shipped_metrics(amps: list[str], count: int, work: Path) -> dict:
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.config import get_cfg
    from detectron2.data import build_detection_test_loader
    from detectron2.evaluation import inference_on_dataset
    from detectron2.modeling import build_model

    from densepose_ext.config import add_densepose_config
    from densepose_ext.data import DensePoseDatasetMapper, register_densepose_coco
    from densepose_ext.data.datasets import SYNTH_SURFACE
    from densepose_ext.evaluation import DensePoseCOCOEvaluator
    from densepose_ext.model_zoo import get_checkpoint, get_config_file
    from densepose_ext.synth.generate import generate

    generate(work / "val", count, seed=1, size=(240, 320), workers=1, progress=False)
    register_densepose_coco("amp_val", str(work / "val" / "annotations.json"), str(work / "val" / "images"),
                            surface=SYNTH_SURFACE)
    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.merge_from_file(get_config_file("densepose_synth"))
    cfg.MODEL.WEIGHTS, cfg.MODEL.DEVICE = get_checkpoint("densepose_synth"), "cpu"
    report = {}
    for amp in [None, *amps]:
        model = build_model(cfg).eval()
        DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
        if amp is not None:
            model.backbone = AutocastBackbone(model.backbone, AMP_DTYPES[amp])
        loader = build_detection_test_loader(cfg, "amp_val", mapper=DensePoseDatasetMapper(cfg, False))
        out = work / f"eval_{amp}"
        evaluator = DensePoseCOCOEvaluator("amp_val", output_dir=str(out), distributed=False, kappa_mode="global")
        with torch.no_grad():
            boxes = inference_on_dataset(model, loader, evaluator)["bbox"]
        dense = json.loads((out / "densepose_report.json").read_text())
        report[amp or "fp32"] = {"GPS AP": round(dense["GPS"]["AP"], 2), "GPSm AP": round(dense["GPSm"]["AP"], 2),
                                 "IoU AP": round(dense["IoU"]["AP"], 2),
                                 "AUC10": round(dense["pointwise"]["AUC10"], 4),
                                 "AUC30": round(dense["pointwise"]["AUC30"], 4), "box AP": round(boxes["AP"], 2)}
    return report


def apply_net_speed(amps: list[str], count: int, work: Path) -> dict:
    args = argparse.Namespace(config=str(REPO / "configs/synth/densepose_rcnn_R_18ish_FPN_cpu.yaml"), detections=5,
                              device="cpu", images=count, size=(480, 640))
    cfg, _ = random_model_predictor(args, work, "random", work / "images")
    predictors = {amp or "fp32": detections_predictor(cfg, 0.0, amp) for amp in [None, *amps]}
    batching = dict(batch_size=auto_batch_size("cpu", cfg.INPUT.MIN_SIZE_TEST), same_size=True,
                    workers=auto_workers("cpu"))
    best = {name: float("inf") for name in predictors}
    for repeat in range(2):
        for name, predict in predictors.items():
            start = time.perf_counter()
            commands.dump(str(work / "images"), predict, str(work / f"{name}_{repeat}"), show_progress=False,
                          **batching)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: round(count / seconds, 2) for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amp", nargs="+", default=sorted(AMP_DTYPES), choices=sorted(AMP_DTYPES))
    parser.add_argument("--val-images", type=int, default=100)
    parser.add_argument("--speed-images", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = {"torch_threads": torch.get_num_threads(), "golden_families_vs_fp32": golden_agreement(args.amp),
                  "shipped_model_val": shipped_metrics(args.amp, args.val_images, work)}
        # float16 convolutions without AVX512_FP16 run a reference kernel (~50x slower here): speed for bfloat16
        report["apply_net_dump_images_per_s"] = apply_net_speed([a for a in args.amp if a != "fp16"],
                                                                args.speed_images, work)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
