"""The cnn-ensemble recipe: train k members of a preset differing by seed (and, with
--augmentations, by augmentation), combine them with `digitnet ensemble`, and report each
member's and the ensemble's test accuracy.

    python benchmarks/ensemble.py [--preset cnn-best] [--seeds 11,12,13,14,15]
                                  [--augmentations affine,elastic] [--models DIR] [--quick]

Members already in --models (named <preset>-<augmentation>-s<seed>.npz) are reused, so the
recipe can be run member by member or continued after an interruption. The test set is only
measured, never used to choose. Writes benchmarks/results/ensemble.json and ensemble.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402

from digitnet.artifacts.atomic import write_text_atomically  # noqa: E402


def member_plan(preset: str, seeds: list[int], augmentations: list[str]) -> list[tuple]:
    """(seed, augmentation or None) per member: the augmentations taken in turn."""
    return [(seed, augmentations[i % len(augmentations)] if augmentations else None)
            for i, seed in enumerate(seeds)]  # fmt: skip


def train_member(preset: str, seed: int, augment: str | None, path: Path, quick: bool) -> float:
    """Train one member with `digitnet train` unless path exists; its training seconds."""
    if path.exists():
        return json.loads(path.with_suffix(".train.json").read_text())["seconds"]
    command = [sys.executable, "-m", "digitnet", "train", "--preset", preset, "--seed", str(seed),
               "--out", str(path), "--no-plot", "--quiet"]  # fmt: skip
    command += ["--augment", augment] if augment else []
    command += ["--epochs", "1", "--train-limit", "3000"] if quick else []
    start = time.perf_counter()
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    seconds = round(time.perf_counter() - start, 1)
    path.with_suffix(".train.json").write_text(json.dumps({"seconds": seconds}))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="cnn-best")
    parser.add_argument("--seeds", default="11,12,13,14,15")
    parser.add_argument("--augmentations", default="", help="e.g. affine,elastic (in turn)")
    parser.add_argument("--models", default=str(HERE / "ensemble-models"))
    parser.add_argument("--quick", action="store_true", help="1 epoch on 3,000 images")
    args = parser.parse_args()
    folder = Path(args.models)
    folder.mkdir(parents=True, exist_ok=True)
    augmentations = [a for a in args.augmentations.split(",") if a]
    plan = member_plan(args.preset, [int(s) for s in args.seeds.split(",")], augmentations)
    paths, seconds = [], []
    for seed, augment in plan:
        path = folder / f"{args.preset}-{augment or 'preset'}-s{seed}.npz"
        seconds.append(train_member(args.preset, seed, augment, path, args.quick))
        paths.append(path)
    out = folder / f"{args.preset}-ensemble.npz"
    combined = subprocess.run(
        [sys.executable, "-m", "digitnet", "ensemble", *map(str, paths), "--out", str(out),
         "--json"],
        check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    report = json.loads(combined.stdout)
    result = {"machine": machine_info(), "preset": args.preset, "quick": args.quick,
              "command": "python benchmarks/ensemble.py " + " ".join(sys.argv[1:]),
              "members": [{**m, "seed": s, "augment": a or "preset's", "train_seconds": t}
                          for m, (s, a), t in zip(report["members"], plan, seconds)],
              "ensemble_test_accuracy": report["test_accuracy"], "n": report["n"]}  # fmt: skip
    results = HERE / "results"
    write_text_atomically(results / "ensemble.json", json.dumps(result, indent=1) + "\n")
    write_text_atomically(results / "ensemble.md", markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores), digitnet {m['digitnet']}, "
        f"by `{result['command']}`" + (" (quick: a smoke test)" if result["quick"] else ""),
        "",
        "| model | seed | augmentation | test accuracy | training time |",
        "|---|---|---|---|---|",
    ]
    for member in result["members"]:
        lines.append(
            f"| {member['file']} | {member['seed']} | {member['augment']} | "
            f"{100 * member['test_accuracy']:.2f}% | {member['train_seconds']:.0f} s |"
        )
    total = sum(member["train_seconds"] for member in result["members"])
    lines.append(
        f"| **ensemble of {len(result['members'])}** | | | "
        f"**{100 * result['ensemble_test_accuracy']:.2f}%** | {total:.0f} s |"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
