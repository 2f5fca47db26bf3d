"""`digitnet read` end to end, in subprocesses: the number per file, --json, --save-input,
--out pictures, and bad files refused one line each while the others are read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli
from number_photos import number_photo
from PIL import Image, ImageDraw, ImageFont


@pytest.fixture(scope="module")
def numbers(mnist, tmp_path_factory) -> list[tuple[Path, str]]:
    """Three photographed numbers as JPEG files, with their text."""
    images, labels = mnist.test_images, mnist.test_labels
    folder = tmp_path_factory.mktemp("numbers")
    rng = np.random.default_rng(30)
    files = []
    for count in (3, 4, 5):
        photo = number_photo(rng, images, labels, count)
        path = folder / f"number-{count}.jpg"
        Image.fromarray(np.round(photo.grey * 255).astype(np.uint8)).save(path, quality=90)
        files.append((path, photo.text))
    return files


def test_read_prints_each_number_with_each_digits_confidence(numbers):
    result = run_cli("read", *(str(path) for path, _ in numbers))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for line, (path, text) in zip(lines, numbers):
        assert line.startswith(f"{path}: {text} ")
        confidences = line.split("[", 1)[1].rstrip("]").split(", ")
        assert [c.split()[0] for c in confidences] == list(text)
        assert all(c.split()[1].endswith("%") for c in confidences)


def test_read_json_is_one_object_per_file_with_the_documented_fields(numbers):
    path, text = numbers[1]
    result = run_cli("read", str(path), "--json")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    record = json.loads(line)
    assert set(record) == {"file", "text", "digits", "unsure"}
    assert record["file"] == str(path) and record["text"] == text
    with Image.open(path) as image:
        width, height = image.size
    for digit in record["digits"]:
        assert set(digit) == {"digit", "probabilities", "box", "unsure"}
        x0, y0, x1, y1 = digit["box"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert isinstance(record["unsure"], bool)


def test_read_save_input_writes_each_digit_as_the_network_saw_it(numbers, tmp_path):
    path, text = numbers[0]
    out = tmp_path / "inputs"
    result = run_cli("read", str(path), "--save-input", str(out))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{path.stem}.digit-{k}.28x28.png" for k in range(1, len(text) + 1)]
    for name in names:
        with Image.open(out / name) as image:
            pixels = np.asarray(image)
        assert pixels.shape == (28, 28) and pixels.max() > 200 and np.median(pixels) < 20


def test_read_save_input_says_which_file_each_digit_went_to(numbers, tmp_path):
    (tmp_path / "again").mkdir()
    path, text = numbers[0]
    twin = tmp_path / "again" / path.name  # the same name in another folder
    twin.write_bytes(path.read_bytes())
    out = tmp_path / "inputs"
    result = run_cli("read", str(path), str(twin), "--save-input", str(out), "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    for record, stem in zip(records, (path.stem, f"{path.stem}-2"), strict=True):
        saved = [digit["saved_input"] for digit in record["digits"]]
        assert saved == [str(out / f"{stem}.digit-{k}.28x28.png") for k in range(1, len(text) + 1)]
    plain = run_cli("read", str(twin), str(path), "--save-input", str(out)).stdout.splitlines()
    assert plain[1].endswith(f", {out / f'{path.stem}-2.digit-{len(text)}.28x28.png'}")
    assert f"; saved the 28x28s as {out / (path.stem + '.digit-1.28x28.png')}, " in plain[0]


def test_read_out_draws_one_picture_for_one_file_and_a_folder_for_several(numbers, tmp_path):
    picture = tmp_path / "read.png"
    result = run_cli("read", str(numbers[0][0]), "--out", str(picture))
    assert result.returncode == 0, result.stderr
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.width > 300
        colours = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert (np.abs(colours.astype(int) - [31, 119, 180]).sum(axis=1) < 30).sum() > 200  # boxes
    folder = tmp_path / "pictures"
    result = run_cli("read", *(str(p) for p, _ in numbers), "--out", str(folder))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{p.stem}.read.png" for p, _ in numbers
    )


def test_read_out_one_file_for_several_images_is_refused_before_reading(numbers, tmp_path):
    result = run_cli("read", *(str(p) for p, _ in numbers), "--out", str(tmp_path / "x.png"))
    assert_one_line_error(result, "names one picture but 3 images were given", "folder")
    assert result.stdout == ""
    result = run_cli("read", str(numbers[0][0]), "--out", str(tmp_path / "x.bmp"))
    assert_one_line_error(result, "cannot write a .bmp figure")


@pytest.mark.skipif(
    bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")), reason="a display"
)
def test_read_show_without_a_display_says_to_use_out(numbers):
    result = run_cli("read", str(numbers[0][0]), "--show")
    assert result.returncode == 0
    assert "no display here; use --out" in result.stderr
    assert result.stdout.startswith(f"{numbers[0][0]}: {numbers[0][1]}")


def text_page(path: Path) -> Path:
    image = Image.new("L", (900, 600), 245)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    for row in range(20):
        draw.text((20, 20 + 28 * row), "Dear reader, please find enclosed 12 forms.",
                  fill=10, font=font)  # fmt: skip
    image.save(path)
    return path


def test_bad_files_get_one_line_each_and_the_others_are_still_read(numbers, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 200), 230).save(blank)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    page = text_page(tmp_path / "page.png")
    missing = tmp_path / "missing.png"
    good, text = numbers[2]
    result = run_cli("read", str(blank), str(good), str(empty), str(page), str(missing))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [result.stdout.splitlines()[0]]
    assert result.stdout.startswith(f"{good}: {text}")
    errors = result.stderr.splitlines()
    assert errors == [
        f"digitnet: error: {blank}: no digits found: the image is blank",
        f"digitnet: error: {empty}: the file is empty",
        errors[2],
        f"digitnet: error: {missing}: no such file",
        "digitnet: 4 of 5 images gave no result: 2 could not be read, 2 were read, but no digit "
        "could be taken from them",
    ]
    assert errors[2].startswith(f"digitnet: error: {page}: found ")
    assert "separate marks, more than the 40" in errors[2]
    assert "Traceback" not in result.stderr


def test_read_takes_the_model_first_or_by_option_and_needs_images(numbers):
    model = Path(__file__).resolve().parents[1] / "digitnet/models/default.npz"
    path, text = numbers[0]
    for args in ([str(model), str(path)], ["--model", str(model), str(path)]):
        result = run_cli("read", *args)
        assert result.returncode == 0 and result.stdout.startswith(f"{path}: {text}")
    assert_one_line_error(run_cli("read"), "no image files given")
    assert_one_line_error(run_cli("read", "--model", "nothing.npz", str(path)), "nothing.npz")
