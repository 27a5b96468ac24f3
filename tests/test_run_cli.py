"""run_cli, the exit of every CLI: Ctrl-C is one line and status 130, or the traceback with DENSEPOSE_DEBUG."""
import pytest

from densepose_ext.utils.cli_errors import DEBUG_ENV, EXIT_INTERRUPTED, run_cli


def _interrupted(argv):
    raise KeyboardInterrupt


def test_ctrl_c_is_one_line_and_status_130(monkeypatch, capsys):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    assert run_cli(_interrupted, "tool.py", []) == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "tool.py: interrupted\n"


def test_ctrl_c_propagates_when_debugging(monkeypatch):
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(KeyboardInterrupt):
        run_cli(_interrupted, "tool.py", [])
