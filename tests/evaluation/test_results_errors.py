"""A results file the evaluator cannot score as the format says (docs/FORMAT_results.md) is refused naming the
file and the record; a detection of another category is warned about; the CLI reports through run_cli (exit 2,
one message, no traceback)."""
import base64
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import densepose_ext.evaluation.__main__ as cli
from densepose_ext.evaluation.evaluate import evaluate_densepose
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.results_file import load_results, write_json
from densepose_ext.utils.cli_errors import EXIT_USER_ERROR, UserInputError, run_cli

from .synthetic import ann_box, chart_distance, dataset, make_person, perfect_result, record

PERSON = make_person(1, 1, [20, 30, 64, 128], 40, seed=3)


def _good_record() -> dict:
    return record(1, perfect_result(PERSON), ann_box(PERSON), 0.9)


def _png(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _with_grid(grid: np.ndarray) -> dict:
    rec = _good_record()
    rec["densepose"]["iuv_png"] = _png(grid)
    return rec


H, W = 128, 64  # the person's box, so the good record's size
GRIDS = {
    "one channel": (np.zeros((H, W), np.uint8), ["expected a base64 PNG with 3 8-bit channels", "(1 channel: no U, V)"]),
    "four channels": (np.zeros((H, W, 4), np.uint8), ["expected a base64 PNG with 3 8-bit channels", "(4 channels)"]),
    "label 25": (np.dstack([np.full((H, W), 25, np.uint8)] + [np.zeros((H, W), np.uint8)] * 2),
                 ["expected part labels 0..24 in channel 0 (I), found label 25"]),
    "another size": (np.zeros((H, W + 1, 3), np.uint8), ["expected a PNG of the record's size 64x128", "found 65x128"]),
}


@pytest.mark.parametrize("case", sorted(GRIDS))
def test_a_grid_not_of_the_format_is_refused_naming_file_and_detection(tmp_path, case):
    grid, expected = GRIDS[case]
    path = str(tmp_path / "res.json")
    write_json(path, [_good_record(), _with_grid(grid)])
    with pytest.raises(UserInputError) as info:
        load_results(path)
    message = str(info.value)
    assert message.startswith(f"{path}: record 1: field 'densepose': field 'iuv_png': "), message
    for part in expected:
        assert part in message


def test_a_detection_without_densepose_data_says_so(tmp_path):
    path = str(tmp_path / "res.json")
    write_json(path, [dict(_good_record(), densepose=None)])
    with pytest.raises(UserInputError, match=r"res.json: record 0: field 'densepose': expected the detection's "
                                             r"DensePose result .*found null: a detection without DensePose data"):
        load_results(path)


@pytest.mark.parametrize("content,found", [
    (b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2', "a file that ends in the middle of its JSON"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data (byte 0x89 at offset 0 is not UTF-8 text)"),
    (b"", "an empty file"),
    (b"[1, 2,, 3]", "invalid JSON at line 1, column 7"),
])
def test_a_file_that_is_not_json_is_refused_by_name(tmp_path, content, found):
    path = tmp_path / "res.json"
    path.write_bytes(content)
    with pytest.raises(UserInputError) as info:
        load_results(str(path))
    assert str(info.value).startswith(f"{path}: expected a JSON list of detection records") and found in str(info.value)


def test_a_detection_of_another_category_is_warned_and_not_evaluated(caplog):
    gt = DensePoseGroundTruth(dataset([PERSON]), "gt.json")
    other = dict(_good_record(), category_id=3)
    report = evaluate_densepose(gt, [_good_record(), other], distance_fn=chart_distance, source="res.json")
    assert report["num_detections"] == 1 and report["num_other_category_records"] == 1
    assert ("res.json: 1 detection(s) of category [3], not the ground truth's person category 1 (first: record 1): "
            "not evaluated") in caplog.text
    caplog.clear()
    evaluate_densepose(gt, [_good_record()], distance_fn=chart_distance, source="res.json")
    assert "category" not in caplog.text


@pytest.fixture
def cli_files(tmp_path):
    (tmp_path / "gt.json").write_text(json.dumps(dataset([PERSON])))
    (tmp_path / "res.json").write_text(json.dumps([_good_record()])[:-40])  # cut short
    return ["--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "res.json"), "--surface", "anny"]


def test_the_cli_reports_a_bad_results_file_through_run_cli(cli_files, capsys):
    assert run_cli(cli.main, "python -m densepose_ext.evaluation", cli_files) == EXIT_USER_ERROR
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"python -m densepose_ext.evaluation: error: {cli_files[3]}: expected a JSON list of detection "
                      "records (docs/FORMAT_results.md), found a file that ends in the middle of its JSON "
                      "(line 1: Unterminated string starting at): cut short?")
    assert len(err) == 2 and "DENSEPOSE_DEBUG" in err[1]


def test_the_cli_process_exits_2_without_a_traceback(cli_files):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("DENSEPOSE_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "densepose_ext.evaluation", *cli_files], env=env,
                          capture_output=True, text=True)
    assert done.returncode == EXIT_USER_ERROR
    assert "res.json: expected a JSON list of detection records" in done.stderr and "Traceback" not in done.stderr
