import numpy as np

from densepose_ext.synth.contact_sheet import dense_panel, draw_annotations
from densepose_ext.synth.stats import dataset_statistics


def test_statistics_known_answers():
    coco = {"images": [{"id": 1}, {"id": 2}, {"id": 3}],
            "annotations": [
                {"image_id": 1, "area": 500.0, "keypoints": [0, 0, 2] * 17},
                {"image_id": 1, "area": 5000.0, "keypoints": [0, 0, 1] * 17,
                 "dp_x": [1.0] * 3, "dp_I": [2.0, 2.0, 5.0]},
                {"image_id": 3, "area": 20000.0, "keypoints": [0, 0, 0] * 17,
                 "dp_x": [1.0] * 5, "dp_I": [1.0] * 5}]}
    s = dataset_statistics(coco)
    assert s["annotations_with_densepose"] == 2
    assert s["people_per_image"]["mean"] == 1.0 and s["people_per_image"]["max"] == 2
    assert s["points_per_densepose_person"]["mean"] == 4.0
    assert s["points_per_visible_part"]["max"] == 5 and s["points_per_visible_part"]["count"] == 3
    assert s["area_ranges"] == {"small": 1, "medium": 1, "large": 1}
    assert s["area_ranges_with_densepose"] == {"small": 0, "medium": 1, "large": 1}
    assert s["visible_keypoints_per_person"]["max"] == 17


def test_contact_sheet_panels():
    iuv = np.zeros((20, 30, 3), np.uint8)
    iuv[5:10, 5:10] = (3, 255, 0)
    panel = dense_panel(iuv)
    assert not panel[0, 0].any() and panel[7, 7].any()
    rgb = np.full((20, 30, 3), 100, np.uint8)
    ann = {"bbox": [2.0, 3.0, 10.0, 12.0], "keypoints": [0, 0, 0] * 17, "dp_x": [128.0], "dp_y": [128.0], "dp_I": [3.0]}
    drawn = draw_annotations(rgb, [ann])
    assert np.all(rgb == 100)                       # input untouched
    assert tuple(drawn[3, 5]) == (0, 220, 0)        # top edge of the box (BGR green: has DensePose points)
    assert tuple(drawn[9, 7]) != (100, 100, 100)    # the point at the box centre
