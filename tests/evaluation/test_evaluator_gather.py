"""DensePoseCOCOEvaluator with distributed=True: records of every process are gathered and evaluated once.

The first test fakes detectron2's comm (two ranks played in turn in one process), so it is fast and needs no
process group: rank 1 hands its records to the gather and returns {}, rank 0 evaluates all of them. The second
runs the same protocol in two real processes (gloo, through densepose_ext.engine.launch), so the gathers of our
records and of detectron2's box evaluator meet across processes as they do in training.
"""
import json
import os

import pytest
from detectron2.utils import comm

import densepose_ext.evaluation.evaluator as evaluator_module
from densepose_ext.engine import launch
from densepose_ext.evaluation import DensePoseCOCOEvaluator
from densepose_ext.evaluation.evaluator import REPORT_FILE, RESULTS_FILE

from .synthetic import chart_distance
from .test_evaluator import model_outputs, register_metadata, registered  # noqa: F401  (registered is a fixture)

ALL_PEOPLE = {1, 2, 3}


class FakeComm:
    """detectron2.utils.comm for two ranks run one after the other: gather collects each rank's object in rank
    order and gives the list to rank 0 only."""

    def __init__(self):
        self.rank = 0
        self.gathered = {}

    def synchronize(self):
        pass

    def is_main_process(self):
        return self.rank == 0

    def gather(self, data, dst=0):
        assert dst == 0
        self.gathered[self.rank] = data
        return [self.gathered[r] for r in sorted(self.gathered)] if self.rank == dst else []


def _evaluator(name, out_dir, distributed, evaluate_boxes=False):
    return DensePoseCOCOEvaluator(name, output_dir=str(out_dir), distributed=distributed, kappa_mode="per-part",
                                  evaluate_boxes=evaluate_boxes, distance_fn=chart_distance)


def _evaluate(name, batches, out_dir):
    """One process's box and DensePose results on `batches`, as JSON text (box results hold NaN, never equal)."""
    evaluator = _evaluator(name, out_dir, distributed=False, evaluate_boxes=True)
    evaluator.reset()
    for inputs, outputs in batches:
        evaluator.process(inputs, outputs)
    return json.dumps(evaluator.evaluate(), sort_keys=True)


def test_records_of_all_processes_are_gathered_and_evaluated_once(registered, tmp_path, monkeypatch):  # noqa: F811
    name, people, _ = registered
    batches = model_outputs(people, ALL_PEOPLE)
    assert len(batches) == 2  # two images: one per rank

    # Reference: one process sees both images.
    single = _evaluator(name, tmp_path / "single", distributed=False)
    single.reset()
    for inputs, outputs in batches:
        single.process(inputs, outputs)
    expected = single.evaluate()

    comm = FakeComm()
    monkeypatch.setattr(evaluator_module, "comm", comm)
    ranks = [_evaluator(name, tmp_path / f"rank{r}", distributed=True) for r in (0, 1)]
    for evaluator, (inputs, outputs) in zip(ranks, batches):
        evaluator.reset()
        evaluator.process(inputs, outputs)
    comm.rank = 1
    assert ranks[1].evaluate() == {}
    assert not (tmp_path / "rank1").exists() or not any((tmp_path / "rank1").iterdir())  # only rank 0 writes
    comm.rank = 0
    gathered = ranks[0].evaluate()

    assert gathered == expected
    assert expected["densepose_GPS"]["AP"] == pytest.approx(100.0)  # all three people found, perfectly
    records = json.loads((tmp_path / "rank0" / RESULTS_FILE).read_text())
    assert sorted(r["image_id"] for r in records) == sorted(p["image_id"] for p in people)
    assert records == json.loads((tmp_path / "single" / RESULTS_FILE).read_text())
    report = json.loads((tmp_path / "rank0" / REPORT_FILE).read_text())
    assert report["num_detections"] == 3 and report["num_people"] == len(people)
    assert report == json.loads((tmp_path / "single" / REPORT_FILE).read_text())


def _gather_worker(name, gt_file, people, out_dir):
    """One of two launched processes: evaluates image `rank` of the dataset and writes what evaluate() returned to
    out_dir/result{rank}.json. Module-level, so that the spawned processes can unpickle it."""
    rank = comm.get_rank()
    register_metadata(name, gt_file)  # a spawned process starts with an empty MetadataCatalog
    evaluator = _evaluator(name, os.path.join(out_dir, f"rank{rank}"), distributed=True, evaluate_boxes=True)
    evaluator.reset()
    evaluator.process(*model_outputs(people, ALL_PEOPLE)[rank])
    result = evaluator.evaluate()
    with open(os.path.join(out_dir, f"result{rank}.json"), "w") as f:
        f.write(json.dumps(result, sort_keys=True))


def test_two_launched_processes_gather_their_records(registered, tmp_path):  # noqa: F811
    name, people, root = registered
    batches = model_outputs(people, ALL_PEOPLE)
    assert len(batches) == 2  # one image per process
    launch(_gather_worker, 2, args=(name, str(root / "gt.json"), people, str(tmp_path)), device="cpu")

    assert json.loads((tmp_path / "result1.json").read_text()) == {}
    assert not (tmp_path / "rank1").exists() or not any((tmp_path / "rank1").iterdir())  # only rank 0 writes
    gathered = (tmp_path / "result0.json").read_text()
    assert gathered == _evaluate(name, batches, tmp_path / "single")  # exactly one process seeing both images
    # rank 0's own image alone scores otherwise (2 of 3 people): a gather that kept only local records fails
    assert gathered != _evaluate(name, batches[:1], tmp_path / "rank0_only")
    assert json.loads(gathered)["densepose_GPS"]["AP"] == pytest.approx(100.0)
    records = json.loads((tmp_path / "rank0" / RESULTS_FILE).read_text())
    assert records == json.loads((tmp_path / "single" / RESULTS_FILE).read_text())
