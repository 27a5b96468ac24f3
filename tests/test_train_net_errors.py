"""train_net.py and apply_net's config loading on bad config files and overrides: one message naming the file (and
line or key), what was expected and what was found, exit status 2, no traceback; nothing is built (issue 19)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from densepose_ext.inference_io.predictor import setup_inference_cfg
from densepose_ext.utils.cli_errors import UserInputError, run_cli
from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[1]
CPU = (REPO / "configs" / "synth" / "densepose_rcnn_R_18ish_FPN_cpu.yaml").as_posix()


@pytest.fixture(scope="module")
def train_net():
    return load_script("train_net.py", "train_net_errors")


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# name -> (files written, config file given, overrides, what the message must contain)
CASES = {
    "unknown key": ({"c.yaml": f"_BASE_: {CPU}\nMODEL:\n  NOPE: 1\n"}, "c.yaml", [],
                    ["c.yaml", "MODEL.NOPE", "unknown key"]),
    "wrong type": ({"c.yaml": f"_BASE_: {CPU}\nSOLVER:\n  BASE_LR: fast\n"}, "c.yaml", [],
                   ["c.yaml", "SOLVER.BASE_LR", "expected a float", "'fast'"]),
    "yaml syntax": ({"c.yaml": "MODEL: [\n"}, "c.yaml", [], ["c.yaml", "line 2", "valid YAML"]),
    "missing base": ({"c.yaml": "_BASE_: gone.yaml\n"}, "c.yaml", [], ["c.yaml", "_BASE_", "'gone.yaml'",
                                                                     "no such file"]),
    "circular base": ({"a.yaml": "_BASE_: b.yaml\n", "b.yaml": "_BASE_: a.yaml\n"}, "a.yaml", [],
                      ["a.yaml", "_BASE_", "cycle", "b.yaml"]),
    "empty file": ({"c.yaml": ""}, "c.yaml", [], ["c.yaml", "expected a YAML mapping", "an empty file"]),
    "top-level list": ({"c.yaml": "- MODEL\n"}, "c.yaml", [], ["c.yaml", "mapping", "found a list"]),
    "repeated key": ({"c.yaml": f"_BASE_: {CPU}\nSOLVER:\n  BASE_LR: 0.1\nSOLVER:\n  MAX_ITER: 3\n"}, "c.yaml",
                     [], ["c.yaml", "line 4", "'SOLVER' repeated (first on line 2)"]),
    "folder": ({}, ".", [], ["expected a YAML config file", "found a folder"]),
    "missing file": ({}, "nope.yaml", [], ["nope.yaml", "no such file"]),
    "odd overrides": ({}, CPU, ["SOLVER.MAX_ITER"], ["command-line overrides", "KEY VALUE pairs", "3 words"]),
    "unknown override": ({}, CPU, ["SOLVER.NOPE", "1"], ["command-line overrides", "SOLVER.NOPE", "unknown key"]),
    "project validation": ({}, CPU, ["MODEL.ROI_DENSEPOSE_HEAD.SEGM_CONFIDENCE.ENABLED", "True"],
                           ["densepose_rcnn_R_18ish_FPN_cpu.yaml", "SEGM_CONFIDENCE.ENABLED", "must be False"]),
    "missing weights": ({}, CPU, ["MODEL.WEIGHTS", "no_such.pth"], ["MODEL.WEIGHTS", "'no_such.pth'",
                                                                    "no such file"]),
    "unregistered dataset": ({}, CPU, ["DATASETS.TRAIN", "('my_set',)"], ["DATASETS.TRAIN", "'my_set'",
                                                                         "registered dataset"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_train_net_refuses_a_bad_config_by_name(train_net, tmp_path, monkeypatch, capsys, case):
    files, config, opts, needles = CASES[case]
    for name, text in files.items():
        _file(tmp_path, name, text)
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert run_cli(train_net.cli, "train_net.py", ["--config-file", config, *opts, "OUTPUT_DIR", "out"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("train_net.py: error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not (tmp_path / "out").exists()  # refused before anything ran
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_apply_net_config_is_read_by_the_same_checks(tmp_path):
    config = _file(tmp_path, "c.yaml", f"_BASE_: {CPU}\nMODEL:\n  NOPE: 1\n")
    with pytest.raises(UserInputError, match=r"c\.yaml.*MODEL\.NOPE: expected a key"):
        setup_inference_cfg(config, "", device="cpu")


def test_train_net_exit_status_and_traceback_only_on_request(tmp_path):
    config = _file(tmp_path, "c.yaml", "")
    cmd = [sys.executable, str(REPO / "train_net.py"), "--config-file", config]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("DENSEPOSE_DEBUG", None)
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"train_net.py: error: {config}: expected a YAML mapping of config keys, found an empty file" in result.stderr
    debug = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env={**env, "DENSEPOSE_DEBUG": "1"},
                           timeout=300)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "UserInputError" in debug.stderr
