"""Determinism (bytes identical whatever the worker count), resume, and the CLI arguments."""
import argparse
import json
import shutil

import pytest

from densepose_ext.synth.__main__ import parse_size
from densepose_ext.synth.dataset_format import SYNTH_SURFACE
from densepose_ext.synth.generate import generate, render_image

from .conftest import NUM_IMAGES, SEED, SIZE


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_workers_give_identical_bytes(synth_dir, tmp_path):
    generate(tmp_path, NUM_IMAGES, seed=SEED, size=SIZE, workers=2, progress=False)
    a, b = _files(synth_dir), _files(tmp_path)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_resume_redoes_only_missing_images(synth_dir, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(synth_dir, out)
    (out / "shards" / "000002.json").unlink()         # interrupted before image 2 was marked done
    (out / "images" / "000002.jpg").write_bytes(b"")  # ... with a half-written image
    (out / "annotations.json").unlink()
    generate(out, NUM_IMAGES, seed=SEED, size=SIZE, workers=1, progress=False)
    assert _files(out) == _files(synth_dir)


def test_other_arguments_refuse_to_resume(synth_dir, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(synth_dir, out)
    with pytest.raises(ValueError, match="synth_config.json"):
        generate(out, NUM_IMAGES, seed=SEED + 1, size=SIZE, progress=False)


def test_seed_changes_output(synth_dir, tmp_path):
    generate(tmp_path, 1, seed=SEED + 1, size=SIZE, progress=False)
    assert (tmp_path / "images" / "000000.jpg").read_bytes() != (synth_dir / "images" / "000000.jpg").read_bytes()


class _RecordingSurface:
    """Delegates to a real surface and records which of its attributes were read."""

    def __init__(self, surface):
        self._surface, self.read = surface, set()

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._surface, name)


def test_render_image_draws_on_the_surface_it_is_given(synth_dir):
    # the same image as the generated dataset's first one, and every surface lookup went to the given object
    surface = _RecordingSurface(SYNTH_SURFACE.load())
    r = render_image(0, SEED, SIZE, surface)
    assert surface.read
    assert r["image"] == {"id": 1, "file_name": "000000.jpg", "height": SIZE[0], "width": SIZE[1]}
    first = json.loads((synth_dir / "shards" / "000000.json").read_text())
    assert json.loads(json.dumps(r["annotations"])) == first["annotations"]


def test_parse_size():
    assert parse_size("640x480") == (480, 640)
    with pytest.raises(argparse.ArgumentTypeError, match="WIDTHxHEIGHT"):
        parse_size("640")


def test_cli_reports_bad_arguments(tmp_path, capsys):
    from densepose_ext.synth.__main__ import main

    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--num-images", "2", "--workers", "0"])
    assert "--workers: expected an integer >= 1, found 0" in capsys.readouterr().err
