"""SMPL-based DensePose geometry reader: both file styles, welding of seam duplicates, precomputed
distances, and errors that name file, field, expected and actual."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.io import savemat
from scipy.spatial.distance import pdist, squareform

from densepose_ext.surface.geodesic import MeshGeodesics
from densepose_ext.surface import pickled_array
from densepose_ext.surface.smpl import (SMPL_DIR_ENV, load_smpl_chart_vertices, load_smpl_distances,
                                        load_smpl_surface)

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
    (dict(Part_ID_subdiv=np.full((8, 1), 1.5)), "'Part_ID_subdiv' expected integer part labels"),
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


def test_faces_mixing_parts_are_accepted_and_left_out_of_the_charts(tmp_path, caplog):
    # File vertex 1 (a corner of face 0 only) moves to part 2: face 0 now mixes parts 1 and 2.
    write_subdiv(tmp_path, Part_ID_subdiv=np.array([1, 2, 1, 1, 2, 2, 2, 2.0])[:, None])
    arrays = load_smpl_surface(tmp_path)
    np.testing.assert_array_equal(arrays.face_part, [1, 2, 2])
    np.testing.assert_array_equal(arrays.vertices[arrays.faces], TEMPLATE[FILE_TO_TEMPLATE][FILE_FACES[1:]])
    assert "1 of 4 faces have corners in different parts (first: face 0, parts [1, 2, 1])" in caplog.text
    charts = load_smpl_chart_vertices(tmp_path)  # what the reference's evaluator reads: every vertex
    np.testing.assert_array_equal(charts.part, [1, 2, 1, 1, 2, 2, 2, 2])
    np.testing.assert_array_equal(charts.uv, np.stack([FILE_U, FILE_V], 1))


def reference_order(full: np.ndarray) -> np.ndarray:
    """The reference file's layout, spelled out: column by column of the upper triangle (MATLAB D(triu(true(M), 1))),
    i.e. for b = 1, 2, ..., M-1 the pairs (0, b), (1, b), ..., (b-1, b)."""
    return np.array([full[a, b] for b in range(len(full)) for a in range(b)], dtype=np.float32)


@pytest.mark.parametrize("protocol", [2, 4])
def test_precomputed_distances_follow_the_reference_layout(tmp_path, protocol, monkeypatch):
    monkeypatch.setattr(pickled_array, "MIN_MAPPED_BYTES", 1)  # map even this small matrix
    assert load_smpl_distances(tmp_path) is None  # optional files absent
    rng = np.random.default_rng(0)
    # 200 mesh vertices: at protocol 4 the matrix (80 kB) is stored outside pickle's 64 kB frames, as at full size.
    points = rng.random((200, 3))
    full = squareform(pdist(points))
    index = rng.integers(0, 200, 300)  # file vertex k is mesh vertex index[k]; some share a mesh vertex
    with open(tmp_path / "Pdist_matrix.pkl", "wb") as fh:
        pickle.dump({"Pdist_matrix": reference_order(full)[:, None]}, fh, protocol=protocol)
    savemat(tmp_path / "SMPL_SUBDIV_TRANSFORM.mat", {"index": (index + 1)[:, None].astype(float)})
    dist = load_smpl_distances(tmp_path)
    # Protocol 4 stores the array's bytes as one raw run; Python 3 at protocol 2 re-encodes them as text.
    assert pickled_array.is_mapped(dist.condensed) == (protocol == 4)
    a, b = rng.integers(0, 300, 5000), rng.integers(0, 300, 5000)
    a[:300] = b[:300] = np.arange(300)  # each vertex with itself: 0
    np.testing.assert_allclose(dist.vertex_distance(a, b), full[index[a], index[b]], rtol=1e-6)
    # scipy's condensed order (the old reading) is a different layout for any M > 3.
    assert not np.allclose(reference_order(full), pdist(points))


def test_python2_pickle_is_mapped(tmp_path, monkeypatch):
    """The reference's own file was pickled by Python 2: numpy's state holds the raw bytes as a BINSTRING (a str
    read back with latin1). Written here opcode by opcode, independently of any pickler."""
    monkeypatch.setattr(pickled_array, "MIN_MAPPED_BYTES", 1)
    values = np.array([0.5, 1.25, 2.0], dtype="<f4")
    raw = values.tobytes()
    stream = b"".join([
        b"\x80\x02}q\x00",  # PROTO 2, EMPTY_DICT, BINPUT
        b"U\x0cPdist_matrixq\x01",  # SHORT_BINSTRING key
        b"cnumpy.core.multiarray\n_reconstruct\nq\x02",  # GLOBAL
        b"cnumpy\nndarray\nq\x03K\x00\x85U\x01b\x87R",  # ndarray, (0,), b"b", TUPLE3, REDUCE
        b"(K\x01K\x03K\x01\x86cnumpy\ndtype\nU\x02f4K\x00K\x01\x87R",  # MARK 1 (3, 1) dtype("f4", 0, 1)
        b"(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb",  # its state, BUILD
        b"\x89T" + len(raw).to_bytes(4, "little") + raw,  # NEWFALSE (not Fortran), BINSTRING data
        b"tbs.",  # TUPLE, BUILD, SETITEM, STOP
    ])
    (tmp_path / "p.pkl").write_bytes(stream)
    loaded = pickled_array.load_mapped(tmp_path / "p.pkl")["Pdist_matrix"]
    assert pickled_array.is_mapped(loaded) and loaded.shape == (3, 1)
    np.testing.assert_array_equal(loaded[:, 0], values)
    np.testing.assert_array_equal(pickle.loads(stream, encoding="latin1")["Pdist_matrix"], loaded)


def test_bad_distance_files_are_named(tmp_path):
    savemat(tmp_path / "SMPL_SUBDIV_TRANSFORM.mat", {"index": np.ones((8, 1))})
    for payload, message in [
        ({"Pdist_matrix": np.zeros(20)}, "expected n\\(n-1\\)/2 entries, got 20"),
        ({"wrong": 1}, "Pdist_matrix.pkl: expected a dict with key 'Pdist_matrix'"),
        ({"Pdist_matrix": np.zeros((3, 2))}, r"'Pdist_matrix' expected a numpy array of shape \(K,\) or \(K, 1\)"),
        ({"Pdist_matrix": __import__("collections").OrderedDict()}, "found the global collections.OrderedDict"),
    ]:
        with open(tmp_path / "Pdist_matrix.pkl", "wb") as fh:
            pickle.dump(payload, fh)
        with pytest.raises(ValueError, match=message):
            load_smpl_distances(tmp_path)
