"""Own-image robustness: MNIST test digits (and handwriting fonts) rendered as photos and scans
in each condition of photo_render.py, read through the CLI, accuracy per condition.

    python benchmarks/own_photos.py [--model M] [--per-condition N] [--quick] [--conditions ...]

Writes benchmarks/results/own_photos.md and .json. A refusal (a `digitnet: error:` line) counts
as an error. Numbers are read with `digitnet read --json` once that command exists.
"""

from __future__ import annotations

import argparse
import glob
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402
from photo_inks import font_ink, mnist_ink, number_ink  # noqa: E402
from photo_render import CONDITIONS  # noqa: E402

from digitnet.artifacts.atomic import write_text_atomically  # noqa: E402
from digitnet.data.datasets import load_mnist  # noqa: E402

FONT_PARTS = (
    "kristi",
    "humor",
    "fifthhorseman/dkg.ttf",
    "rufscript",
    "breip.ttf",
    "femke",
    "comicneue-regular",
    "bwht",
    "dancingscript-regular",
    "kaushan",
)
FONT_CONDITIONS = ("clean", "tight_crop", "lined", "soft_shadow")
FEWER = {"huge": 10}  # huge photos cost ~1 s each to render and read: N / 10 of them


def handwriting_fonts() -> list[Path]:
    """Installed handwriting-style font files (Debian's fonts-* packages), sorted."""
    files = glob.glob("/usr/share/fonts/**/*.[ot]tf", recursive=True)
    return sorted(Path(f) for f in files if any(p in f.lower() for p in FONT_PARTS))


def run_cli(command: str, files: list[Path], model: str | None) -> tuple[dict, dict]:
    """Run `digitnet COMMAND --json FILES`: (JSON object per file, error line per file)."""
    extra = ["--model", model] if model else []
    done = subprocess.run(
        [sys.executable, "-m", "digitnet", command, "--json", *extra, *map(str, files)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    answers = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        answers[record["file"]] = record
    errors = {}
    for line in done.stderr.splitlines():
        for file in files:
            if str(file) in line:
                errors[str(file)] = line
    return answers, errors


def score(truths: dict[str, tuple[int, str]], answers: dict, errors: dict, key: str) -> dict:
    """Per-condition figures from the CLI's answers; failures by test index."""
    right = unsure = refused = 0
    failures = []
    for file, (index, truth) in truths.items():
        answer = answers.get(file)
        if answer is None:
            refused += 1
            failures.append(
                {"index": index, "truth": truth, "error": errors.get(file, "no answer")}
            )
            continue
        unsure += bool(answer.get("unsure", False))
        got = str(answer[key])
        if got == truth:
            right += 1
        else:
            failures.append({"index": index, "truth": truth, "got": got})
    n = len(truths)
    return {
        "n": n,
        "accuracy": right / n,
        "refused": refused,
        "unsure": unsure,
        "failures": failures,
    }


def render_set(folder: Path, name: str, n: int, make_ink, seed: int):
    """Render n pictures of condition `name`; make_ink(rng) -> (index, truth, ink_at)."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    render = CONDITIONS[name.split(":")[-1]]
    truths = {}
    for i in range(n):
        index, truth, ink_at = make_ink(rng)
        photo = render(ink_at, rng)
        path = folder / f"{name.replace(':', '-')}-{i:04d}-{index}{photo.suffix}"
        photo.save(path)
        truths[str(path)] = (index, truth)
    return truths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--per-condition", type=int, default=500)
    parser.add_argument("--numbers", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="40 per condition: a smoke run")
    parser.add_argument("--conditions", nargs="*", default=list(CONDITIONS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--contact-sheet", metavar="PNG", help="only draw one example per condition"
    )
    args = parser.parse_args()
    per = 40 if args.quick else args.per_condition
    numbers = 20 if args.quick else args.numbers
    images, labels = load_mnist().split("test")
    if args.contact_sheet:
        contact_sheet(Path(args.contact_sheet), images, args.seed)
        return

    def mnist_digit(rng):
        index = int(rng.integers(len(images)))
        return index, str(labels[index]), lambda h: mnist_ink(images[index], h, rng)

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in args.conditions:
            truths = render_set(
                folder, name, max(2, per // FEWER.get(name, 1)), mnist_digit, args.seed
            )
            results[name] = score(
                truths, *run_cli("predict", list(map(Path, truths)), args.model), "digit"
            )
            print(name, results[name]["accuracy"], file=sys.stderr)
        fonts = handwriting_fonts()
        if not fonts:
            print(
                "fonts: no handwriting fonts installed (scripts/install-fonts.sh): set skipped",
                file=sys.stderr,
            )
        for name in FONT_CONDITIONS if fonts else ():

            def font_digit(rng):
                font, digit = fonts[int(rng.integers(len(fonts)))], int(rng.integers(10))
                return -1, str(digit), lambda h: font_ink(font, str(digit), h, rng)

            truths = render_set(folder, f"font:{name}", per, font_digit, args.seed)
            results[f"font:{name}"] = score(
                truths, *run_cli("predict", list(map(Path, truths)), args.model), "digit"
            )
        results.update(read_numbers(folder, numbers, images, labels, args))
    write_results(results, args, len(fonts))


def read_numbers(folder, n, images, labels, args) -> dict:
    has_read = (
        subprocess.run(
            [sys.executable, "-m", "digitnet", "read", "--help"], capture_output=True
        ).returncode
        == 0
    )
    if not has_read:
        print("numbers: skipped, `digitnet read` does not exist yet", file=sys.stderr)
        return {}
    results = {}
    for name, touching in (("numbers", False), ("touching_pairs", True)):

        def number(rng, touching=touching):
            idx = rng.integers(len(images), size=2 if touching else int(rng.integers(3, 7)))
            truth = "".join(str(labels[i]) for i in idx)

            def ink_at(h, idx=idx):
                inks = [mnist_ink(images[i], h, rng) for i in idx]
                return number_ink(inks, rng, touching=touching)

            return int(idx[0]), truth, ink_at

        truths = render_set(folder, f"{name}:photo", n, number, args.seed)
        results[name] = score(truths, *run_cli("read", list(map(Path, truths)), args.model), "text")
    return results


def contact_sheet(path: Path, images: np.ndarray, seed: int, cell: int = 200) -> None:
    """One example per condition, shrunk (or, for tiny ones, enlarged by pixel) to `cell` px."""
    from PIL import Image, ImageDraw

    names = list(CONDITIONS)
    cols = 5
    sheet = Image.new("RGB", (cols * cell, -(-len(names) // cols) * (cell + 16)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, name in enumerate(names):
        rng = np.random.default_rng([seed, k])
        digit = images[int(rng.integers(len(images)))]
        picture = CONDITIONS[name](lambda h, d=digit, r=rng: mnist_ink(d, h, r), rng).image
        fit = cell / max(picture.size)
        size = (max(1, int(picture.width * fit)), max(1, int(picture.height * fit)))
        picture = picture.resize(size, Image.NEAREST if fit > 1 else Image.LANCZOS)
        x, y = (k % cols) * cell, (k // cols) * (cell + 16)
        sheet.paste(picture, (x, y + 16))
        draw.text((x + 4, y + 2), name, fill="black")
    sheet.save(path)


def write_results(results: dict, args, n_fonts: int) -> None:
    info = machine_info()
    command = "python benchmarks/own_photos.py " + " ".join(sys.argv[1:])
    lines = [
        "# Own-image robustness (benchmarks/own_photos.py)",
        "",
        f"{info['date']}, {info['cpu']} ({info['cores']} cores), numpy {info['numpy']}, "
        f"model {args.model or 'bundled default'}, command `{command}`; "
        f"{n_fonts} handwriting font files. Refusals count as errors.",
        "",
        "| condition | n | accuracy | refused | unsure |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['n']} | {100 * r['accuracy']:.1f}% | {r['refused']} | {r['unsure']} |"
        )
    out = HERE / "results"
    write_text_atomically(out / "own_photos.md", "\n".join(lines) + "\n")
    payload = {"machine": info, "command": command, "conditions": results}
    write_text_atomically(out / "own_photos.json", json.dumps(payload, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
