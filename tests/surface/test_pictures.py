"""Pictures: distinct part colours, views oriented like a camera facing the person, charts filled."""
import numpy as np
import pytest

from densepose_ext.surface import get_surface
from densepose_ext.surface.pictures import charts_picture, part_palette, render_view, sample_surface


@pytest.fixture(scope="module")
def s():
    return get_surface()


def test_palette_has_25_distinct_colours_and_black_background():
    pal = part_palette()
    assert pal.shape == (25, 3) and (pal[0] == 0).all()
    assert len({tuple(c) for c in pal}) == 25


def test_front_view_shows_the_persons_left_on_the_image_right(s):
    face, bary = sample_surface(s, spacing=0.01)
    left = (s.face_part[face] == 4).astype(float)  # left hand
    colors = np.stack([left, np.zeros_like(left), np.zeros_like(left)], 1)
    for back, side in ((False, 1), (True, -1)):
        img = render_view(s, face, bary, colors, back=back, size=(470, 300))
        ys, xs = np.nonzero((img[..., 0] > 60) & (img[..., 1] < 30))
        assert len(xs) > 10
        assert np.sign(xs.mean() - 150) == side


def test_charts_picture_fills_the_superellipse(s):
    img = np.asarray(charts_picture(s, cell=48))
    tile = img[14:14 + 48, 4:4 + 48]  # part 1's square
    filled = (tile != 255).any(axis=2).mean()
    assert 0.88 < filled < 0.97  # |x|^4 + |y|^4 <= 1 covers 92.7 % of its square
