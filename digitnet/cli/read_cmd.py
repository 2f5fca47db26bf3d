"""`digitnet read [MODEL] IMAGE...`: the number written on each image file, digit by digit."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from digitnet.artifacts.formats import figure_format, percent
from digitnet.cli.models import load_model_or_default, model_and_images
from digitnet.cli.predict_cmd import failure_summary
from digitnet.cli.run_control import check_output_path, output_folder
from digitnet.errors import ConfigError, ImageError, OutputError
from digitnet.images import read_image, save_mnist_png
from digitnet.reading import Reading, read_grey, with_file_name


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "read",
        help="read the number (one or more digits) written on your own images",
        description="Read the number on each image file (a photo or scan of digits written "
        "side by side on one line): each digit is found as connected ink, broken strokes "
        "joined, touching digits split where possible, then preprocessed the way MNIST was "
        "made and predicted. MODEL (a .npz file) is optional: without it the bundled default "
        "model is used.",
    )
    parser.add_argument(
        "inputs", nargs="*", metavar="[MODEL] IMAGE", help="an optional model file, then images"
    )
    parser.add_argument("--model", help="model file (instead of giving it first)")
    parser.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per line: {"file", "text", "digits": [{"digit", '
        '"probabilities", "box", "unsure"}], "unsure"}; boxes are [x0, y0, x1, y1] pixels; '
        'with --save-input each digit also has "saved_input"',
    )
    parser.add_argument(
        "--save-input",
        metavar="DIR",
        help="write each digit's 28x28 as the network saw it into DIR (created if missing) as "
        "NAME.digit-K.28x28.png, K = 1 for the leftmost digit (NAME-2 when names repeat); "
        "each result says which files it wrote",
    )
    parser.add_argument(
        "--out",
        metavar="PNG",
        help="draw the boxes and the digits read on the image: a .png (.jpg, .pdf, .svg) file "
        "for one image, a folder (NAME.read.png inside) for several",
    )
    parser.add_argument(
        "--show", action="store_true", help="open that picture in a window (needs a display)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model_path, inputs = model_and_images(args.model, args.inputs)
    if not inputs:
        raise ConfigError("no image files given (usage: digitnet read [MODEL] IMAGE ...)")
    out_file, out_dir = _out_target(args.out, inputs, model_path)
    save_dir = output_folder(args.save_input, "--save-input") if args.save_input else None
    show = args.show and _has_display()
    if args.show and not show:
        print("digitnet: --show: no display here; use --out FILE.png to write the picture",
              file=sys.stderr)  # fmt: skip
    model = load_model_or_default(model_path)
    unreadable = without_digit = 0
    taken: set[str] = set()
    for path in inputs:
        try:
            grey = read_image(path)
        except ImageError as error:
            unreadable += 1
            print(f"digitnet: error: {with_file_name(error, path)}", file=sys.stderr)
            continue
        try:
            reading = read_grey(model, grey, source=path)
        except ImageError as error:
            without_digit += 1
            print(f"digitnet: error: {with_file_name(error, path)}", file=sys.stderr)
            continue
        stem = _unique_stem(Path(path).stem, taken)
        saved = _save_inputs(reading, save_dir, stem) if save_dir is not None else []
        picture = out_file or (out_dir / f"{stem}.read.png" if out_dir else None)
        if picture is not None or show:
            _draw(grey, reading, picture, show)
        print(_record(reading, saved) if args.json else describe(reading, saved), flush=True)
    if (unreadable or without_digit) and len(inputs) > 1:
        print(failure_summary(unreadable, without_digit, len(inputs)), file=sys.stderr)
    return 1 if unreadable or without_digit else 0


def describe(reading: Reading, saved: Sequence[Path] = ()) -> str:
    """ "photo.jpg: 42 [4 99.8%, 2 97.1%]", with "(unsure)" after the number and "unsure"
    after each doubtful digit when the model is unsure, and the `saved` 28x28 files."""
    digits = ", ".join(
        f"{d.digit} {percent(d.confidence, 1)}{' unsure' if d.unsure else ''}"
        for d in reading.digits
    )
    status = " (unsure)" if reading.unsure else ""
    where = f"; saved the 28x28s as {', '.join(map(str, saved))}" if saved else ""
    return f"{reading.source}: {reading.text}{status} [{digits}]{where}"


def _record(reading: Reading, saved: Sequence[Path]) -> str:
    """The JSON line of one image; each digit names its saved 28x28 file when there is one."""
    record = reading.to_dict()
    for digit, path in zip(record["digits"], saved):
        digit["saved_input"] = str(path)
    return json.dumps(record)


def _save_inputs(reading: Reading, save_dir: Path, stem: str) -> list[Path]:
    """Write each digit's 28x28 as STEM.digit-K.28x28.png; the paths, left to right."""
    paths = [save_dir / f"{stem}.digit-{k}.28x28.png" for k in range(1, len(reading.digits) + 1)]
    for digit, path in zip(reading.digits, paths, strict=True):
        _write(save_mnist_png, digit.input28, path)
    return paths


def _out_target(
    out: str | None, inputs: list[str], model_path: str | None
) -> tuple[Path | None, Path | None]:
    """(the picture file, None) for one image, (None, the folder) for several or when --out
    is a folder; checked before any image is read."""
    if out is None:
        return None, None
    target = Path(out)
    if target.is_dir() or (len(inputs) > 1 and not target.suffix):
        return None, output_folder(out, "--out")
    if len(inputs) > 1:
        raise ConfigError(
            f"--out {out} names one picture but {len(inputs)} images were given; give a "
            "folder (one NAME.read.png per image is written into it)"
        )
    figure_format(target)
    sources = {"the image": inputs[0], "the model file": model_path}
    check_output_path(target, "--out", sources)
    return target, None


def _draw(grey, reading: Reading, picture: Path | None, show: bool) -> None:
    from digitnet.plots.reading import plot_reading, reading_figure

    if picture is not None:
        plot_reading(grey, reading, picture)
    if show:
        import io

        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        figure = reading_figure(grey, reading)
        buffer = io.BytesIO()
        FigureCanvasAgg(figure).print_png(buffer)
        Image.open(buffer).show(title=reading.source)  # the system's image viewer


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or (
        sys.platform in ("darwin", "win32")
    )


def _unique_stem(stem: str, taken: set[str]) -> str:
    """stem, or stem-2, stem-3, ... when an earlier image of this run had the same name."""
    name, count = stem, 1
    while name in taken:
        count += 1
        name = f"{stem}-{count}"
    taken.add(name)
    return name


def _write(save, image28, path: Path) -> None:
    try:
        save(image28, path)
    except ImageError as error:
        raise OutputError(str(error)) from None
