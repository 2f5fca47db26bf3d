"""`digitnet predict`, `show` and `plot` end to end: images the test draws itself, bad files,
Kaggle submissions, text art and PNGs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli, write_kaggle_csv
from PIL import Image, ImageDraw


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A 784-128-10 MLP trained for 2 epochs on all of MNIST (~97%)."""
    out = tmp_path_factory.mktemp("model") / "m.npz"
    result = run_cli(
        "train", "--hidden", "128", "--epochs", "2", "--validation", "1000", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    return out


def _draw(path, digit, *, size=(300, 300), dark_ink=True, mode="L"):
    paper, ink = (255, 0) if dark_ink else (0, 255)
    image = Image.new(mode, size, paper if mode == "L" else (paper,) * 3)
    draw = ImageDraw.Draw(image)
    fill = ink if mode == "L" else (ink, ink // 2, ink // 3)
    w, h = size
    if digit == 1:
        draw.line([(w * 0.55, h * 0.15), (w * 0.5, h * 0.85)], fill=fill, width=w // 12)
    elif digit == 0:
        draw.ellipse([w * 0.3, h * 0.15, w * 0.7, h * 0.85], outline=fill, width=w // 12)
    elif digit == 7:
        draw.line(
            [(w * 0.25, h * 0.2), (w * 0.75, h * 0.2), (w * 0.4, h * 0.85)],
            fill=fill,
            width=w // 12,
            joint="curve",
        )
    image.save(path)
    return path


def test_predicts_drawn_digits_in_various_formats(model, tmp_path):
    files = [
        _draw(tmp_path / "one.png", 1),
        _draw(tmp_path / "zero.jpg", 0, size=(400, 260), dark_ink=False, mode="RGB"),
        _draw(tmp_path / "seven.bmp", 7, size=(200, 320)),
        _draw(tmp_path / "zero.gif", 0, size=(90, 120)),
    ]
    result = run_cli("predict", str(model), *map(str, files), "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["digit"] for r in records] == [1, 0, 7, 0]
    for record in records:
        assert len(record["probabilities"]) == 10
        assert abs(sum(record["probabilities"]) - 1) < 1e-4


def test_save_input_writes_what_the_network_saw(model, tmp_path):
    image = _draw(tmp_path / "one.png", 1)
    seen = tmp_path / "seen" / "new"  # created as needed
    result = run_cli("predict", str(model), str(image), "--save-input", str(seen))
    assert result.returncode == 0, result.stderr
    assert "one.png: 1" in result.stdout
    with Image.open(seen / "one.28x28.png") as image:
        saved = np.asarray(image)
    assert saved.shape == (28, 28) and saved[0].max() < 30 and saved.max() > 200


def test_save_input_keeps_every_image_when_names_repeat(model, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = [
        _draw(tmp_path / "a" / "x.png", 1),
        _draw(tmp_path / "b" / "x.png", 0),
        _draw(tmp_path / "a" / "x.jpg", 7),
    ]
    seen = tmp_path / "seen"
    result = run_cli("predict", str(model), *map(str, files), "--save-input", str(seen))
    assert result.returncode == 0, result.stderr
    names = ["x.28x28.png", "x-2.28x28.png", "x-3.28x28.png"]
    assert sorted(p.name for p in seen.iterdir()) == sorted(names)
    pictures = [np.asarray(Image.open(seen / name)) for name in names]
    assert not np.array_equal(pictures[0], pictures[1])  # a 1 and a 0, neither overwritten


def test_save_input_naming_a_file_is_refused(model, tmp_path):
    image = _draw(tmp_path / "one.png", 1)
    result = run_cli("predict", str(model), str(image), "--save-input", str(image))
    assert_one_line_error(result, "is a file, not a folder")


def test_bad_files_are_reported_and_the_others_still_predicted(model, tmp_path):
    good = _draw(tmp_path / "one.png", 1)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[:200])
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    files = [empty, text, good, truncated, blank, tmp_path / "missing.png"]
    result = run_cli("predict", str(model), *map(str, files))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{good}: 1 ({result.stdout.split('(')[1].strip()}"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("digitnet: error:")]
    assert len(errors) == 5
    assert "Traceback" not in result.stderr
    assert (
        "5 of 6 images gave no result: 4 could not be read, 1 was read, but no digit could be"
        " taken from it" in result.stderr
    )


def test_a_blank_image_is_said_to_be_read_but_without_a_digit(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    result = run_cli("predict", str(blank), str(blank))  # the bundled model
    assert result.returncode == 1
    assert f"digitnet: error: {blank}: no ink found: the image is blank" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "digitnet: 2 of 2 images gave no result: 2 were read, but no digit could be taken from them"
    )
    assert "could not be read" not in result.stderr


def test_save_input_says_which_file_each_image_went_to(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = [_draw(tmp_path / "a" / "x.png", 1), _draw(tmp_path / "b" / "x.png", 0)]
    seen = tmp_path / "seen"
    result = run_cli("predict", *map(str, files), "--save-input", str(seen), "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in records] == list(map(str, files))
    assert [r["saved_input"] for r in records] == [str(seen / "x.28x28.png"),
                                                  str(seen / "x-2.28x28.png")]  # fmt: skip
    plain = run_cli("predict", *map(str, files), "--save-input", str(seen)).stdout.splitlines()
    assert plain[1].startswith(f"{files[1]}: 0 (")
    assert plain[1].endswith(f"; saved its 28x28 as {seen / 'x-2.28x28.png'}")


def test_decompression_bomb_is_refused(model, tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10000, 10000)).save(bomb)  # 100 megapixels in a few kilobytes
    assert_one_line_error(run_cli("predict", str(model), str(bomb)), "bomb.png")


def test_kaggle_submission(model, mnist, tmp_path):
    write_kaggle_csv(tmp_path / "test.csv", None, mnist.test_images[:50])
    submission = tmp_path / "submission.csv"
    result = run_cli(
        "predict",
        str(model),
        "--test-csv",
        str(tmp_path / "test.csv"),
        "--submission",
        str(submission),
    )
    assert result.returncode == 0, result.stderr
    lines = submission.read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 51
    assert lines[1].startswith("1,")
    predicted = np.array([int(line.split(",")[1]) for line in lines[1:]])
    assert (predicted == mnist.test_labels[:50]).mean() > 0.9


def test_a_submission_never_replaces_the_test_csv_or_the_model(model, mnist, tmp_path):
    test_csv = write_kaggle_csv(tmp_path / "test.csv", None, mnist.test_images[:5])
    before = test_csv.read_bytes()
    for target, what in ((test_csv, "the --test-csv file"), (model, "the model file")):
        result = run_cli("predict", str(model), "--test-csv", str(test_csv), "--submission",
                         str(target))  # fmt: skip
        assert_one_line_error(result, f"--submission {target} is {what}")
    assert test_csv.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no image files given"),
        (["--submission", "x.csv"], "--submission needs --test-csv"),
        (["--model", "/nonexistent.npz", "a.png"], "no such model file"),
    ],
)
def test_predict_usage_errors(args, message):
    assert_one_line_error(run_cli("predict", *args), message)


def test_show_prints_labels_probabilities_text_art_and_writes_a_png(model, tmp_path):
    png = tmp_path / "seven.png"
    result = run_cli("show", str(model), "--index", "0", "--out", str(png))
    assert result.returncode == 0, result.stderr
    assert "test image 0: predicted 7, true 7 (right)" in result.stdout
    assert "probabilities: 0:" in result.stdout
    art = result.stdout.splitlines()[:28]
    assert all(len(line) == 56 for line in art) and any("@" in line for line in art)
    with Image.open(png) as image:
        assert image.size[0] > 400


def test_show_index_out_of_range(model):
    assert_one_line_error(run_cli("show", str(model), "--index", "10000"), "out of range")


def test_plot_writes_every_figure(model, tmp_path):
    result = run_cli("plot", str(model), "--out-dir", str(tmp_path), "--count", "16")
    assert result.returncode == 0, result.stderr
    for kind in ("cost", "predictions", "mistakes", "confusion", "weights"):
        with Image.open(tmp_path / f"m.{kind}.png") as image:
            assert image.size[0] > 300, kind


def test_plot_creates_a_missing_folder_and_refuses_a_file(model, tmp_path):
    folder = tmp_path / "new" / "plots"
    result = run_cli("plot", str(model), "--kind", "weights", "--out-dir", str(folder))
    assert result.returncode == 0, result.stderr
    assert (folder / "m.weights.png").stat().st_size > 1000
    assert_one_line_error(
        run_cli("plot", str(model), "--out-dir", str(folder / "m.weights.png")),
        "is a file, not a folder",
    )


def test_pictures_with_no_digit_but_lines_or_a_table_edge_are_refused(tmp_path):
    ruled = np.full((280, 280), 235, np.uint8)
    ruled[5::28] = ruled[6::28] = 110  # notebook lines
    ruled[:, 30:32] = 110  # and the margin line
    squared = np.full((280, 280), 235, np.uint8)
    squared[3::14] = 110
    squared[:, 3::14] = 110
    table = np.full((280, 280), 235, np.uint8)
    table[:, :50] = 90  # a strip of table along the left edge
    paths = []
    for name, pixels in (("ruled", ruled), ("squared", squared), ("table", table)):
        Image.fromarray(pixels).save(tmp_path / f"{name}.png")
        paths.append(str(tmp_path / f"{name}.png"))
    result = run_cli("predict", *paths)
    assert result.returncode == 1 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("digitnet: error:")]
    assert [e.split(": ", 3)[2] for e in errors] == [p for p in paths]
    assert "printed lines" in errors[0] and "printed lines" in errors[1]
    assert "block along one edge" in errors[2]
    assert "Traceback" not in result.stderr
