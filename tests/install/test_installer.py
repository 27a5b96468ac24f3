"""tools/install_detectron2.py: the keep-or-build decision and the source patches, without any network."""
import stat
import sys
from pathlib import Path

import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installer():
    return load_script("tools/install_detectron2.py", "install_detectron2")


def _fake_python(tmp_path: Path, exit_code: int) -> str:
    script = tmp_path / f"python_exit_{exit_code}"
    script.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_keeps_a_detectron2_that_imports(installer, tmp_path, monkeypatch):
    monkeypatch.setattr(installer, "install", lambda *a: pytest.fail("must not reinstall"))
    assert installer.detectron2_usable(sys.executable)
    assert installer.main(["--python", sys.executable, "--cache-dir", str(tmp_path)]) == 0


def test_builds_when_import_fails(installer, tmp_path, monkeypatch):
    broken = _fake_python(tmp_path, 1)
    assert not installer.detectron2_usable(broken)
    calls = []
    monkeypatch.setattr(installer, "install", lambda python, cache: calls.append(python))
    # The fake interpreter still cannot import detectron2 after the (mocked) install: reported as failure.
    assert installer.main(["--python", broken, "--cache-dir", str(tmp_path)]) == 1
    assert calls == [broken]


def test_force_reinstalls_even_if_usable(installer, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(installer, "install", lambda python, cache: calls.append(python))
    assert installer.main(["--python", sys.executable, "--force", "--cache-dir", str(tmp_path)]) == 0
    assert calls == [sys.executable]


def test_numpy_aliases_are_replaced_and_sized_types_kept(installer):
    src = "a.astype(np.bool); np.zeros(3, dtype=np.int); x = np.float; y = np.int64; z = np.float32; np.bool_"
    out = installer.patch_python_source(src)
    assert out == "a.astype(bool); np.zeros(3, dtype=int); x = float; y = np.int64; z = np.float32; np.bool_"


def test_cpu_deform_guard_removed(installer):
    src = ('        if not grad_output.is_cuda:\n'
           '            raise NotImplementedError("Deformable Conv is not supported on CPUs!")\n'
           '        else:\n')
    out = installer.patch_python_source(src)
    assert "raise" not in out and "if False:" in out and out.endswith("        else:\n")


def test_setup_py_patch_refuses_unknown_source(installer):
    with pytest.raises(RuntimeError, match="ext_modules=get_extensions"):
        installer.patch_setup_py("setup(name='something-else')")


def test_export_init_imports_caffe2_api_only_when_caffe2_imports(installer):
    src = "# -*- coding: utf-8 -*-\n\nfrom .api import *\nfrom .flatten import TracingAdapter\n"
    out = installer.patch_export_init(src)
    assert "from caffe2.proto import caffe2_pb2" in out and "except ImportError:" in out
    assert out.endswith("    from .api import *\nfrom .flatten import TracingAdapter\n")
    assert installer.patch_export_init(out) == out  # idempotent: an installed tree may be patched again
    with pytest.raises(RuntimeError, match="export/__init__.py"):
        installer.patch_export_init("from .flatten import TracingAdapter\n")
