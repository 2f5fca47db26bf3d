"""The README's hand-written training example runs as printed and learns."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "this block runs as a test, `tests/test_readme.py`"


def runnable_block() -> str:
    """The first python code block after the README's marker sentence."""
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "the README lost the sentence that introduces its tested example"
    match = re.search(r"```python\n(.*?)```", text[text.index(MARKER) :], re.S)
    assert match, "no python block after the marker"
    return match.group(1)


def test_readme_lower_level_example_runs_and_learns(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", runnable_block()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    costs = [float(c) for c in re.findall(r"epoch \d: cost ([0-9.]+)", done.stdout)]
    assert len(costs) == 3 and costs[0] > costs[-1]
    accuracy = float(re.search(r"test accuracy ([0-9.]+)%", done.stdout).group(1))
    assert accuracy > 85.0
    assert "(784, 128)" in done.stdout
