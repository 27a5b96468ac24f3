"""SMPL-based DensePose geometry reader: both file styles, welding of seam duplicates, precomputed
distances, and errors that name file, field, expected and actual."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.io import savemat
from scipy.spatial.distance import pdist, squareform

from densepose_ext.surface.geodesic import MeshGeodesics
from densepose_ext.surface.smpl import SMPL_DIR_ENV, load_smpl_distances, load_smpl_surface

# A unit square in the z = 0 plane cut into two charts along x = 0.5 (a seam): parts 1 and 2.
# Template (welded) vertices: 0..5 on a 3 x 2 grid; file (DensePose) vertices duplicate the seam 1, 4.
TEMPLATE = np.array([[0, 0, 0], [0.5, 0, 0], [1, 0, 0], [0, 1, 0], [0.5, 1, 0], [1, 1, 0]], float)
FILE_TO_TEMPLATE = np.array([0, 1, 3, 4, 1, 2, 4, 5])  # 8 file vertices
FILE_FACES = np.array([[0, 1, 3], [0, 3, 2], [4, 5, 7], [4, 7, 6]])  # 0-based into file vertices
FACE_PART = np.array([1, 1, 2, 2])
FILE_U = np.array([0, 1, 0, 1, 0, 1, 0, 1.0])
FILE_V = np.array([0, 0, 1, 1, 0, 0, 1, 1.0])


def write_subdiv(directory, **override):
    fields = {"vertex": TEMPLATE[FILE_TO_TEMPLATE].T, "faces": FILE_FACES + 1.0,
              "Part_ID_subdiv": FACE_PART[[0, 0, 0, 0, 2, 2, 2, 2]][:, None].astype(float),
              "U_subdiv": FILE_U[None], "V_subdiv": FILE_V[:, None]}
    fields.update(override)
    savemat(directory / "SMPL_subdiv.mat", {k: v for k, v in fields.items() if v is not None})


def write_uv_processed(directory, **override):
    fields = {"All_FaceIndices": FACE_PART[:, None].astype(np.uint8), "All_Faces": FILE_FACES + 1,
              "All_U_norm": FILE_U[:, None], "All_V_norm": FILE_V[:, None],
              "All_vertices": (FILE_TO_TEMPLATE + 1)[None].astype(np.uint32)}
    fields.update(override)
    savemat(directory / "UV_Processed.mat", {k: v for k, v in fields.items() if v is not None})


def check_square(arrays):
    assert arrays.vertices.dtype == np.float32 and arrays.vertices.shape == (6, 3)  # seam welded
    assert arrays.faces.dtype == np.int64 and arrays.faces.shape == (4, 3)
    # The same triangles as the file, now indexing welded vertices.
    np.testing.assert_array_equal(arrays.vertices[arrays.faces], TEMPLATE[FILE_TO_TEMPLATE][FILE_FACES])
    np.testing.assert_array_equal(arrays.face_part, FACE_PART)
    assert arrays.face_uv.dtype == np.float32
    np.testing.assert_array_equal(arrays.face_uv, np.stack([FILE_U[FILE_FACES], FILE_V[FILE_FACES]], -1))
    np.testing.assert_array_equal(TEMPLATE[FILE_TO_TEMPLATE][arrays.source_vertex], arrays.vertices)


def test_reads_smpl_subdiv_and_welds_the_seam(tmp_path):
    write_subdiv(tmp_path)
    arrays = load_smpl_surface(tmp_path)
    check_square(arrays)
    assert arrays.source.endswith("SMPL_subdiv.mat")
    # Welded, the two charts form one surface: from (0, 0, 0) in chart 1 along the bottom edge through
    # the seam vertex to (1, 0, 0) in chart 2 is 1 m (unwelded, the charts would not be connected).
    geo = MeshGeodesics(arrays.vertices, arrays.faces, num_samples=6, cache_dir=False)
    ends = [int(np.flatnonzero((arrays.vertices == p).all(axis=1))[0]) for p in ([0, 0, 0], [1, 0, 0])]
    assert geo.vertex_distance(np.array(ends[:1]), np.array(ends[1:]))[0] == pytest.approx(1.0, rel=1e-3)


def test_reads_uv_processed_with_template_from_argument_file_or_data_dir(tmp_path):
    write_uv_processed(tmp_path)
    check_square(load_smpl_surface(tmp_path, template_vertices=TEMPLATE))
    np.save(tmp_path / "t.npy", TEMPLATE)
    check_square(load_smpl_surface(tmp_path, template_vertices=tmp_path / "t.npy"))
    with pytest.raises(FileNotFoundError, match="smpl_template.npy"):
        load_smpl_surface(tmp_path)
    np.save(tmp_path / "smpl_template.npy", TEMPLATE)
    check_square(load_smpl_surface(tmp_path))


def test_data_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(SMPL_DIR_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match=SMPL_DIR_ENV):
        load_smpl_surface()
    monkeypatch.setenv(SMPL_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="expected SMPL_subdiv.mat or UV_Processed.mat"):
        load_smpl_surface()
    write_subdiv(tmp_path)
    check_square(load_smpl_surface())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_smpl_surface(tmp_path / "missing")


@pytest.mark.parametrize("override, message", [
    (dict(U_subdiv=None), r"SMPL_subdiv.mat: missing field 'U_subdiv' \(fields present: \['Part_ID_subdiv'"),
    (dict(vertex=np.zeros((8, 2))), r"'vertex' expected shape \(n, 3\), got \(8, 2\)"),
    (dict(V_subdiv=np.zeros((7, 1))), r"'V_subdiv' expected shape \(8, 1\) or \(1, 8\), got \(7, 1\)"),
    (dict(faces=FILE_FACES.astype(float)), r"'faces' expected 1-based indices in \[1, 8\], got \[0.0, 7.0\]"),
    (dict(faces=FILE_FACES + 1.5), "'faces' expected integer indices"),
    (dict(Part_ID_subdiv=np.full((8, 1), 25.0)), r"'Part_ID_subdiv' expected finite values in \[1, 24\], got \[25.0"),
    (dict(U_subdiv=FILE_U[None] * 2), r"'U_subdiv' expected finite values in \[0.0, 1.0\]"),
    (dict(Part_ID_subdiv=np.arange(1, 9)[:, None].astype(float)), "mixed parts"),
])
def test_subdiv_errors_name_file_field_expected_actual(tmp_path, override, message):
    write_subdiv(tmp_path, **override)
    with pytest.raises(ValueError, match=message):
        load_smpl_surface(tmp_path)


@pytest.mark.parametrize("override, message", [
    (dict(All_vertices=None), "UV_Processed.mat: missing field 'All_vertices'"),
    (dict(All_vertices=(FILE_TO_TEMPLATE + 7)[None]), r"'All_vertices' expected 1-based indices in \[1, 6\]"),
    (dict(All_FaceIndices=np.zeros((4, 1))), r"'All_FaceIndices' expected finite values in \[1, 24\]"),
    (dict(All_FaceIndices=np.ones((3, 1))), r"'All_FaceIndices' expected shape \(4, 1\) or \(1, 4\)"),
    (dict(All_Faces=np.ones((4, 4))), r"'All_Faces' expected shape \(n, 3\), got \(4, 4\)"),
    (dict(All_V_norm=np.full((8, 1), np.nan)), r"'All_V_norm' expected finite values in \[0.0, 1.0\]"),
])
def test_uv_processed_errors_name_file_field_expected_actual(tmp_path, override, message):
    write_uv_processed(tmp_path, **override)
    with pytest.raises(ValueError, match=message):
        load_smpl_surface(tmp_path, template_vertices=TEMPLATE)


def test_bad_template_is_rejected(tmp_path):
    write_uv_processed(tmp_path)
    with pytest.raises(ValueError, match=r"template_vertices: expected finite SMPL template positions"):
        load_smpl_surface(tmp_path, template_vertices=TEMPLATE[:, :2])


def test_precomputed_distances_follow_the_condensed_layout(tmp_path):
    assert load_smpl_distances(tmp_path) is None  # optional files absent
    rng = np.random.default_rng(0)
    points = rng.random((7, 3))  # distance-matrix rows; file vertex k uses row index[k]
    index = np.array([3, 0, 6, 2, 2, 5, 1, 4])
    with open(tmp_path / "Pdist_matrix.pkl", "wb") as fh:
        pickle.dump({"Pdist_matrix": pdist(points)[:, None]}, fh)
    savemat(tmp_path / "SMPL_SUBDIV_TRANSFORM.mat", {"index": (index + 1)[:, None].astype(float)})
    dist = load_smpl_distances(tmp_path)
    a, b = np.meshgrid(np.arange(8), np.arange(8))
    np.testing.assert_allclose(dist.vertex_distance(a.ravel(), b.ravel()),
                               squareform(pdist(points))[index[a.ravel()], index[b.ravel()]])

    with open(tmp_path / "Pdist_matrix.pkl", "wb") as fh:
        pickle.dump({"Pdist_matrix": np.zeros(20)}, fh)
    with pytest.raises(ValueError, match="expected n\\(n-1\\)/2 entries, got 20"):
        load_smpl_distances(tmp_path)
    with open(tmp_path / "Pdist_matrix.pkl", "wb") as fh:
        pickle.dump({"wrong": 1}, fh)
    with pytest.raises(ValueError, match="Pdist_matrix.pkl: expected a dict with key 'Pdist_matrix'"):
        load_smpl_distances(tmp_path)
