"""What inference costs with the bundled default model: its Deskew layer per image, one image
with and without Deskew, and 10,000 test images in chunks of different sizes.

    python benchmarks/inference.py [--repeats 7]

Writes benchmarks/results/inference.json. Run it alone: the machine has 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402
from timing import timings  # noqa: E402

from digitnet.artifacts.atomic import write_text_atomically  # noqa: E402
from digitnet.data.datasets import load_mnist  # noqa: E402
from digitnet.data.preprocess import to_inputs  # noqa: E402
from digitnet.nn.model import Sequential  # noqa: E402
from digitnet.predict import load_default_model  # noqa: E402

CHUNKS = (1024, 2048, 4096, 10_000)


def seconds(run: Callable[[], object], repeats: int) -> list[float]:
    """Wall-clock seconds of each of `repeats` calls, after one warm-up call."""
    run()
    return timings(run, repeats)


def milliseconds(times: list[float]) -> dict:
    return {"min": round(1000 * min(times), 4), "median": round(1000 * statistics.median(times), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    model = load_default_model().model
    assert model.fixed_prefix == 1, "the bundled model should start with its Deskew layer"
    without_deskew = Sequential(model.layers[1:], model.loss)
    x = to_inputs(load_mnist().test_images)
    one = x[:1]
    deskew = model.layers[0]
    single = 50 * args.repeats  # one image is fast: time it more often
    result = {
        "machine": machine_info(),
        "model": "bundled default (mlp preset: Deskew, 784-512-256-10)",
        "deskew_10000_images_ms": milliseconds(seconds(lambda: deskew.forward(x), args.repeats)),
        "deskew_1_image_ms": milliseconds(seconds(lambda: deskew.forward(one), single)),
        "predict_1_image_ms": {
            "with_deskew": milliseconds(seconds(lambda: model.predict_proba(one), single)),
            "without_deskew": milliseconds(
                seconds(lambda: without_deskew.predict_proba(one), single)
            ),
        },
        "predict_10000_images_ms_by_chunk": {
            str(chunk): milliseconds(
                seconds(lambda c=chunk: without_deskew.predict_proba(x, batch_size=c), args.repeats)
            )
            for chunk in CHUNKS
        },
    }
    out = HERE / "results" / "inference.json"
    out.parent.mkdir(exist_ok=True)
    write_text_atomically(out, json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
