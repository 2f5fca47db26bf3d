"""A `digitnet sweep` of the `mlp` preset beside the preset's own settings, on the same budget.

Both train for EPOCHS epochs on the training images and are judged on the same validation
hold-out (the preset's 1/12, seed 0); the test images are never used to choose. The best
trial's model is then measured once on the test set.

    python benchmarks/sweep_mlp.py     # about 10 minutes alone; writes results/sweep_mlp.*
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info  # noqa: E402

from digitnet.data.datasets import Dataset, load_mnist  # noqa: E402
from digitnet.sweep.space import format_setting  # noqa: E402
from digitnet.training.presets import get_preset  # noqa: E402
from digitnet.training.run import train_run  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
EPOCHS = 3
TRIALS = 30
SPACE = [
    "learning_rate=3e-4..1e-2:log",
    "hidden=512,256|1024,512|800|256,128",
    "dropout=0..0.4",
    "batch_size=64|128|256",
]


def preset_defaults() -> float:
    """The mlp preset's validation accuracy after EPOCHS epochs, its other settings kept."""
    recipe = get_preset("mlp")
    train = dataclasses.replace(recipe.train, epochs=EPOCHS)
    mnist = load_mnist()
    train_only = Dataset(mnist.source, mnist.train_images, mnist.train_labels)
    return train_run(recipe.model, train, train_only, preset="mlp").results["val_accuracy"]


def main() -> None:
    digitnet = Path(sys.executable).with_name("digitnet")
    with tempfile.TemporaryDirectory() as folder:
        command = [str(digitnet), "sweep", "--preset", "mlp", "--trials", str(TRIALS),
                   "--epochs", str(EPOCHS), "--out", folder, "--json"]  # fmt: skip
        for text in SPACE:
            command += ["--space", text]
        started = time.perf_counter()
        sweep = subprocess.run(command, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        result = json.loads(sweep.stdout)
        evaluated = subprocess.run(
            [str(digitnet), "evaluate", result["model"], "--json"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        test_accuracy = json.loads(evaluated.stdout)["accuracy"]
    defaults = preset_defaults()
    report = {
        "machine": machine_info(),
        "command": f"digitnet sweep --preset mlp --trials {TRIALS} --epochs {EPOCHS} "
        + " ".join(f'--space "{text}"' for text in SPACE),
        "seconds": round(seconds, 1),
        "finished_trials": result["finished_trials"],
        "pruned_trials": result["pruned_trials"],
        "preset_defaults_val_accuracy": defaults,
        "best": result["best"],
        "best_test_accuracy": test_accuracy,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sweep_mlp.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "sweep_mlp.md").write_text(markdown(report))
    print(markdown(report))


def markdown(report: dict) -> str:
    lines = [
        f"`mlp` preset, {EPOCHS} epochs a trial: {report['finished_trials']} trials "
        f"({report['pruned_trials']} pruned) in {report['seconds'] / 60:.1f} min, "
        f"{report['machine']['date']}, {report['machine']['cpu']}, {report['machine']['cores']} "
        "cores (`python benchmarks/sweep_mlp.py`)",
        "",
        "| settings | validation accuracy |",
        "|---|---|",
        f"| the preset's own (learning_rate 0.002, hidden 512,256, dropout 0, batch 128) "
        f"| {100 * report['preset_defaults_val_accuracy']:.2f}% |",
    ]
    for row in report["best"]:
        settings = ", ".join(f"{k} {format_setting(v)}" for k, v in row["settings"].items())
        lines.append(f"| trial {row['trial']}: {settings} | {100 * row['val_accuracy']:.2f}% |")
    lines += ["", f"The best trial's test accuracy: {100 * report['best_test_accuracy']:.2f}%."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
