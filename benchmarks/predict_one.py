"""How long one photo takes: `digitnet predict one.png` and `digitnet read one.png` end to end
(process start included), beside the floor that any NumPy program pays (Python started, NumPy
and Pillow imported), and one image through the bundled model in-process, with BLAS on one
thread (what digitnet does for a few images) and with BLAS's own thread count.

The processes run as a user's do: with Python's compiled bytecode cached (a warm-up run
writes it, whatever PYTHONDONTWRITEBYTECODE says here), since compiling digitnet's sources
afresh on every start would add about 0.15 s that no installed copy pays.

    python benchmarks/predict_one.py      # writes results/predict_one.json

Run it alone: a second job on a 2-core machine changes the multi-threaded figure most.
"""

from __future__ import annotations

import json
import os
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


def end_to_end(command: list[str], repeats: int = 15) -> list[float]:
    """Seconds per run of command, after one warm-up run that caches the bytecode."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, check=True, capture_output=True, env=env)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
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
        floor = end_to_end([sys.executable, "-c", "import numpy, PIL.Image"])
        process = end_to_end([str(DIGITNET), "predict", str(path)])
        read = end_to_end([str(DIGITNET), "read", str(path)])
        threads = {name: in_process(path, one_thread=name == "one") for name in ("one", "blas")}
    report = {
        "machine": machine_info(),
        "predict_end_to_end_s": round(statistics.median(process), 3),
        "predict_end_to_end_runs_s": [round(t, 3) for t in process],
        "read_end_to_end_s": round(statistics.median(read), 3),
        "read_end_to_end_runs_s": [round(t, 3) for t in read],
        "numpy_and_pillow_import_s": round(statistics.median(floor), 3),
        "numpy_and_pillow_import_runs_s": [round(t, 3) for t in floor],
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
