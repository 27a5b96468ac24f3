"""Install detectron2 0.6 into a Python environment without a C++/CUDA toolchain.

There is no ``detectron2`` distribution on PyPI. The registry sdist ``pb1-detectron2==0.6`` holds detectron2's
Python sources unchanged but not the C++/CUDA sources its setup.py compiles, so ``pip install`` of it fails.
This script downloads that sdist, patches it so that it installs as pure Python, and installs it:

- setup.py builds no extension modules, no longer requires ``black``, and ships the model-zoo configs that
  the sdist keeps under ``detectron2/model_zoo/configs``;
- ``detectron2/_C.py`` is our pure-Python stand-in (tools/detectron2_C.py): deformable convolution through
  torchvision, clear errors for rotated-box kernels;
- deformable convolution is allowed on the CPU (the stand-in runs on any device);
- numpy aliases removed in numpy 1.24 (``np.bool``, ``np.int``, ...) and ``Image.LINEAR`` (removed in Pillow
  10) are replaced by their equivalents;
- ``detectron2/export/__init__.py`` imports its Caffe2 API only when caffe2 imports (torch 2 no longer ships it),
  as later detectron2 releases do, so ``TracingAdapter`` and the TorchScript helpers import (densepose_ext.export).

A detectron2 that already imports (for instance a user's CUDA build) is never replaced, unless ``--force``.

Usage: python tools/install_detectron2.py [--python PYTHON] [--force] [--cache-dir DIR]
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDIST_REQUIREMENT = "pb1-detectron2==0.6"
SDIST_FILENAME = "pb1-detectron2-0.6.tar.gz"
REPO_ROOT = Path(__file__).resolve().parent.parent
SHIM = Path(__file__).resolve().parent / "detectron2_C.py"

_NUMPY_ALIAS = re.compile(r"\bnp\.(bool|int|float|object|str)\b(?!_)")
_CPU_DEFORM_GUARD = re.compile(
    r"if not (?:input|grad_output)\.is_cuda:\n(\s+)raise NotImplementedError\(\"Deformable Conv is not "
    r"supported on CPUs!\"\)")


def detectron2_usable(python: str) -> bool:
    """True when ``import detectron2`` succeeds in the interpreter ``python`` (then we leave it alone)."""
    result = subprocess.run([python, "-c", "import detectron2"], capture_output=True)
    return result.returncode == 0


def patch_setup_py(text: str) -> str:
    """Make detectron2's setup.py build pure Python: no extensions, no black, model-zoo configs shipped."""
    replacements = [
        ("ext_modules=get_extensions(),", "ext_modules=[],"),
        ('cmdclass={"build_ext": torch.utils.cpp_extension.BuildExtension},', ""),
        ('"black==21.4b2",', ""),
        ('package_data={"detectron2.model_zoo": get_model_zoo_configs()},',
         'package_data={"detectron2.model_zoo": ["configs/**/*.yaml", "configs/**/*.py"]},'),
    ]
    for old, new in replacements:
        if old not in text:
            raise RuntimeError(f"detectron2 setup.py: expected to find {old!r}; is this detectron2 0.6?")
        text = text.replace(old, new)
    return text


def patch_python_source(text: str) -> str:
    """Replace numpy aliases and Pillow constants that current releases removed; allow CPU deform conv."""
    text = _NUMPY_ALIAS.sub(lambda m: m.group(1), text)
    text = text.replace("Image.LINEAR", "Image.BILINEAR")
    return _CPU_DEFORM_GUARD.sub(
        lambda m: f"if False:  # densepose_ext: the pure-Python _C runs on any device\n{m.group(1)}pass", text)


_EXPORT_CAFFE2_IMPORT = "from .api import *\n"
_EXPORT_CAFFE2_OPTIONAL = """try:  # densepose_ext: caffe2 is optional (torch 2 ships none), as in later detectron2 releases
    from caffe2.proto import caffe2_pb2 as _tmp  # noqa: F401
except ImportError:
    pass
else:
    from .api import *
"""


def patch_export_init(text: str) -> str:
    """detectron2/export/__init__.py: import the Caffe2 export API only when caffe2 imports."""
    if _EXPORT_CAFFE2_OPTIONAL in text:
        return text
    if _EXPORT_CAFFE2_IMPORT not in text:
        raise RuntimeError(f"detectron2/export/__init__.py: expected to find {_EXPORT_CAFFE2_IMPORT!r}; "
                           "is this detectron2 0.6?")
    return text.replace(_EXPORT_CAFFE2_IMPORT, _EXPORT_CAFFE2_OPTIONAL)


def patch_tree(src: Path) -> None:
    """Apply every patch to an unpacked detectron2 0.6 sdist rooted at ``src``."""
    setup_py = src / "setup.py"
    setup_py.write_text(patch_setup_py(setup_py.read_text()))
    for path in sorted((src / "detectron2").rglob("*.py")):
        text = path.read_text()
        patched = patch_python_source(text)
        if patched != text:
            path.write_text(patched)
    export_init = src / "detectron2" / "export" / "__init__.py"
    export_init.write_text(patch_export_init(export_init.read_text()))
    shutil.copyfile(SHIM, src / "detectron2" / "_C.py")


def download_sdist(python: str, cache_dir: Path) -> Path:
    """Fetch the sdist from the package index into ``cache_dir`` (once)."""
    target = cache_dir / SDIST_FILENAME
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Preparing this sdist's metadata imports torch, hence --no-build-isolation.
        subprocess.run([python, "-m", "pip", "download", "--quiet", "--no-deps", "--no-build-isolation",
                        "--no-binary", ":all:", SDIST_REQUIREMENT, "-d", str(cache_dir)], check=True)
    return target


def install(python: str, cache_dir: Path) -> None:
    sdist = download_sdist(python, cache_dir)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        src = Path(tmp) / SDIST_FILENAME.removesuffix(".tar.gz")
        patch_tree(src)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-build-isolation",
                        "-c", str(REPO_ROOT / "constraints.txt"), str(src)], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter to install into")
    parser.add_argument("--force", action="store_true", help="reinstall even if detectron2 imports")
    parser.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "build" / "detectron2-sdist")
    args = parser.parse_args(argv)
    if not args.force and detectron2_usable(args.python):
        print(f"detectron2 already imports in {args.python}: keeping it.")
        return 0
    install(args.python, args.cache_dir)
    if not detectron2_usable(args.python):
        print("detectron2 was installed but does not import; see the messages above.", file=sys.stderr)
        return 1
    print("detectron2 0.6 installed (pure Python, see tools/install_detectron2.py).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
