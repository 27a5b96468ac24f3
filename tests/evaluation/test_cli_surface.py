"""The evaluation CLI and evaluate_densepose need the ground truth's body surface named: there is no default.

--surface anny|smpl [--smpl-dir DIR] or --dataset NAME (its metadata's densepose_surface); anything else is a
usage error that says what to pass.
"""
import json
import re

import pytest
from detectron2.data import MetadataCatalog

import densepose_ext.evaluation.__main__ as cli
from densepose_ext.data.dataset_surface import METADATA_KEY
from densepose_ext.evaluation.evaluate import evaluate_densepose
from densepose_ext.evaluation.ground_truth import DensePoseGroundTruth
from densepose_ext.evaluation.results_file import write_json
from densepose_ext.surface.source import SurfaceSource

from .synthetic import ann_box, chart_distance, dataset, make_person, perfect_result, record

ON_SMPL = "densepose_ext_test_cli_on_smpl"
NO_SURFACE = "densepose_ext_test_cli_no_surface"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_surface")
    person = make_person(1, 1, [20, 30, 64, 128], 40, seed=3)
    (root / "gt.json").write_text(json.dumps(dataset([person])))
    write_json(str(root / "results.json"), [record(1, perfect_result(person), ann_box(person), 0.9)])
    MetadataCatalog.get(ON_SMPL).set(**{METADATA_KEY: SurfaceSource("smpl", "/data/smpl")})
    MetadataCatalog.get(NO_SURFACE).set(thing_classes=["person"])
    yield ["--gt", str(root / "gt.json"), "--results", str(root / "results.json")]
    MetadataCatalog.remove(ON_SMPL)
    MetadataCatalog.remove(NO_SURFACE)


@pytest.mark.parametrize(
    "extra,source,geodesic",
    [
        (["--surface", "anny"], SurfaceSource("anny"), "exact"),
        (["--surface", "smpl"], SurfaceSource("smpl"), "chart-vertex"),
        (["--surface", "smpl", "--smpl-dir", "/my/smpl", "--geodesic", "exact"], SurfaceSource("smpl", "/my/smpl"),
         "exact"),
        (["--dataset", ON_SMPL], SurfaceSource("smpl", "/data/smpl"), "chart-vertex"),
    ],
)
def test_the_named_surface_measures_the_geodesics(files, monkeypatch, extra, source, geodesic):
    asked = []
    monkeypatch.setattr(cli, "surface_distance", lambda *args: asked.append(args) or chart_distance)
    report = cli.main(files + extra)
    assert asked == [(source, geodesic)]  # the surface's own convention unless --geodesic names one
    assert report["surface"] == str(source) and report["conventions"]["geodesic"] == geodesic
    assert report["GPS"]["AP"] == pytest.approx(100.0)


@pytest.mark.parametrize(
    "extra,message",
    [
        ([], "a body surface is required .*--surface smpl \\[--smpl-dir DIR\\].*--surface anny.*--dataset NAME"),
        (["--surface", "default"], "argument --surface: invalid choice: 'default'"),
        (["--surface", "anny", "--smpl-dir", "/my/smpl"], "--smpl-dir /my/smpl: only with --surface smpl"),
        (["--surface", "anny", "--dataset", ON_SMPL], "argument --dataset: not allowed with argument --surface"),
        (["--dataset", "densepose_ext_test_never_registered"],
         "--dataset densepose_ext_test_never_registered: not a registered dataset; expected one of .*"
         "densepose_coco_2014_minival"),
        (["--dataset", NO_SURFACE], f"--dataset: dataset '{NO_SURFACE}': no body surface: its metadata has no "
                                    f"'{METADATA_KEY}'"),
        (["--surface", "anny", "--geodesic", "chart-vertex"],
         "--geodesic: 'chart-vertex' needs the reference's precomputed distances .* the anny surface has none"),
    ],
)
def test_no_default_surface_on_the_command_line(files, capsys, extra, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(files + extra)
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err), message


def test_evaluate_densepose_refuses_to_guess_the_surface(files):
    gt = DensePoseGroundTruth(json.loads(open(files[1]).read()))
    with pytest.raises(ValueError, match=r"evaluate_densepose\(res.json\): distance_fn: expected the geodesic .*"
                                         "got None; there is no default surface"):
        evaluate_densepose(gt, [], source="res.json")
