"""cell_index: image px -> box-frame grid cell, its "outside" (evaluator) and "clip" (compositor) edge rules."""
import numpy as np
import pytest

from densepose_ext.structures.box_grid import cell_index
from densepose_ext.vis.iuv_image import box_pixel_grid


@pytest.mark.parametrize("edge", ["outside", "clip"])
def test_known_cells_away_from_the_edges(edge):
    # 4 cells over [2, 6): one image px each
    cell, inside = cell_index([1.9, 2.0, 2.99, 3.0, 5.5, 6.0, 7.0], 2.0, 6.0, 4, edge=edge)
    assert cell.tolist() == [0, 0, 0, 1, 3, 0, 0]
    assert inside.tolist() == [False, True, True, True, True, False, False]


@pytest.mark.parametrize("edge", ["outside", "clip"])
def test_empty_box_has_no_cells(edge):
    cell, inside = cell_index([3.0, 3.5], 3.0, 3.0, 5, edge=edge)
    assert not inside.any() and cell.tolist() == [0, 0]


def test_rules_differ_only_where_the_cell_rounds_across_an_edge():
    # Just below hi, inside the box: (c - lo) * (size / (hi - lo)) rounds up to size = 41.
    c = np.nextafter(0.7, -np.inf)
    assert np.floor((c - 0.1) * (41 / (0.7 - 0.1))) == 41
    assert cell_index(c, 0.1, 0.7, 41, edge="outside")[1].item() is False
    cell, inside = cell_index(c, 0.1, 0.7, 41, edge="clip")
    assert inside.item() is True and cell.item() == 40
    # At hi, outside the box: the product rounds down to 6 < size = 7.
    assert np.floor((5.9 - 0.1) * (7 / (5.9 - 0.1))) == 6
    cell, inside = cell_index(5.9, 0.1, 5.9, 7, edge="outside")
    assert inside.item() is True and cell.item() == 6
    assert cell_index(5.9, 0.1, 5.9, 7, edge="clip")[1].item() is False


def test_rules_agree_wherever_both_count_the_point():
    rng = np.random.default_rng(0)
    lo = rng.uniform(-10, 300, 2000)
    hi = lo + rng.uniform(0.1, 200, 2000)
    size = rng.integers(1, 120, 2000)
    coord = np.floor(rng.uniform(lo - 5, hi + 5)) + 0.5
    cell_out, in_out = cell_index(coord, lo, hi, size, edge="outside")
    cell_clip, in_clip = cell_index(coord, lo, hi, size, edge="clip")
    both = in_out & in_clip
    assert both.sum() > 1000 and np.array_equal(cell_out[both], cell_clip[both])
    assert (cell_clip[in_clip] < size[in_clip]).all() and (cell_out[in_out] < size[in_out]).all()
    # away from the edges (more than 1e-6 px) the rules count the same points
    near_edge = (np.abs(coord - lo) < 1e-6) | (np.abs(coord - hi) < 1e-6)
    assert np.array_equal(in_out[~near_edge], in_clip[~near_edge])


def test_unknown_edge_rule_is_refused():
    with pytest.raises(ValueError, match="edge: expected one of"):
        cell_index(1.0, 0.0, 2.0, 2, edge="wrap")


def test_box_pixel_grid_gives_the_edge_pixel_the_last_cell():
    # Box columns [0, 1.5 + 1 ulp): pixels 0 and 1 have their centres inside; pixel 1's cell of a 5-cell grid
    # rounds to 5. The compositor paints it from cell 4 ("clip"); the evaluator's rule would leave it out.
    hi = np.nextafter(1.5, np.inf)
    assert not cell_index(1.5, 0.0, hi, 5, edge="outside")[1]
    rows, cols, cell_rows, cell_cols = box_pixel_grid(np.array([0.0, 0.0, hi, 2.0]), (2, 5), (4, 4))
    assert rows.tolist() == [0, 1] and cell_rows.tolist() == [0, 1]
    assert cols.tolist() == [0, 1] and cell_cols.tolist() == [1, 4]
