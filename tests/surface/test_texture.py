"""surface/texture.py: atlas layout, paint -> extract round trip on DensePose-Synth truth, the generated atlas."""
import numpy as np
import pytest

from densepose_ext.surface.texture import (ATLAS_SHAPE, atlas_tiles, extract_texture, labelled_part_atlas,
                                           paint_texture, texel_index, tiles_to_atlas)
from tests.surface.synth_scene import synth_scene


def test_layout_places_part_tiles_as_the_reference_atlas():
    atlas = np.zeros(ATLAS_SHAPE, dtype=np.uint8)
    atlas[200 * 3 : 200 * 4, 200 * 2 : 200 * 3] = 7  # tile row 3, column 2: part 2 * 6 + 3 + 1 = 16
    tiles = atlas_tiles(atlas)
    assert tiles[15].min() == 7 and tiles[np.arange(24) != 15].max() == 0
    assert np.array_equal(tiles_to_atlas(tiles), atlas)
    tile, row, col = texel_index(np.array([16, 1]), np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert tile.tolist() == [15, 0] and row.tolist() == [0, 199] and col.tolist() == [0, 199]  # V grows upwards
    with pytest.raises(ValueError, match="texture atlas"):
        atlas_tiles(np.zeros((800, 1200, 3)))


def test_paint_then_extract_recovers_the_atlas_where_visible():
    _, rendering = synth_scene()
    labels, uv = rendering.part, rendering.uv.transpose(2, 0, 1)
    atlas = np.random.default_rng(0).integers(0, 256, ATLAS_SHAPE, dtype=np.uint8)
    painted = paint_texture(rendering.image, labels, uv, atlas)
    assert np.array_equal(painted[labels == 0], rendering.image[labels == 0])
    recovered, seen = extract_texture(painted, labels, uv)
    assert 500 < seen.sum() <= (labels > 0).sum()
    np.testing.assert_array_equal(recovered[seen], atlas[seen].astype(np.float32))
    assert (recovered[~seen] == 0).all()


def test_extract_averages_pixels_on_one_texel():
    labels = np.array([[3, 3, 0]])
    uv = np.zeros((2, 1, 3))
    image = np.array([[[10, 20, 30], [30, 40, 50], [255, 255, 255]]], dtype=np.uint8)
    recovered, seen = extract_texture(image, labels, uv)
    tiles, seen_tiles = atlas_tiles(recovered), atlas_tiles(seen[..., None])[..., 0]
    assert seen_tiles.sum() == 1 and seen_tiles[2, 199, 0]
    assert tiles[2, 199, 0].tolist() == [20.0, 30.0, 40.0]


def test_generated_atlas_has_a_hue_per_part_and_a_checkerboard():
    tiles = atlas_tiles(labelled_part_atlas())
    assert tiles.dtype == np.uint8
    light = tiles[:, 100, 100 + 25 * (1 - (100 // 25) % 2)]  # a light square in the middle of each tile
    assert len({tuple(c) for c in light}) == 24
    assert (tiles[:, 10, 10:50].astype(int).sum(-1).std(axis=1) > 0).all()  # two shades across U
