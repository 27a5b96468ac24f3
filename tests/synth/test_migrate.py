"""`python -m densepose_ext.synth migrate DIR`: a format-1 folder (IUV images R = I) becomes format 2 (B = I).

The format-1 folders are made by hand, channel order spelled out, as the earlier generator wrote them.
"""
import json

import numpy as np
import pytest
from PIL import Image

from densepose_ext.evaluation.dense_truth import read_dense_truth
from densepose_ext.synth import migrate as migrate_module
from densepose_ext.synth.generate import SynthArgumentError, generate
from densepose_ext.utils.cli_errors import EXIT_USER_ERROR, run_cli
from densepose_ext.synth.migrate import STAGING_DIR, main, migrate

STEMS = ("000000", "000001", "000002")


def _planes(k):
    """I (0..24), U*255, V*255 of image k: a 6x5 person on a 16x20 background, V > 24 (so R and B differ)."""
    i, u, v = (np.zeros((16, 20), np.uint8) for _ in range(3))
    block = (slice(2, 8), slice(3, 8))
    i[block] = np.arange(30).reshape(6, 5) % 24 + 1
    u[block] = 10 * k + np.arange(30).reshape(6, 5)
    v[block] = 255 - 7 * k - np.arange(30).reshape(6, 5)
    return i, u, v


def format1_folder(root):
    """A DensePose-Synth folder as format 1 wrote it: dense/<stem>_IUV.png with red = I, green = U, blue = V."""
    (root / "dense").mkdir(parents=True)
    for k, stem in enumerate(STEMS):
        i, u, v = _planes(k)
        Image.fromarray(np.stack([i, u, v], axis=-1), mode="RGB").save(root / "dense" / f"{stem}_IUV.png")
        Image.fromarray((i > 0).astype(np.uint8)).save(root / "dense" / f"{stem}_INDS.png")
    (root / "synth_config.json").write_text(json.dumps({"format_version": 1, "seed": 5, "size": [16, 20]}, indent=1))
    coco = {"info": {"description": "DensePose-Synth (densepose_ext)", "version": "1"}, "images": [],
            "annotations": [], "categories": []}
    (root / "annotations.json").write_text(json.dumps(coco))
    return root


def assert_format2(root):
    assert json.loads((root / "synth_config.json").read_text()) == {"format_version": 2, "seed": 5, "size": [16, 20]}
    assert json.loads((root / "annotations.json").read_text())["info"]["version"] == "2"
    assert not (root / STAGING_DIR).exists()
    for k, stem in enumerate(STEMS):
        i, u, v = _planes(k)
        rgb = np.asarray(Image.open(root / "dense" / f"{stem}_IUV.png"))
        np.testing.assert_array_equal(rgb, np.stack([v, u, i], axis=-1))  # red = V, green = U, blue = I
        iuv, inds = read_dense_truth(root, stem)
        np.testing.assert_array_equal(iuv, np.stack([i, u, v], axis=-1))
        np.testing.assert_array_equal(inds, i > 0)


def test_migrates_once_and_then_leaves_the_folder_alone(tmp_path):
    root = format1_folder(tmp_path / "synth")
    with pytest.raises(ValueError, match="format_version': expected 2, found 1.*synth migrate"):
        read_dense_truth(root, STEMS[0])
    inds_before = (root / "dense" / "000001_INDS.png").read_bytes()
    assert "migrated to format 2" in migrate(root, progress=False)
    assert_format2(root)
    assert (root / "dense" / "000001_INDS.png").read_bytes() == inds_before
    files = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    assert "nothing to migrate" in migrate(root, progress=False)
    assert {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} == files


class Crash(Exception):
    pass


# os.replace calls of a migration of STEMS: 1-3 the converted files are staged, 4 the COMPLETE marker, 5-7 they
# replace the originals, 8 annotations.json, 9 synth_config.json (the commit point); then the staging is removed.
@pytest.mark.parametrize("module,name,calls", [("os", "replace", 1), ("os", "replace", 3), ("os", "replace", 5),
                                               ("os", "replace", 7), ("os", "replace", 8), ("shutil", "rmtree", 0)])
def test_an_interrupted_migration_finishes_on_rerun_without_converting_twice(tmp_path, monkeypatch, module, name,
                                                                            calls):
    root = format1_folder(tmp_path / "synth")
    target = {"os": migrate_module.os, "shutil": migrate_module.shutil}[module]
    real, count = getattr(target, name), [0]

    def crashing(*args, **kwargs):
        count[0] += 1
        if count[0] > calls:
            raise Crash(f"{module}.{name} call {count[0]}")
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(target, name, crashing)
        with pytest.raises(Crash):
            migrate(root, progress=False)
    if name == "replace":
        # Before the commit point the folder still says format 1: readers refuse it rather than misread it.
        with pytest.raises(ValueError, match="expected 2, found 1"):
            read_dense_truth(root, STEMS[0])
    migrate(root, progress=False)
    assert_format2(root)


def test_refuses_what_it_cannot_migrate(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="synth_config.json: not found"):
        migrate(tmp_path, progress=False)
    root = format1_folder(tmp_path / "synth")
    i, u, v = _planes(0)
    # already the reference's layout (blue = I) in a folder that says format 1: red holds V*255 > 24
    Image.fromarray(np.stack([v, u, i], axis=-1), mode="RGB").save(root / "dense" / "000002_IUV.png")
    with pytest.raises(ValueError, match=r"000002_IUV.png: red channel \(I in format 1\).*got values up to 255; "
                                         "not a format-1 IUV image, regenerate"):
        migrate(root, progress=False)
    (root / "synth_config.json").write_text(json.dumps({"format_version": 7}))
    assert run_cli(main, "migrate", [str(root), "--no-progress"]) == EXIT_USER_ERROR
    assert "format_version': expected 1 (to migrate) or 2, found 7" in capsys.readouterr().err


def test_cli_migrates_and_the_generator_refuses_to_resume_a_format_1_folder(tmp_path, capsys):
    from densepose_ext.synth.__main__ import main as synth_main

    root = format1_folder(tmp_path / "synth")
    with pytest.raises(SynthArgumentError, match="expected 2, found 1.*synth migrate"):
        generate(root, 1, seed=5, size=(16, 20), progress=False)
    synth_main(["migrate", str(root), "--no-progress"])
    assert "migrated to format 2" in capsys.readouterr().out
    assert_format2(root)
