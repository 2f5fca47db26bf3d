"""Shared fixtures: running the real CLI in a subprocess, the bundled MNIST loaded once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run `python -m digitnet ARGS` as a user would, capturing text output."""
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    return subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def mnist():
    """The bundled MNIST, loaded once per test session."""
    from digitnet.data.datasets import load_mnist

    return load_mnist()


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """A failed command ended with exactly one `digitnet: error:` line naming the problem."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("digitnet: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # progress may come before
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def write_kaggle_csv(path: Path, labels, images) -> Path:
    """A Kaggle-style CSV with a header: label,pixel0..pixel783 rows, or pixel0.. only when
    labels is None (test.csv); images are (n, 784) or (n, 28, 28) integers 0..255."""
    rows = [",".join(map(str, np.ravel(image))) for image in images]
    header = ",".join(f"pixel{i}" for i in range(784))
    if labels is not None:
        header = "label," + header
        rows = [f"{label},{row}" for label, row in zip(labels, rows, strict=True)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """The first 3000 training and 1000 test digits of the bundled MNIST."""
    from digitnet.data.datasets import Dataset

    return Dataset(
        "small",
        mnist.train_images[:3000],
        mnist.train_labels[:3000],
        mnist.test_images[:1000],
        mnist.test_labels[:1000],
    )
