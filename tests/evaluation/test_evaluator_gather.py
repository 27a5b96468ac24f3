"""DensePoseCOCOEvaluator with distributed=True: records of every process are gathered and evaluated once.

detectron2's comm is faked (two ranks played in turn in one process), so the test is fast and needs no
process group: rank 1 hands its records to the gather and returns {}, rank 0 evaluates all of them.
"""
import json

import pytest

import densepose_ext.evaluation.evaluator as evaluator_module
from densepose_ext.evaluation import DensePoseCOCOEvaluator
from densepose_ext.evaluation.evaluator import REPORT_FILE, RESULTS_FILE

from .synthetic import chart_distance
from .test_evaluator import model_outputs, registered  # noqa: F401  (registered is a fixture)


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


def _evaluator(name, out_dir, distributed):
    return DensePoseCOCOEvaluator(name, output_dir=str(out_dir), distributed=distributed, kappa_mode="per-part",
                                  evaluate_boxes=False, distance_fn=chart_distance)


def test_records_of_all_processes_are_gathered_and_evaluated_once(registered, tmp_path, monkeypatch):  # noqa: F811
    name, people, _ = registered
    batches = model_outputs(people, {1, 2, 3})
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
