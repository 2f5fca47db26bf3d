"""digitnet.plots: every figure is a real, non-blank PNG of a sensible size, written atomically,
and draws what its data says (read back from the matplotlib Figure on its way to the file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from PIL import Image

from digitnet import plots
from digitnet.artifacts.formats import percent
from digitnet.errors import OutputError
from digitnet.plots.common import RIGHT, WRONG


@pytest.fixture(scope="module")
def digits(mnist) -> tuple[np.ndarray, np.ndarray]:
    """The first 200 MNIST test images (floats 0..1) and their labels."""
    return mnist.test_images[:200] / 255, mnist.test_labels[:200].astype(np.int64)


def fake_probabilities(labels: np.ndarray, wrong_every: int = 10) -> np.ndarray:
    """(n, 10) probabilities that favour the true label, except on every `wrong_every`-th sample."""
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(10, 0.3), size=len(labels))
    favoured = labels.copy()
    favoured[::wrong_every] = (favoured[::wrong_every] + 1) % 10
    probabilities[np.arange(len(labels)), favoured] += 5 + rng.random(len(labels))
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def history(n_epochs: int = 3, steps_per_epoch: int = 100, *, with_val: bool = True) -> dict:
    rng = np.random.default_rng(1)
    steps = np.arange(n_epochs * steps_per_epoch)
    step_losses = 2.3 * np.exp(-steps / 80) + 0.1 + 0.05 * rng.random(len(steps))
    epochs = []
    for epoch in range(1, n_epochs + 1):
        record = {
            "epoch": epoch,
            "step": epoch * steps_per_epoch,
            "learning_rate": 0.1,
            "train_loss": float(step_losses[epoch * steps_per_epoch - 1]),
            "seconds": 1.0,
        }
        if with_val:
            record.update(val_loss=record["train_loss"] + 0.05, val_accuracy=0.9 + 0.02 * epoch)
        epochs.append(record)
    return {"step_losses": step_losses.tolist(), "epochs": epochs}


def assert_png(path: Path, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """`path` is a PNG of roughly `size` pixels with visible content, and nothing else was left."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        if size is not None:
            assert abs(image.width - size[0]) <= 0.2 * size[0], image.size
            assert abs(image.height - size[1]) <= 0.3 * size[1], image.size
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.std() > 10, "the figure looks blank"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "stray temporary file"
    return image.size


@pytest.fixture
def drawn(monkeypatch) -> list[Figure]:
    """Every Figure the plot functions hand to `save`, in order; the files are still written.

    The plot functions return the path, not the Figure, so the Figure is taken on its way out.
    """
    from digitnet.plots import calibration, curves, matrices
    from digitnet.plots import digits as digit_figures

    figures: list[Figure] = []
    for module in (curves, digit_figures, matrices, calibration):

        def capture(figure, path, original=module.save):
            figures.append(figure)
            return original(figure, path)

        monkeypatch.setattr(module, "save", capture)
    return figures


def lines_of(ax) -> dict[str, np.ndarray]:
    """{label: y-data} of the lines drawn on ax."""
    return {line.get_label(): np.asarray(line.get_ydata(), float) for line in ax.get_lines()}


def texts_of(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def assert_history_drawn(figure: Figure, values: dict) -> None:
    """The left axes show the finite step losses at their steps, or say there are none; the
    right ones each epoch's costs and accuracies (in %), or say there is no epoch."""
    left, right = figure.axes[:2]
    losses = np.asarray(values.get("step_losses", []), float)
    steps = np.flatnonzero(np.isfinite(losses)) + 1
    if len(steps) == 0:
        assert texts_of(left) == ["no steps recorded"]
    else:
        (per_step,) = [line for line in left.get_lines() if line.get_label() == "per step"]
        np.testing.assert_array_equal(per_step.get_xdata(), steps)
        np.testing.assert_array_equal(per_step.get_ydata(), losses[steps - 1])
        low, high = losses[steps - 1].min(), losses[steps - 1].max()
        assert left.get_yscale() == ("log" if low > 0 and high / low > 10 else "linear")
    epochs = values.get("epochs", [])
    if not epochs:
        assert texts_of(right) == ["no complete epoch yet"]
        return
    curves = {**lines_of(right), **lines_of(figure.axes[2])}  # costs, then the twin accuracy axes
    nan = float("nan")
    np.testing.assert_array_equal(curves["train cost"], [r.get("train_loss", nan) for r in epochs])
    if any("val_loss" in record for record in epochs):
        np.testing.assert_array_equal(curves["validation cost"], [r["val_loss"] for r in epochs])
        accuracy = [100 * r["val_accuracy"] for r in epochs]
        np.testing.assert_allclose(curves["validation accuracy"], accuracy, rtol=1e-15)
    else:
        assert "validation cost" not in curves


def test_plot_history_draws_steps_and_epochs(tmp_path, drawn):
    values = history()
    path = plots.plot_history(values, tmp_path / "history.png", title="784-30-10")
    assert path == tmp_path / "history.png"
    assert_png(path, (1100, 440))
    (figure,) = drawn
    assert_history_drawn(figure, values)
    left = figure.axes[0]
    losses = np.array(values["step_losses"])
    assert losses.max() / losses.min() > 10 and left.get_yscale() == "log"
    epoch_marks = [line.get_xdata()[0] for line in left.get_lines() if line.get_linestyle() == ":"]
    assert epoch_marks == [100, 200]  # between epochs, not after the last
    average = lines_of(left)["average of 7 steps"]  # 300 // 40
    np.testing.assert_allclose(average[0], np.mean(values["step_losses"][:7]), rtol=1e-12)
    assert figure._suptitle.get_text() == "784-30-10"


@pytest.mark.parametrize(
    "values",
    [
        history(n_epochs=1, with_val=False),
        history(n_epochs=1),
        {"step_losses": [2.3, 1.0], "epochs": []},
        {"step_losses": [], "epochs": []},
        {},
        {"step_losses": [2.0, float("nan"), 1.0], "epochs": history()["epochs"]},
        {"step_losses": [0.5] * 10, "epochs": [{"epoch": 1, "train_loss": float("nan")}]},
    ],
    ids=["one-epoch-no-val", "one-epoch", "no-epoch", "empty", "no-keys", "nan-step", "nan"],
)
def test_plot_history_survives_sparse_histories(tmp_path, drawn, values):
    assert_png(plots.plot_history(values, tmp_path / "history.png"))
    assert_history_drawn(drawn[0], values)
    if len(values.get("epochs", [])) == 1:  # a lone point is labelled with its value
        train_loss = values["epochs"][0]["train_loss"]
        assert f"  {train_loss:.3g}" in texts_of(drawn[0].axes[1])


def test_plot_history_handles_60000_steps_of_batch_size_one(tmp_path, drawn):
    rng = np.random.default_rng(2)
    step_losses = -np.log(1 - rng.beta(0.4, 1 + np.arange(60_000) / 2000)) + 1e-6
    record = {"epoch": 1, "step": 60_000, "train_loss": float(step_losses.mean())}
    values = {"step_losses": step_losses.tolist(), "epochs": [record]}
    assert_png(plots.plot_history(values, tmp_path / "history.png"), (1100, 440))
    left = drawn[0].axes[0]
    assert "per step" not in lines_of(left)  # a band, not 60000 points
    assert [c.get_label() for c in left.collections] == ["per step (10-90% of each 60)"]
    average = lines_of(left)["average of 1500 steps"]
    assert len(average) <= 2100
    np.testing.assert_allclose(average[0], step_losses[:1500].mean(), rtol=1e-9)
    assert step_losses.min() <= average.min() and average.max() <= step_losses.max()
    assert left.get_yscale() == "log"  # the losses span more than a factor of 10


def assert_grid_shows(figure: Figure, images: np.ndarray, captions: list[str]) -> None:
    """One axes per digit, in order, each showing that digit with that caption."""
    assert len(figure.axes) == len(images) == len(captions)
    for ax, image, caption in zip(figure.axes, images, captions):
        np.testing.assert_array_equal(ax.images[0].get_array(), image.reshape(28, 28))
        assert ax.get_title() == caption


def prediction_captions(predicted, probabilities, labels=None) -> list[str]:
    captions = [f"pred {p} ({percent(probabilities[i, p], 0)})" for i, p in enumerate(predicted)]
    if labels is None:
        return captions
    return [f"{caption}\ntrue {label}" for caption, label in zip(captions, labels)]


def test_plot_predictions_grid_scales_with_n(tmp_path, drawn, digits):
    images, labels = digits
    probabilities = fake_probabilities(labels[:64])
    predicted = probabilities.argmax(axis=1)
    width, height = assert_png(
        plots.plot_predictions(
            images[:64], labels[:64], predicted, probabilities, tmp_path / "grid.png", title="test"
        )
    )
    assert 900 < width < 1200 and 1100 < height < 1600, (width, height)
    captions = prediction_captions(predicted, probabilities, labels[:64])
    assert_grid_shows(drawn[0], images[:64], captions)
    assert captions[0].startswith(f"pred {labels[0] + 1} (")  # every 10th is made wrong
    (tmp_path / "small").mkdir()
    small = plots.plot_predictions(
        images[:4],
        labels[:4],
        predicted[:4],
        probabilities[:4],
        tmp_path / "small" / "small.png",
        columns=2,
    )
    assert assert_png(small)[1] < height / 3
    assert_grid_shows(drawn[1], images[:4], captions[:4])
    lefts = sorted({round(ax.get_position().x0, 6) for ax in drawn[1].axes})
    assert len(lefts) == 2  # two columns


def frame_colour(ax) -> tuple[float, ...]:
    return to_rgba(ax.spines["left"].get_edgecolor())


def test_plot_predictions_marks_wrong_ones_in_red(tmp_path, drawn, digits):
    images, labels = digits
    probabilities = fake_probabilities(labels[:8], wrong_every=1)
    right = plots.plot_predictions(
        images[:8], labels[:8], labels[:8], probabilities, tmp_path / "right.png"
    )
    wrong = plots.plot_predictions(
        images[:8], labels[:8], (labels[:8] + 1) % 10, probabilities, tmp_path / "wrong.png"
    )

    def red_pixels(path: Path) -> int:
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.int64)
        return int(((rgb[..., 0] > 180) & (rgb[..., 1] < 80) & (rgb[..., 2] < 80)).sum())

    assert red_pixels(right) == 0
    assert red_pixels(wrong) > 1000
    red = to_rgba(WRONG)
    assert all(frame_colour(ax) != red for ax in drawn[0].axes)
    assert all(frame_colour(ax) == red for ax in drawn[1].axes)
    # all wrong: red frames, black captions (a page of red text reads as an alarm)
    assert all(to_rgba(ax.title.get_color()) == to_rgba("black") for ax in drawn[1].axes)
    half = labels[:8].copy()
    half[::2] = (half[::2] + 1) % 10
    plots.plot_predictions(images[:8], labels[:8], half, probabilities, tmp_path / "half.png")
    framed = [frame_colour(ax) == red for ax in drawn[2].axes]
    titled = [to_rgba(ax.title.get_color()) == red for ax in drawn[2].axes]
    assert framed == titled == [i % 2 == 0 for i in range(8)]


def test_plot_predictions_without_labels_and_flat_images(tmp_path, drawn, digits):
    images, labels = digits
    probabilities = fake_probabilities(labels[:12])
    predicted = probabilities.argmax(axis=1)
    path = plots.plot_predictions(
        images[:12].reshape(12, 784), None, predicted, probabilities, tmp_path / "p.png"
    )
    assert_png(path)
    assert_grid_shows(drawn[0], images[:12], prediction_captions(predicted, probabilities))
    assert all(frame_colour(ax) != to_rgba(WRONG) for ax in drawn[0].axes)  # no truth: no red


def test_plot_confident_mistakes_shows_the_most_confident_first(tmp_path, drawn, digits):
    images, labels = digits
    probabilities = fake_probabilities(labels)
    path = plots.plot_confident_mistakes(
        images, labels, probabilities, tmp_path / "mistakes.png", count=16
    )
    assert_png(path, (770, 750))
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    assert len(wrong) == 20  # every 10th of 200
    confidence = probabilities[wrong, predicted[wrong]]
    chosen = wrong[np.argsort(-confidence)[:16]]
    captions = [
        f"true {labels[i]}, said {predicted[i]} ({percent(probabilities[i, predicted[i]], 1)})"
        for i in chosen
    ]
    assert_grid_shows(drawn[0], images[chosen], captions)
    shown = [probabilities[i, predicted[i]] for i in chosen]
    assert shown == sorted(shown, reverse=True) and min(shown) >= np.sort(confidence)[-16]
    assert "most confident mistakes (16 of 20 wrong)" in [t.get_text() for t in drawn[0].texts]


def test_plot_confident_mistakes_with_no_mistakes_says_so(tmp_path, drawn, digits):
    images, labels = digits
    probabilities = np.eye(10)[labels[:20]]
    assert_png(
        plots.plot_confident_mistakes(
            images[:20], labels[:20], probabilities, tmp_path / "none.png"
        )
    )
    (ax,) = drawn[0].axes
    assert texts_of(ax) == ["no mistakes: all 20 predictions are correct"] and not ax.images


def confusion_image(figure: Figure):
    """The confusion map's AxesImage (the other axes is the colour bar)."""
    (image,) = figure.axes[0].images
    return image


def test_plot_confusion_heat_map(tmp_path, drawn):
    confusion = np.diag(np.full(10, 980)) + np.random.default_rng(3).integers(0, 4, (10, 10))
    assert_png(plots.plot_confusion(confusion, tmp_path / "confusion.png", title="t"), (760, 640))
    image = confusion_image(drawn[0])
    np.testing.assert_array_equal(image.get_array().filled(0), confusion)
    assert (image.get_array().mask == (confusion == 0)).all()  # zeros stay white
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in drawn[0].axes[0].texts}  # fmt: skip
    assert cells == {(r, c): str(confusion[r, c]) for r, c in zip(*np.nonzero(confusion))}
    accuracy = np.trace(confusion) / confusion.sum()
    assert drawn[0].axes[0].get_title() == f"accuracy {accuracy:.2%} on {confusion.sum():,} digits"


def test_the_confusion_map_of_a_trained_model_is_brightest_on_its_diagonal(tmp_path, drawn, digits):
    from digitnet.evaluation.metrics import confusion_matrix
    from digitnet.predict import load_default_model, probabilities_for

    images, labels = digits
    predicted = probabilities_for(load_default_model().model, images).argmax(axis=1)
    confusion = confusion_matrix(labels, predicted)
    plots.plot_confusion(confusion, tmp_path / "confusion.png")
    image = confusion_image(drawn[0])
    np.testing.assert_array_equal(image.get_array().filled(0), confusion)
    shade = image.norm(image.get_array().filled(0))  # Blues: the higher, the deeper the colour
    np.testing.assert_array_equal(shade.argmax(axis=1), np.arange(10))
    np.testing.assert_array_equal(shade.argmax(axis=0), np.arange(10))
    assert np.trace(confusion) > 0.9 * len(labels)


def test_plot_confusion_of_nothing_still_draws(tmp_path, drawn):
    assert_png(plots.plot_confusion(np.zeros((10, 10), int), tmp_path / "confusion.png"))
    image = confusion_image(drawn[0])
    assert image.get_array().mask.all() and not drawn[0].axes[0].texts
    assert drawn[0].axes[0].get_title() == "no samples"


@pytest.mark.parametrize("shape", [(784, 30), (784, 5), (8, 1, 5, 5)])
def test_plot_first_layer_dense_and_convolutional(tmp_path, drawn, shape):
    weights = np.random.default_rng(4).normal(size=shape)
    assert_png(plots.plot_first_layer(weights, tmp_path / "weights.png", count=16))
    filters = weights[:, 0] if len(shape) == 4 else weights.T.reshape(-1, 28, 28)
    shown = filters[:16]
    assert len(drawn[0].axes) == len(shown)
    for ax, expected in zip(drawn[0].axes, shown):
        (image,) = ax.images
        np.testing.assert_array_equal(image.get_array(), expected)
        limit = np.abs(expected).max()
        assert image.get_clim() == (-limit, limit)  # each on its own symmetric scale
    heading = drawn[0].texts[0].get_text()
    assert heading.startswith(f"first-layer weights ({len(shown)} of {len(filters)})")


def test_plot_digit_with_and_without_label(tmp_path, drawn, digits):
    images, labels = digits
    probabilities = fake_probabilities(labels[:1], wrong_every=1)[0]
    predicted = int(probabilities.argmax())
    labelled = plots.plot_digit(
        images[0],
        probabilities,
        tmp_path / "a.png",
        predicted=predicted,
        label=int(labels[0]),
        title="test image 0",
    )
    assert_png(labelled, (900, 400))
    (tmp_path / "b").mkdir()
    assert_png(
        plots.plot_digit(
            images[0].ravel(), probabilities, tmp_path / "b" / "b.png", predicted=predicted
        )
    )
    for figure, label in zip(drawn, [int(labels[0]), None]):
        picture, bars_ax = figure.axes
        np.testing.assert_array_equal(picture.images[0].get_array(), images[0])
        bars = bars_ax.patches
        np.testing.assert_allclose([bar.get_height() for bar in bars], probabilities, rtol=1e-15)
        wrong = label is not None and label != predicted
        assert to_rgba(bars[predicted].get_facecolor()) == to_rgba(WRONG if wrong else RIGHT)
        outlined = [i for i, bar in enumerate(bars) if bar.get_linewidth() == 2.5]
        assert outlined == ([] if label is None else [label])
    assert predicted != labels[0]  # wrong_every=1 made this one wrong
    assert drawn[0]._suptitle.get_text() == f"test image 0\npredicted {predicted}, true {labels[0]}"
    assert drawn[1]._suptitle.get_text() == f"predicted {predicted}"


FIGURES = {
    "history": lambda images, labels, probs, path: plots.plot_history(history(1), path),
    "predictions": lambda images, labels, probs, path: plots.plot_predictions(
        images, labels, probs.argmax(axis=1), probs, path
    ),
    "mistakes": lambda images, labels, probs, path: plots.plot_confident_mistakes(
        images, labels, probs, path
    ),
    "confusion": lambda images, labels, probs, path: plots.plot_confusion(
        np.eye(10, dtype=int), path
    ),
    "first_layer": lambda images, labels, probs, path: plots.plot_first_layer(
        np.ones((784, 3)), path
    ),
    "digit": lambda images, labels, probs, path: plots.plot_digit(
        images[0], probs[0], path, predicted=1
    ),
}


@pytest.mark.parametrize("figure", FIGURES)
def test_a_missing_folder_is_an_output_error_and_leaves_nothing(tmp_path, digits, figure):
    images, labels = digits[0][:10], digits[1][:10]
    missing = tmp_path / "no-such-folder" / "figure.png"
    with pytest.raises(OutputError, match="cannot write .*no-such-folder.*No such file"):
        FIGURES[figure](images, labels, fake_probabilities(labels), missing)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda: plots.plot_history({"step_losses": [[1.0, 2.0]]}, "x.png"),
        lambda: plots.plot_predictions(
            np.zeros((2, 27, 27)), None, np.zeros(2, int), np.full((2, 10), 0.1), "x.png"
        ),
        lambda: plots.plot_predictions(
            np.zeros((2, 784)), None, np.zeros(3, int), np.full((2, 10), 0.1), "x.png"
        ),
        lambda: plots.plot_confident_mistakes(
            np.zeros((2, 784)), np.zeros(2, int), np.full((2, 9, 1), 0.1), "x.png"
        ),
        lambda: plots.plot_confusion(np.zeros((10, 9)), "x.png"),
        lambda: plots.plot_confusion(-np.eye(10), "x.png"),
        lambda: plots.plot_first_layer(np.zeros((99, 5)), "x.png"),
        lambda: plots.plot_first_layer(np.zeros((784, 5)), "x.png", count=0),
        lambda: plots.plot_digit(np.zeros((28, 28)), np.full(10, 0.1), "x.png", predicted=10),
    ],
)
def test_wrong_shapes_are_programmer_errors(tmp_path, monkeypatch, call):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError):
        call()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [(".png", b"\x89PNG"), (".JPG", b"\xff\xd8\xff"), (".pdf", b"%PDF"), (".svg", b"<?xml")],
)
def test_figures_are_written_in_the_format_the_suffix_names(tmp_path, suffix, magic):
    path = plots.plot_confusion(np.eye(10, dtype=int), tmp_path / f"confusion{suffix}")
    assert path.read_bytes().startswith(magic)


def test_a_suffix_of_no_supported_format_is_an_output_error_and_leaves_nothing(tmp_path):
    with pytest.raises(OutputError, match=r"c\.bmp: cannot write a \.bmp figure; name a \.png"):
        plots.plot_confusion(np.eye(10, dtype=int), tmp_path / "c.bmp")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("p", "decimals", "text"),
    [(0.99992, 1, "99.9%"), (1.0, 1, "100.0%"), (0.0004, 1, "0.0%"), (0.995, 0, "99%")],
)
def test_percent_rounds_down_so_nothing_short_of_certain_reads_100(p, decimals, text):
    assert percent(p, decimals) == text


def test_importing_and_plotting_never_loads_pyplot(tmp_path):
    """pyplot holds global figure state; the library must stay headless and thread-safe."""
    code = (
        "import sys, numpy as np, digitnet.plots as p;"
        f"p.plot_first_layer(np.ones((784, 2)), {str(tmp_path / 'w.png')!r});"
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_text_formats_shared_with_the_cli_load_without_matplotlib():
    code = "import sys, digitnet.artifacts.formats; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_log_tick_labels_survive_any_value_matplotlib_asks_about():
    from digitnet.plots.common import plain_number

    assert plain_number(2.0, 0) == "2" and plain_number(0.3, 0) == "0.3"
    assert plain_number(0.7, 0) == ""
    for edge in (0.0, -1.0, 1e-320, float("inf"), float("nan")):
        assert plain_number(edge, 0) == ""


def test_reliability_diagram_bars_follow_the_data(tmp_path, drawn):
    """Three bins: two right at 0.95, one wrong and one right at 0.65; the bars' heights are
    the bins' accuracies (1.0 and 0.5), read back from the drawn axes."""
    from digitnet.plots import calibration

    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.65, 0.35], [0.65, 0.35]])
    labels = np.array([0, 0, 1, 0])
    path = calibration.plot_reliability(probs, probs, labels, tmp_path / "r.png")
    assert path.stat().st_size > 1000
    heights = sorted(round(p.get_height(), 3) for p in drawn[0].axes[0].patches[:2])
    assert heights == [0.5, 1.0]
