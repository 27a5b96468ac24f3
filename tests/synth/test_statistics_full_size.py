"""Dataset statistics at the default 640x480 size (slow: renders 24 images)."""
import pytest

from densepose_ext.synth.generate import generate
from densepose_ext.synth.stats import dataset_statistics


@pytest.mark.slow
def test_statistics_match_densepose_coco_habits(tmp_path):
    stats = dataset_statistics(generate(tmp_path, 24, seed=11, workers=2, progress=False))
    assert 1.5 <= stats["people_per_image"]["mean"] <= 4.5 and stats["people_per_image"]["max"] <= 6
    assert stats["people_per_image"]["p5"] >= 1                  # every image shows someone
    assert 100 <= stats["points_per_densepose_person"]["median"] <= 150
    assert stats["points_per_visible_part"]["max"] <= 14
    assert stats["annotations_with_densepose"] >= 0.5 * stats["annotations"]
    ranges = stats["area_ranges_with_densepose"]
    assert ranges["medium"] > 0 and ranges["large"] > 0          # scales from COCO medium to frame-filling
