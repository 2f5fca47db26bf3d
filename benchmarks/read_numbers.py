"""How often `digitnet read` reads a photographed number exactly (every digit right).

Numbers of 3 to 6 MNIST *test* digits with small gaps (2 to 6 pixels at the 28x28 scale),
and pairs of touching test digits, rendered as JPEG photos of dark ink on unevenly lit paper
(tests/number_photos.py), read through the CLI (`digitnet read --json`, one process for all).

    python benchmarks/read_numbers.py [--numbers 300] [--pairs 200] [--seed 0] [--model M]

Writes benchmarks/results/read_numbers.json and prints the two rates.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from number_photos import mnist_test, number_photo, photograph, strip  # noqa: E402

from digitnet.artifacts.atomic import write_text_atomically  # noqa: E402
from digitnet.images.components import label_components  # noqa: E402


def touching_pair(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray):
    """A photo of two test digits overlapping by 1 to 3 pixels so their ink is one component."""
    while True:
        chosen = rng.choice(len(images), 2, replace=False)
        gap = int(rng.integers(-3, 0))
        ink, _ = strip(images[chosen], [gap], [int(s) for s in rng.integers(-2, 3, 2)])
        if len(label_components(ink > 0.3)[1]) == 1:
            scale = int(rng.integers(3, 8))
            return photograph(ink, rng, scale=scale), "".join(str(int(d)) for d in labels[chosen])


def read_all(files: list[Path], model: str | None) -> dict[str, str | None]:
    """file -> the text `digitnet read --json` gave (None where it refused the file)."""
    command = [sys.executable, "-m", "digitnet", "read", "--json", *map(str, files)]
    if model:
        command += ["--model", model]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    texts: dict[str, str | None] = {str(f): None for f in files}
    for line in result.stdout.splitlines():
        record = json.loads(line)
        texts[record["file"]] = record["text"]
    return texts


def rate(kind: str, photos: list[tuple[np.ndarray, str]], folder: Path, model: str | None) -> dict:
    files = []
    for index, (grey, _) in enumerate(photos):
        path = folder / f"{kind}-{index:04d}.png"  # the JPEG artefacts are in the photo already
        Image.fromarray(np.round(grey * 255).astype(np.uint8)).save(path)
        files.append(path)
    texts = read_all(files, model)
    exact = sum(texts[str(f)] == text for f, (_, text) in zip(files, photos))
    counted = sum(len(texts[str(f)] or "") == len(text) for f, (_, text) in zip(files, photos))
    refused = sum(texts[str(f)] is None for f in files)
    return {
        "n": len(photos),
        "exact": exact,
        "exact_rate": round(exact / len(photos), 4),
        "right_digit_count": counted,
        "refused": refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--numbers", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="model file (default: the bundled one)")
    args = parser.parse_args()
    images, labels = mnist_test()
    rng = np.random.default_rng(args.seed)
    numbers = []
    for _ in range(args.numbers):
        count, scale = int(rng.integers(3, 7)), int(rng.integers(3, 9))
        photo = number_photo(rng, images, labels, count, scale=scale)
        numbers.append((photo.grey, photo.text))
    pairs = [touching_pair(rng, images, labels) for _ in range(args.pairs)]
    with tempfile.TemporaryDirectory() as folder:
        results = {
            "numbers_3_to_6_digits_small_gaps": rate("number", numbers, Path(folder), args.model),
            "touching_pairs": rate("pair", pairs, Path(folder), args.model),
        }
    results["seed"] = args.seed
    results["model"] = args.model or "bundled default"
    out = HERE / "results" / "read_numbers.json"
    write_text_atomically(out, json.dumps(results, indent=2) + "\n")
    for name in ("numbers_3_to_6_digits_small_gaps", "touching_pairs"):
        r = results[name]
        print(f"{name}: {r['exact']}/{r['n']} read exactly ({100 * r['exact_rate']:.1f}%)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
