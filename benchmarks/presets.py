"""Train every preset (and, for the seed presets, the best recipe for the same architecture)
on the full bundled MNIST; record accuracy, training time and peak memory.

    python benchmarks/presets.py                 # all presets, one subprocess each
    python benchmarks/presets.py --only mlp cnn  # some of them

Each preset trains in its own process, one after the other, so times and peak RSS are its own.
Run it alone on the machine: anything running beside it distorts the times. Writes
benchmarks/results/presets.json and presets.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402

RESULTS = HERE / "results"


def run_one(name: str, best: bool) -> dict:
    """Train one preset in this process and return its row (plus peak RSS in MB)."""
    from digitnet.data.datasets import load_mnist
    from digitnet.training.presets import best_recipe, get_preset
    from digitnet.training.reproduce import run_preset

    preset = get_preset(name)
    row = run_preset(best_recipe(preset) if best else preset, load_mnist())
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    row["measured"] = machine_info()["date"]  # rows of partial re-runs differ in date
    return row


def markdown(rows: list[dict], machine: dict) -> str:
    dates = sorted(row["measured"] for row in rows)
    lines = [
        f"Measured {dates[0]} to {dates[-1]} on {machine['cpu']} ({machine['cores']} cores), "
        f"NumPy {machine['numpy']}, digitnet {machine['digitnet']}, "
        "by `python benchmarks/presets.py` (each row's time in its last column).",
        "",
        "| preset | architecture | data | seed reports | train acc | test acc "
        "| train time | peak RSS | measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        target = ""
        if row["targets"]:
            target = " ✓" if row["met_targets"] else " ✗"
        reported = row["reported"] or (
            "target " + ", ".join(f"{100 * v:.1f}%" for v in row["targets"].values())
            if row["targets"]
            else "-"
        )
        lines.append(
            f"| {row['preset']} | {row['architecture']} | {row['n_train']} / {row['n_test']} "
            f"| {reported}{target} | {100 * row['train_accuracy']:.2f}% "
            f"| {100 * row['test_accuracy']:.2f}% | {row['seconds']:.0f} s "
            f"| {row['peak_rss_mb']:.0f} MB | {row['measured']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="preset names")
    parser.add_argument("--no-best", action="store_true", help="skip the best-recipe runs")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--best", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.best)))
        return

    from digitnet.training.presets import PRESETS

    names = args.only or list(PRESETS)
    jobs = []
    for name in names:
        jobs.append((name, False))
        if PRESETS[name].seed and not args.no_best:
            jobs.append((name, True))
    rows = []
    results_file = RESULTS / "presets.json"
    previous = []
    if results_file.exists():  # rows from before dates were kept per row: the file's date
        earlier = json.loads(results_file.read_text())
        previous = [{"measured": earlier["machine"]["date"], **row} for row in earlier["rows"]]
    for name, best in jobs:
        command = [sys.executable, __file__, "--one", name] + (["--best"] if best else [])
        print(f"training {name}{' (best recipe)' if best else ''} ...", file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"  test {100 * row['test_accuracy']:.2f}% in {row['seconds']:.0f} s", file=sys.stderr
        )
        rows.append(row)
    # keep earlier rows of presets not re-run this time, so partial runs update the table
    rerun = {row["preset"] for row in rows}
    merged = [row for row in previous if row["preset"] not in rerun] + rows
    order = {name: i for i, name in enumerate(PRESETS)}
    merged.sort(key=lambda row: (order.get(row["preset"].removesuffix("+best"), 99), row["preset"]))
    machine = machine_info()
    RESULTS.mkdir(exist_ok=True)
    results_file.write_text(json.dumps({"machine": machine, "rows": merged}, indent=1))
    (RESULTS / "presets.md").write_text(markdown(merged, machine))
    print(markdown(merged, machine))


if __name__ == "__main__":
    main()
