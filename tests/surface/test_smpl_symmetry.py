"""The SMPL flip: the reference's UV_symmetry_transforms.mat when present, the mesh's mirror otherwise.

Fixtures are written in the reference's formats with scipy.io (tests/data/smpl_doll.py), not by our code.
"""
import numpy as np
import pytest
import scipy.io

from densepose_ext.surface import get_surface
from densepose_ext.surface.parts import FINE_PART_MIRROR
from densepose_ext.surface.smpl_symmetry import find_symmetry_table, load_symmetry_table
from tests.data.smpl_doll import exact_mirror, write_doll, write_symmetry_table


def _points(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(1, 25, n), rng.random(n), rng.random(n)


def test_the_table_looks_up_the_old_part_at_truncated_v_row_u_column(tmp_path):
    # Every cell of every table distinct: value = (part, row, col) packed into [0, 1].
    write_symmetry_table(tmp_path, lambda p, r, c: (p * 65536 + r * 256 + c) / (25 * 65536.0),
                         lambda p, r, c: (p * 65536 + c * 256 + r) / (25 * 65536.0))
    mirror = load_symmetry_table(tmp_path / "UV_symmetry_transforms.mat")
    i2, u2, v2 = mirror(np.array([3, 24]), np.array([0.5, 1.0]), np.array([0.25, 0.0]))
    assert i2.tolist() == [4, 23]
    # int(0.5 * 255) = 127, int(0.25 * 255) = 63; the table of part 3 (the point's part before the flip)
    np.testing.assert_allclose(u2, [(3 * 65536 + 63 * 256 + 127) / (25 * 65536.0),
                                    (24 * 65536 + 0 * 256 + 255) / (25 * 65536.0)], rtol=1e-6)
    np.testing.assert_allclose(v2, [(3 * 65536 + 127 * 256 + 63) / (25 * 65536.0),
                                    (24 * 65536 + 255 * 256 + 0) / (25 * 65536.0)], rtol=1e-6)


def test_table_and_mesh_mirror_agree_on_the_fabricated_doll(tmp_path):
    with_table = get_surface("smpl", data_dir=write_doll(tmp_path / "table", table="exact"))
    mesh_only = get_surface("smpl", data_dir=write_doll(tmp_path / "mesh", table=None))
    i, u, v = _points()
    by_table, by_mesh = with_table.mirror_iuv(i, u, v), mesh_only.mirror_iuv(i, u, v)
    exact = exact_mirror(i, u, v)
    assert np.array_equal(by_table[0], by_mesh[0]) and np.array_equal(by_mesh[0], FINE_PART_MIRROR[i])
    # The mesh's mirror is exact on this symmetric doll; the table is exact at its 256 x 256 grid and truncates.
    np.testing.assert_allclose(np.stack(by_mesh[1:]), np.stack(exact[1:]), atol=1e-5)
    np.testing.assert_allclose(np.stack(by_table[1:]), np.stack(by_mesh[1:]), atol=1 / 255 + 1e-6)
    assert np.abs(by_table[1] - by_mesh[1]).max() > 1e-4  # not the same code path: truncation shows


def test_the_table_is_what_flips_when_present(tmp_path):
    surface = get_surface("smpl", data_dir=write_doll(tmp_path, table="v_reversed"))
    i, u, v = _points()
    _, _, v2 = surface.mirror_iuv(i, u, v)
    np.testing.assert_allclose(v2, 1.0 - np.floor(v.astype(np.float32) * np.float32(255)) / 255.0, atol=1e-6)


def test_no_table_means_none_and_a_malformed_table_is_named(tmp_path):
    assert find_symmetry_table(tmp_path) is None
    scipy.io.savemat(tmp_path / "UV_symmetry_transforms.mat", {"U_transforms": np.zeros((24, 256, 256))})
    with pytest.raises(ValueError, match=r"UV_symmetry_transforms.mat: field 'U_transforms' expected a 1 x 24 cell"):
        find_symmetry_table(tmp_path)
    write_symmetry_table(tmp_path, lambda p, r, c: 2.0 + 0 * c, lambda p, r, c: r / 255.0)
    with pytest.raises(ValueError, match=r"field 'U_transforms' cell 1 expected chart values in \[0, 1\]"):
        find_symmetry_table(tmp_path)
