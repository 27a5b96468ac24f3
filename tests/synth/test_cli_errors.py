"""python -m densepose_ext.synth on a user's mistakes: a usage error or one message naming the option or file,
exit 2, no traceback, nothing written where the mistake was."""
import os
import subprocess
import sys

import pytest

from densepose_ext.synth.__main__ import PROG, main
from densepose_ext.utils.cli_errors import EXIT_USER_ERROR, run_cli

from .test_migrate import format1_folder


@pytest.mark.parametrize("args,message", [
    (["--size", "10x10"], "argument --size: expected a width and height of at least 16 px, found '10x10'"),
    (["--size", "640by480"], "argument --size: expected WIDTHxHEIGHT such as 640x480, found '640by480'"),
    (["--num-images", "-1"], "argument --num-images: expected an integer >= 0, found -1"),
    (["--workers", "0"], "argument --workers: expected an integer >= 1, found 0"),
])
def test_bad_arguments_are_usage_errors(tmp_path, capsys, args, message):
    argv = ["--out", str(tmp_path / "out"), "--num-images", "1", "--no-progress", *args]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == EXIT_USER_ERROR
    assert f"{PROG}: error: {message}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_output_under_a_regular_file_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    out = tmp_path / "notes.txt" / "synth"
    assert run_cli(main, PROG, ["--out", str(out), "--num-images", "1", "--no-progress"]) == EXIT_USER_ERROR
    assert (f"{PROG}: error: --out: expected a location inside folders, found '{out}', under the regular file "
            f"'{tmp_path / 'notes.txt'}'") in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_folder_of_an_older_format_names_the_migrate_command(tmp_path, capsys):
    root = format1_folder(tmp_path / "synth")
    assert run_cli(main, PROG, ["--out", str(root), "--num-images", "1", "--seed", "5", "--size", "20x16",
                                "--no-progress"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "synth_config.json: field 'format_version': expected 2, found 1" in err
    assert f"python -m densepose_ext.synth migrate {root}" in err


def test_the_process_exits_2_without_a_traceback(tmp_path):
    (tmp_path / "f").write_text("")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("DENSEPOSE_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "densepose_ext.synth", "--out", str(tmp_path / "f"),
                           "--num-images", "1"], env=env, capture_output=True, text=True)
    assert done.returncode == EXIT_USER_ERROR
    assert "--out: expected a folder (created if missing), found the existing file" in done.stderr
    assert "Traceback" not in done.stderr
