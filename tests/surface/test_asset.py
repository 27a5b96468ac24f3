"""Asset file: version + checksum verified at load, clear errors, and loading needs neither anny nor torch."""
import subprocess
import sys

import numpy as np
import pytest

from densepose_ext.surface.asset import DEFAULT_ASSET, FORMAT_VERSION, load_asset, save_asset


@pytest.fixture(scope="module")
def arrays():
    return load_asset(DEFAULT_ASSET)


def test_save_load_round_trip(tmp_path, arrays):
    path = tmp_path / "a.npz"
    checksum = save_asset(path, arrays, source="test")
    back = load_asset(path)
    assert back["source"] == "test"
    for name in ("vertices", "faces", "face_part", "face_uv", "vertex_mirror"):
        assert np.array_equal(back[name], arrays[name]), name
    assert len(checksum) == 64
    assert not (tmp_path / "a.npz.tmp").exists()  # written atomically


def rewrite(path, src, **changes):
    with np.load(src) as d:
        fields = {k: d[k] for k in d.files}
    fields.update(changes)
    np.savez(path, **fields)


def test_edited_content_fails_checksum(tmp_path):
    uv = np.load(DEFAULT_ASSET)["face_uv"].copy()
    uv[0, 0, 0] = 0.5 if uv[0, 0, 0] != 0.5 else 0.25
    rewrite(tmp_path / "bad.npz", DEFAULT_ASSET, face_uv=uv)
    with pytest.raises(ValueError, match=r"bad\.npz: checksum mismatch"):
        load_asset(tmp_path / "bad.npz")


def test_wrong_version_and_missing_field_are_named(tmp_path):
    rewrite(tmp_path / "old.npz", DEFAULT_ASSET, format_version=np.int64(FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=f"format_version is {FORMAT_VERSION + 1}, expected {FORMAT_VERSION}"):
        load_asset(tmp_path / "old.npz")
    with np.load(DEFAULT_ASSET) as d:
        fields = {k: d[k] for k in d.files if k != "vertex_mirror"}
    np.savez(tmp_path / "partial.npz", **fields)
    with pytest.raises(ValueError, match=r"missing fields \['vertex_mirror'\]"):
        load_asset(tmp_path / "partial.npz")


def test_missing_file_says_how_to_rebuild(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m densepose_ext.surface build"):
        load_asset(tmp_path / "nope.npz")


def test_committed_asset_is_compact():
    assert DEFAULT_ASSET.stat().st_size < 3_000_000


def test_loading_the_surface_does_not_import_anny():
    code = ("import sys; from densepose_ext.surface import get_surface; s = get_surface(); "
            "s.iuv_to_surface([1], [0.5], [0.5]); print('anny' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
