"""How long one photo takes: `digitnet predict one.png` end to end (process start included),
and one image through the bundled model in-process, with BLAS on one thread (what digitnet
does for a few images) and with BLAS's own thread count.

    python benchmarks/predict_one.py      # writes results/predict_one.json

Run it alone: a second job on a 2-core machine changes the multi-threaded figure most.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402

from digitnet.data.datasets import load_mnist  # noqa: E402
from digitnet.nn import model as model_module  # noqa: E402
from digitnet.predict import load_default_model, predict_files  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DIGITNET = Path(sys.executable).with_name("digitnet")


def photo(folder: Path) -> Path:
    """MNIST test image 0 (a 7) as a 112x112 photo-like PNG: dark ink on light paper."""
    path = folder / "one.png"
    Image.fromarray(255 - load_mnist().test_images[0]).resize((112, 112)).save(path)
    return path


def end_to_end(path: Path, repeats: int = 7) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(DIGITNET), "predict", str(path)], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def in_process(path: Path, *, one_thread: bool, repeats: int = 30) -> list[float]:
    model = load_default_model().model
    saved = model_module.ONE_THREAD_BATCH
    model_module.ONE_THREAD_BATCH = saved if one_thread else 0
    try:
        list(predict_files(model, [path]))  # the first call warms caches and BLAS threads
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            list(predict_files(model, [path]))
            times.append(time.perf_counter() - started)
    finally:
        model_module.ONE_THREAD_BATCH = saved
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = photo(Path(folder))
        process = end_to_end(path)
        threads = {name: in_process(path, one_thread=name == "one") for name in ("one", "blas")}
    report = {
        "machine": machine_info(),
        "predict_end_to_end_s": round(statistics.median(process), 3),
        "predict_end_to_end_runs_s": [round(t, 3) for t in process],
        "one_image_ms": {
            name: round(1000 * statistics.median(times), 2) for name, times in threads.items()
        },
        "one_image_ms_range": {
            name: [round(1000 * min(t), 2), round(1000 * max(t), 2)] for name, t in threads.items()
        },
        "blas_threads_note": "one: BLAS on the calling thread (Sequential.forward for a few "
        "images); blas: OpenBLAS's own thread count",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "predict_one.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
