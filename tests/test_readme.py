"""The README's hand-written training example runs as printed, learns, and its backward gives
the gradient that the chain rule gives when worked by hand."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "this block runs as a test, `tests/test_readme.py`"


def runnable_block() -> str:
    """The first python code block after the README's marker sentence."""
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "the README lost the sentence that introduces its tested example"
    match = re.search(r"```python\n(.*?)```", text[text.index(MARKER) :], re.S)
    assert match, "no python block after the marker"
    return match.group(1)


def test_readme_lower_level_example_runs_learns_and_backpropagates(capsys):
    names: dict = {}
    exec(compile(runnable_block(), str(README), "exec"), names)
    printed = capsys.readouterr().out
    costs = [float(c) for c in re.findall(r"epoch \d: cost ([0-9.]+)", printed)]
    assert len(costs) == 3 and costs[0] > costs[-1]
    assert float(re.search(r"test accuracy ([0-9.]+)%", printed).group(1)) > 85.0
    assert "dCost/dW1: shape (784, 128)" in printed

    # the same gradient by hand: 784-128-10, tanh, softmax cross-entropy over the 100 images
    model, x, y = names["model"], names["x"][:100].astype(np.float64), names["y"][:100]
    W1, b1 = (model.layers[0].params[k].astype(np.float64) for k in ("W", "b"))
    W2, b2 = (model.layers[2].params[k].astype(np.float64) for k in ("W", "b"))
    a1 = np.tanh(x @ W1 + b1)
    z2 = a1 @ W2 + b2
    probs = np.exp(z2 - z2.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    grad_z1 = ((probs - y) / len(x)) @ W2.T * (1 - a1**2)
    np.testing.assert_allclose(names["grad_W1"], x.T @ grad_z1, rtol=1e-3, atol=1e-6)
