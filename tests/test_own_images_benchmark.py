"""The own-photo benchmark's renderers give the documented kind of picture, and its CLI path
parses real `digitnet predict --json` output; accuracy figures belong to the benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from own_photos import run_cli, score  # noqa: E402
from photo_inks import INK_LEVEL, mnist_ink, number_ink  # noqa: E402
from photo_render import CONDITIONS  # noqa: E402


def render(name: str, digit28: np.ndarray, seed: int = 0):
    rng = np.random.default_rng(seed)
    return CONDITIONS[name](lambda h: mnist_ink(digit28, h, rng), rng)


@pytest.mark.parametrize("name", sorted(set(CONDITIONS) - {"huge"}))
def test_every_condition_is_dark_ink_on_lighter_paper(name, mnist):
    photo = render(name, mnist.test_images[0])
    grey = np.asarray(photo.image.convert("L"), np.float64)
    assert photo.image.mode == "RGB"
    # the digit's ink is the darkest part of a sheet that is mostly paper
    assert np.percentile(grey, 1) < np.median(grey) - 30, name


def test_same_seed_same_picture(mnist):
    first, second = (render("lined", mnist.test_images[3], seed=5) for _ in range(2))
    assert np.array_equal(np.asarray(first.image), np.asarray(second.image))


def test_tight_crop_touches_all_four_edges(mnist):
    grey = np.asarray(render("tight_crop", mnist.test_images[1]).image.convert("L"), np.float64)
    dark = grey < (grey.max() + grey.min()) / 2
    assert dark[0].any() and dark[-1].any() and dark[:, 0].any() and dark[:, -1].any()


def test_small_and_huge_sizes(mnist):
    assert 20 <= max(render("small", mnist.test_images[2]).image.size) <= 30
    assert 3000 <= max(render("huge", mnist.test_images[2]).image.size) <= 4000


def test_touching_pair_has_one_stroke_region_across(mnist):
    rng = np.random.default_rng(1)
    ink = number_ink(
        [mnist_ink(mnist.test_images[i], 100, rng) for i in (0, 1)], rng, touching=True
    )
    columns = (ink >= INK_LEVEL).any(axis=0)
    inked = np.flatnonzero(columns)
    assert columns[inked[0] : inked[-1] + 1].all()  # no empty column between the two digits


def test_cli_path_scores_real_predictions(mnist, tmp_path):
    truths = {}
    for i in range(3):
        photo = render("clean", mnist.test_images[i], seed=i)
        path = tmp_path / f"clean-{i}{photo.suffix}"
        photo.save(path)
        truths[str(path)] = (i, str(mnist.test_labels[i]))
    blank = tmp_path / "blank.png"
    blank.write_bytes(b"")
    truths[str(blank)] = (-1, "0")
    result = score(truths, *run_cli("predict", [Path(p) for p in truths], None), "digit")
    assert result["n"] == 4 and result["refused"] == 1
    assert result["failures"][-1]["index"] == -1 and "empty" in result["failures"][-1]["error"]
    assert result["accuracy"] == 0.75  # the three clean digits are read
