"""Every command that takes a model takes it as MODEL or as --model; both at once must name
the same file. End to end in subprocesses."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, assert_one_line_error, run_cli

BUNDLED = str(REPO / "digitnet" / "models" / "default.npz")
COMMANDS = {  # the rest of a command line that would otherwise run
    "evaluate": ["--limit", "10"],
    "show": ["--index", "0", "--no-plot"],
    "plot": ["--kind", "weights", "--out-dir", "{tmp}"],
    "predict": ["{tmp}/seven.png"],
    "read": ["{tmp}/seven.png"],
    "serve": ["--port", "0"],
    "calibrate": ["--out", "{tmp}/out.npz"],
    "export": ["--onnx", "{tmp}/out.onnx"],
}


def _rest(command: str, tmp_path) -> list[str]:
    return [part.format(tmp=tmp_path) for part in COMMANDS[command]]


@pytest.mark.parametrize("command", COMMANDS)
def test_model_is_taken_as_an_option_and_as_the_first_argument(command, tmp_path):
    missing = str(tmp_path / "absent.npz")
    for form in ([missing], ["--model", missing]):
        result = run_cli(command, *form, *_rest(command, tmp_path))
        assert_one_line_error(result, "absent.npz: no such model file")


@pytest.mark.parametrize("command", COMMANDS)
def test_two_different_models_are_refused(command, tmp_path):
    other = str(tmp_path / "other.npz")
    result = run_cli(command, BUNDLED, *_rest(command, tmp_path), "--model", other)
    assert_one_line_error(result, "two model files given", "give one of them")


def test_the_same_model_both_ways_is_fine():
    result = run_cli("evaluate", BUNDLED, "--model", BUNDLED, "--limit", "10", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == BUNDLED


def test_calibrate_without_a_model_says_so():
    assert_one_line_error(run_cli("calibrate", "--out", "x.npz"), "no model file given")
