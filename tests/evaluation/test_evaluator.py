"""DensePoseCOCOEvaluator inside detectron2's protocol, and the CLI on the files it writes (round trip)."""

import json

import numpy as np
import pytest
import torch
from detectron2.data import MetadataCatalog
from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import Boxes, Instances

import densepose_ext.evaluation.__main__ as cli
from densepose_ext.evaluation import DensePoseCOCOEvaluator
from densepose_ext.evaluation.evaluator import REPORT_FILE, RESULTS_FILE
from densepose_ext.structures.results import DensePoseResult, DensePoseResultList

from .synthetic import ann_box, chart_distance, dataset, make_person, perfect_result

H, W = 240, 320


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    root = tmp_path_factory.mktemp("dp_eval")
    people = [
        make_person(1, 1, [20, 30, 64, 128], 80, seed=0),
        make_person(2, 1, [150, 40, 128, 128], 80, seed=1),
        make_person(3, 2, [10, 10, 64, 64], 40, seed=2),
    ]
    gt_file = root / "gt.json"
    gt_file.write_text(json.dumps(dataset(people, (H, W))))
    name = "densepose_ext_test_evaluator"
    register_metadata(name, gt_file)
    return name, people, root


def register_metadata(name, gt_file):
    """Make `gt_file` the evaluator's dataset `name` in this process (a no-op if it is registered already); spawned
    workers, which start with an empty MetadataCatalog, call it too."""
    if name not in MetadataCatalog.list():
        # Category id 1 in the JSON is the model's contiguous class 0, as detectron2's COCO loader maps it.
        MetadataCatalog.get(name).set(
            json_file=str(gt_file), thing_dataset_id_to_contiguous_id={1: 0}, thing_classes=["person"]
        )


def model_outputs(people, detected, device="cpu", input_scale=1):
    """detectron2 (inputs, outputs) per image, with perfect DensePose results for the detected people, made as
    GeneralizedRCNN makes them: the ROI heads' output on the image resized by `input_scale` (boxes in that
    network-input frame, each result at its box resolution there), then detector_postprocess to the H x W image."""
    batches = []
    for image_id in sorted({p["image_id"] for p in people}):
        mine = [p for p in people if p["image_id"] == image_id and p["id"] in detected]
        inst = Instances((H * input_scale, W * input_scale))
        boxes = np.array([ann_box(p) * input_scale for p in mine]).reshape(-1, 4)
        inst.pred_boxes = Boxes(torch.tensor(boxes, dtype=torch.float32))
        inst.scores = torch.linspace(0.9, 0.8, len(mine))
        inst.pred_classes = torch.zeros(len(mine), dtype=torch.int64)
        inst.pred_densepose = DensePoseResultList([upsampled(perfect_result(p), input_scale) for p in mine])
        inst = detector_postprocess(inst.to(device), H, W)
        batches.append(([{"image_id": image_id, "height": H, "width": W}], [{"instances": inst}]))
    return batches


def upsampled(result: DensePoseResult, factor: int) -> DensePoseResult:
    """The same grid at `factor` times its resolution (nearest): (H, W) -> (factor H, factor W)."""
    def up(t: torch.Tensor) -> torch.Tensor:
        return t.repeat_interleave(factor, -2).repeat_interleave(factor, -1)

    return DensePoseResult(up(result.labels), up(result.uv))


def run_evaluator(registered, detected, tmp_path, device="cpu", input_scale=1):
    name, people, _ = registered
    evaluator = DensePoseCOCOEvaluator(
        name, output_dir=str(tmp_path), kappa_mode="per-part", distance_fn=chart_distance
    )
    evaluator.reset()
    for inputs, outputs in model_outputs(people, detected, device, input_scale):
        evaluator.process(inputs, outputs)
    return evaluator.evaluate()


def test_evaluator_reports_densepose_and_box_metrics(registered, tmp_path):
    results = run_evaluator(registered, {1, 2}, tmp_path)
    for task in ("densepose_GPS", "densepose_GPSm", "densepose_IoU"):
        assert results[task]["AR"] == pytest.approx(200 / 3), task
        assert results[task]["AP"] == pytest.approx(6700 / 101), task
    # Box AP from detectron2's COCOEvaluator: the same two of three people found with exact boxes.
    assert results["bbox"]["AP"] == pytest.approx(6700 / 101) and results["bbox"]["AP50"] == pytest.approx(6700 / 101)
    assert results["densepose_pointwise"]["AUC10"] == pytest.approx(100 * 160 / 200, abs=1e-4)
    report = json.loads((tmp_path / REPORT_FILE).read_text())
    assert report["kappa"]["mode"] == "per-part" and report["dataset"] == registered[0]
    records = json.loads((tmp_path / RESULTS_FILE).read_text())
    assert sorted(r["image_id"] for r in records) == [1, 1] and {r["category_id"] for r in records} == {1}


def test_resized_test_image_scores_as_the_original(registered, tmp_path):
    # The model ran on the image resized 2x; detector_postprocess rescaled pred_boxes to the original image, and
    # each DensePose grid (at the resized box's resolution) must be laid over that rescaled box.
    original = run_evaluator(registered, {1, 2, 3}, tmp_path / "1x")
    resized = run_evaluator(registered, {1, 2, 3}, tmp_path / "2x", input_scale=2)
    densepose_tasks = [task for task in original if task.startswith("densepose")]  # bbox holds NaN (no small people)
    assert [resized[t] for t in densepose_tasks] == [original[t] for t in densepose_tasks]
    assert resized["densepose_GPS"]["AP"] == pytest.approx(100.0) and resized["bbox"]["AP"] == pytest.approx(100.0)
    people = {(p["image_id"], tuple(p["bbox"])): p for p in registered[1]}
    records = json.loads((tmp_path / "2x" / RESULTS_FILE).read_text())
    for rec in records:
        person = people[rec["image_id"], tuple(rec["bbox"])]
        assert rec["densepose"]["box"] == ann_box(person).tolist()
        assert rec["densepose"]["size"] == [2 * person["bbox"][3], 2 * person["bbox"][2]]


def test_results_print_as_detectron2_tables(registered, tmp_path, caplog):
    """detectron2's own consumer of evaluator results prints one copypaste table per task, with our numbers: two of
    three people found, each the top-scored detection of its image, so AR = 200/3 and AP = 100 * 67/101 (recall
    2/3 at precision 1 covers 67 of COCO's 101 recall points); their 120 of the 200 points are exact."""
    import logging

    from detectron2.evaluation.testing import print_csv_format

    results = run_evaluator(registered, {1, 3}, tmp_path)
    with caplog.at_level(logging.INFO, logger="detectron2.evaluation.testing"):
        print_csv_format(results)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("copypaste: ")]
    tables = {lines[k][len("copypaste: Task: "):]: (lines[k + 1], lines[k + 2])
              for k in range(len(lines)) if lines[k].startswith("copypaste: Task: ")}
    assert {"densepose_GPS", "densepose_GPSm", "densepose_IoU", "densepose_pointwise", "bbox"} <= set(tables)
    for task in ("densepose_GPS", "densepose_GPSm", "densepose_IoU", "bbox"):
        names, values = (line[len("copypaste: "):].split(",") for line in tables[task])
        row = dict(zip(names, values))
        assert row["AP"] == f"{6700 / 101:.4f}" and row["AP50"] == f"{6700 / 101:.4f}", task
        if task != "bbox":
            assert row["AR"] == f"{200 / 3:.4f}", task
    names, values = (line[len("copypaste: "):].split(",") for line in tables["densepose_pointwise"])
    assert dict(zip(names, values))["AUC10"] == "60.0000"  # 120 of 200 points predicted exactly, in percent


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_same_report_for_detections_held_on_the_gpu_and_cpu(registered, tmp_path):
    """The evaluator takes a model's outputs where the model left them (on the GPU) and reports as for the same
    outputs on the CPU. The model computing them on the GPU is compared with the CPU in tests/modeling/test_gpu.py."""
    cpu = run_evaluator(registered, {1, 2, 3}, tmp_path / "cpu")
    gpu = run_evaluator(registered, {1, 2, 3}, tmp_path / "gpu", device="cuda")
    # as JSON text: the box task holds NaN (no small people), which never equals itself
    assert json.dumps(cpu, sort_keys=True) == json.dumps(gpu, sort_keys=True)
    assert (tmp_path / "cpu" / RESULTS_FILE).read_text() == (tmp_path / "gpu" / RESULTS_FILE).read_text()


def test_cli_reproduces_the_evaluator_from_its_files(registered, tmp_path, monkeypatch, capsys):
    """From the evaluator's results file, the CLI finds the known answers of two exact detections of three
    people (AR 200/3, AP 100 * 67/101, AUC10 0.8: 160 of 200 points exact), and the evaluator's whole report."""
    run_evaluator(registered, {1, 2}, tmp_path)
    evaluator_report = json.loads((tmp_path / REPORT_FILE).read_text())
    monkeypatch.setattr(cli, "surface_distance", lambda *args: chart_distance)
    gt_file = str(registered[2] / "gt.json")
    report = cli.main(
        [
            "--gt",
            gt_file,
            "--results",
            str(tmp_path / RESULTS_FILE),
            "--kappa",
            "per-part",
            "--surface",
            "anny",
            "--out",
            str(tmp_path / "cli.json"),
            "--plot",
            str(tmp_path / "rcp.png"),
        ]
    )
    written = json.loads((tmp_path / "cli.json").read_text())
    for metric in ("GPS", "GPSm", "IoU"):
        assert written[metric]["AP"] == pytest.approx(6700 / 101) and written[metric]["AR"] == pytest.approx(200 / 3)
    assert written["pointwise"]["AUC10"] == pytest.approx(0.8, abs=1e-6)
    assert written["kappa"]["mode"] == "per-part"
    for key in ("GPS", "GPSm", "IoU", "pointwise", "kappa"):
        assert report[key] == evaluator_report[key] == written[key], key
    printed = capsys.readouterr().out
    assert "kappa=per-part" in printed and "GPSm" in printed and f"{6700 / 101:.2f}" in printed
    assert (tmp_path / "rcp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluator_needs_a_json_file():
    MetadataCatalog.get("densepose_ext_test_no_json").set(thing_classes=["person"])
    with pytest.raises(ValueError, match="densepose_ext_test_no_json.*json_file"):
        DensePoseCOCOEvaluator("densepose_ext_test_no_json", evaluate_boxes=False)


def test_cli_rejects_malformed_results(registered, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": "high", "densepose": {}}])
    )
    with pytest.raises(ValueError, match=r"bad.json: record 0: field 'score'"):
        cli.main(["--gt", str(registered[2] / "gt.json"), "--results", str(bad), "--surface", "anny"])


def test_built_from_config_reads_kappa_and_refuses_unimplemented_reference_settings(registered):
    from detectron2.config import get_cfg

    from densepose_ext.config import add_densepose_config

    cfg = get_cfg()
    add_densepose_config(cfg)
    cfg.DENSEPOSE_EVALUATION.KAPPA = "per-part"
    cfg.DATASETS.DENSEPOSE_SURFACE = "anny"  # the test dataset is registered without a surface
    evaluator = DensePoseCOCOEvaluator(cfg, registered[0], output_dir=None)
    assert evaluator._kappa_mode == "per-part"
    cfg.DENSEPOSE_EVALUATION.KAPPA = "paper"
    with pytest.raises(ValueError, match="kappa mode.*'paper'"):
        DensePoseCOCOEvaluator(cfg, registered[0])
    cfg.DENSEPOSE_EVALUATION.KAPPA = "global"
    cfg.DENSEPOSE_EVALUATION.TYPE = "cse"
    with pytest.raises(ValueError, match="DENSEPOSE_EVALUATION.TYPE: expected 'iou'.*got 'cse'"):
        DensePoseCOCOEvaluator(cfg, registered[0])
