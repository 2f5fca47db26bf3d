"""digitnet.images.components: connected components against a plain flood fill."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitnet.images.components import label_components, run_lengths
from digitnet.images.pixels import box_mean, running_max


def flood_fill_labels(mask: np.ndarray) -> np.ndarray:
    """8-connected labels by breadth-first search, numbered in raster order."""
    labels = np.zeros(mask.shape, np.int32)
    count = 0
    for y, x in zip(*np.nonzero(mask)):
        if labels[y, x]:
            continue
        count += 1
        labels[y, x] = count
        queue = deque([(y, x)])
        while queue:
            cy, cx = queue.popleft()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = cy + dy, cx + dx
                    inside = 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1]
                    if inside and mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = count
                        queue.append((ny, nx))
    return labels


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.floats(0.05, 0.7),
    st.integers(0, 2**32 - 1),
)
def test_labels_match_a_flood_fill(height, width, density, seed):
    mask = np.random.default_rng(seed).random((height, width)) < density
    labels, components = label_components(mask)
    np.testing.assert_array_equal(labels, flood_fill_labels(mask))
    assert [c.label for c in components] == list(range(1, labels.max() + 1))
    for component in components:
        ys, xs = np.nonzero(labels == component.label)
        assert component.area == len(ys)
        assert component.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        on_edge = ys.min() == 0 or xs.min() == 0 or ys.max() == height - 1 or xs.max() == width - 1
        assert component.touches_border == on_edge


def test_diagonal_neighbours_join_and_gaps_separate():
    mask = np.zeros((6, 8), bool)
    mask[1, 1] = mask[2, 2] = mask[3, 3] = True  # a diagonal stroke: one component
    mask[1:5, 6] = True  # a vertical stroke two columns away: another
    labels, components = label_components(mask)
    assert len(components) == 2
    assert labels[1, 1] == labels[3, 3] != labels[1, 6]
    assert components[0].box == (1, 1, 4, 4) and not components[0].touches_border
    assert components[1].height == 4 and components[1].width == 1


def test_an_empty_mask_has_no_components():
    labels, components = label_components(np.zeros((5, 5), bool))
    assert components == [] and not labels.any()


def test_a_large_spiral_is_one_component_and_fast_enough():
    mask = np.zeros((1024, 1024), bool)
    for k in range(0, 500, 8):  # nested square rings joined by bridges: one component
        mask[k, k : 1024 - k] = mask[1023 - k, k : 1024 - k] = True
        mask[k : 1024 - k, k] = mask[k : 1024 - k, 1023 - k] = True
        mask[k : k + 9, 512] = True
    labels, components = label_components(mask)
    assert len(components) == 1 and components[0].area == int(mask.sum())


def test_run_lengths_give_each_pixel_its_row_run():
    mask = np.random.default_rng(3).random((30, 40)) < 0.6
    lengths = run_lengths(mask)
    for y, x in zip(*np.nonzero(mask)):
        left, right = x, x
        while left > 0 and mask[y, left - 1]:
            left -= 1
        while right < 39 and mask[y, right + 1]:
            right += 1
        assert lengths[y, x] == right - left + 1
    assert (lengths[~mask] == 0).all()


@pytest.mark.parametrize("side", [1, 3, 7])
def test_box_mean_is_the_mean_of_each_zero_padded_neighbourhood(side):
    values = np.random.default_rng(side).random((9, 12))
    padded = np.pad(values, side // 2)
    expected = [[padded[y : y + side, x : x + side].mean() for x in range(12)] for y in range(9)]
    np.testing.assert_allclose(box_mean(values, side), expected)


@pytest.mark.parametrize("side", [1, 3, 5, 11])
def test_running_max_is_the_max_of_each_neighbourhood_inside_the_picture(side):
    values = np.random.default_rng(side).random((13, 17))
    padded = np.pad(values, side // 2, constant_values=-np.inf)
    expected = [[padded[y : y + side, x : x + side].max() for x in range(17)] for y in range(13)]
    np.testing.assert_array_equal(running_max(values, side), expected)
