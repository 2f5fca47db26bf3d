"""How long loading the bundled MNIST takes: cold (gunzip + SHA-256 checks, filling the cache)
and warm (from the verified decompressed cache), best of several runs, each in a fresh process.

    python benchmarks/load_data.py [--repeats 5]

Writes benchmarks/results/load_data.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402

TIMED = """
import time, sys
from pathlib import Path
from digitnet.data.datasets import load_mnist
cache = Path(sys.argv[1])
started = time.perf_counter()
load_mnist(cache_dir=cache)
print(time.perf_counter() - started)
"""


def timed_load(cache: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", TIMED, str(cache)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            cold.append(timed_load(Path(folder)))
            warm.append(timed_load(Path(folder)))
    result = {
        "machine": machine_info(),
        "cold_seconds_best": round(min(cold), 3),
        "warm_seconds_best": round(min(warm), 3),
        "cold_seconds": [round(t, 3) for t in cold],
        "warm_seconds": [round(t, 3) for t in warm],
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "load_data.json").write_text(json.dumps(result, indent=1))
    print(
        f"bundled MNIST: cold {result['cold_seconds_best']} s, "
        f"warm (cached) {result['warm_seconds_best']} s"
    )


if __name__ == "__main__":
    main()
