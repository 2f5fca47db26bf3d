"""What `--help` tells a newcomer: every word defined, every option explained."""

from __future__ import annotations

import re

from conftest import run_cli


def _help(command: str) -> str:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_show_help_says_what_it_shows_without_project_history():
    text = _help("show")
    assert "seed" not in text.lower()  # "Seed 001" was a project milestone, not a user's word
    assert "the digit the model predicts" in " ".join(text.split())


def test_label_smoothing_has_help():
    text = " ".join(_help("train").split())
    assert re.search(r"--label-smoothing X soften the targets", text), text
