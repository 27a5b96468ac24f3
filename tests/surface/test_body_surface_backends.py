"""get_surface backends: the "smpl" backend on files in the reference's SMPL_subdiv.mat layout (written
here from the anny surface, one file vertex per triangle corner as the reference's seams do)."""
import numpy as np
import pytest

from densepose_ext.surface import BodySurface, get_surface
from densepose_ext.surface.asset import DEFAULT_ASSET, load_asset

scipy_io = pytest.importorskip("scipy.io")


@pytest.fixture(scope="module")
def anny():
    return get_surface()


@pytest.fixture(scope="module")
def smpl_dir(tmp_path_factory, anny):
    d = tmp_path_factory.mktemp("smpl")
    corners = anny.faces.reshape(-1)  # file vertex 3f + k = corner k of face f
    scipy_io.savemat(d / "SMPL_subdiv.mat", {
        "vertex": anny.vertices[corners].T.astype(np.float64),
        "faces": np.arange(1, 3 * len(anny.faces) + 1).reshape(-1, 3).astype(np.float64),
        "Part_ID_subdiv": np.repeat(anny.face_part, 3)[:, None].astype(np.float64),
        "U_subdiv": anny.face_uv[:, :, 0].reshape(-1, 1).astype(np.float64),
        "V_subdiv": anny.face_uv[:, :, 1].reshape(-1, 1).astype(np.float64),
    })
    return d


def test_smpl_backend_reads_the_same_surface(smpl_dir, anny):
    s = get_surface("smpl", data_dir=smpl_dir)
    assert s is get_surface("smpl", data_dir=smpl_dir)  # cached
    assert np.array_equal(s.face_part, anny.face_part)
    np.testing.assert_allclose(s.face_uv, anny.face_uv, atol=1e-7)
    np.testing.assert_allclose(s.vertices[s.faces], anny.vertices[anny.faces], atol=1e-7)
    # Seams were welded: the surface is one closed piece again, as many vertices as anny's body uses.
    assert len(s.vertices) == len(np.unique(anny.faces))
    rng = np.random.default_rng(0)
    i, u, v = rng.integers(1, 25, 500), rng.random(500), rng.random(500)
    f, b = s.iuv_to_surface(i, u, v)
    np.testing.assert_allclose(s.surface_to_xyz(f, b), anny.surface_to_xyz(*anny.iuv_to_surface(i, u, v)),
                               atol=1e-6)
    i2, u2, v2 = s.mirror_iuv(i, u, v)
    np.testing.assert_allclose(s.surface_to_xyz(*s.iuv_to_surface(i2, u2, v2)) * [-1, 1, 1],
                               s.surface_to_xyz(f, b), atol=1e-3)


def test_unknown_backend_and_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown surface backend 'smlp'"):
        get_surface("smlp")
    with pytest.raises(FileNotFoundError, match="SMPL_subdiv.mat"):
        get_surface("smpl", data_dir=tmp_path)


def test_bad_arrays_are_named_in_errors():
    a = load_asset(DEFAULT_ASSET)
    good = dict(vertices=a["vertices"], faces=a["faces"], face_part=a["face_part"], face_uv=a["face_uv"])
    cases = [
        (dict(face_uv=a["face_uv"][:, :, :1]), rf"face_uv must have shape \({len(a['faces'])}, 3, 2\)"),
        (dict(face_part=np.where(a["face_part"] == 7, 8, a["face_part"])), "must use every part 1..24"),
        (dict(faces=a["faces"] + len(a["vertices"])), "faces index vertices"),
        (dict(face_uv=a["face_uv"] * 2), r"face_uv must lie in \[0, 1\]"),
    ]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            BodySurface(**{**good, **change}, name="bad")
