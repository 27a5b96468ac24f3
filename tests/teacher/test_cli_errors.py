"""python -m densepose_ext.teacher on a user's mistakes: one message naming the file or option, exit 2, no
traceback (run_cli), checked before any model is built or file written."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from densepose_ext.teacher.__main__ import PROG, main
from densepose_ext.utils.cli_errors import EXIT_USER_ERROR, run_cli

CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "teacher" / "densepose_teacher_synth_cpu.yaml")


def _densify(tmp_path, config=CONFIG, dataset="densepose_synth_val", extra=()):
    return ["densify", "--config", config, "--nearest-points", "--dataset", dataset, "--out", str(tmp_path / "o"),
            "--no-progress", *extra]


@pytest.mark.parametrize("case,message", [
    ("missing config", "nope.yaml: expected an existing YAML config file, found no such file"),
    ("yaml syntax", "bad.yaml: line 2, column 1: expected valid YAML, found a syntax error"),
    ("unknown key", "command-line overrides: SOLVER.NOPE: expected a key of detectron2's or densepose_ext's config"),
    ("missing dataset", "--dataset: expected a registered dataset, one of ["),
    ("out under a file", "--out: expected a location inside folders"),
])
def test_densify_refuses_by_name(tmp_path, capsys, case, message):
    (tmp_path / "bad.yaml").write_text("MODEL: [\n")
    (tmp_path / "file").write_text("")
    argv = {
        "missing config": _densify(tmp_path, config=str(tmp_path / "nope.yaml")),
        "yaml syntax": _densify(tmp_path, config=str(tmp_path / "bad.yaml")),
        "unknown key": _densify(tmp_path, extra=["SOLVER.NOPE", "1"]),
        "missing dataset": _densify(tmp_path, dataset="my_set"),
        "out under a file": _densify(tmp_path)[:-2] + [str(tmp_path / "file" / "o"), "--no-progress"],
    }[case]
    assert run_cli(main, PROG, argv) == EXIT_USER_ERROR
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{PROG}: error: ") and message in err[0] and len(err) == 2
    assert not (tmp_path / "o").exists()


def test_exclusive_labellers_are_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(_densify(tmp_path, extra=["--dense-truth"]))
    assert info.value.code == EXIT_USER_ERROR
    assert "--nearest-points and --dense-truth exclude each other" in capsys.readouterr().err


def test_the_process_exits_2_without_a_traceback(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("DENSEPOSE_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "densepose_ext.teacher", *_densify(tmp_path, dataset="my_set")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == EXIT_USER_ERROR
    assert "--dataset: expected a registered dataset" in done.stderr and "'my_set'" in done.stderr
    assert "Traceback" not in done.stderr
