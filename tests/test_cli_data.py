"""The CLI skeleton end to end in subprocesses: help, version, `data`, and its error paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, assert_one_line_error, run_cli

from digitnet import __version__


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "data" in result.stdout and "usage: digitnet" in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"digitnet {__version__}"


def test_no_command_prints_usage_and_fails():
    result = run_cli()
    assert result.returncode == 2 and "usage:" in result.stderr


def test_data_describes_the_bundled_mnist():
    result = run_cli("data")
    assert result.returncode == 0, result.stderr
    assert "train: 60000 images of 28x28" in result.stdout
    assert "test: 10000 images of 28x28" in result.stdout
    assert result.stdout.count("SHA-256 OK") == 4


def test_data_json():
    result = run_cli("data", "--json")
    summary = json.loads(result.stdout)
    assert summary["splits"]["train"]["n"] == 60000
    assert sum(summary["splits"]["test"]["counts"]) == 10000


def test_data_dir_that_does_not_exist_or_is_a_file(tmp_path):
    assert_one_line_error(run_cli("data", "--data-dir", str(tmp_path / "nope")), "no such folder")
    a_file = tmp_path / "photo.jpg"
    a_file.write_bytes(b"not a folder")
    assert_one_line_error(run_cli("data", "--data-dir", str(a_file)), "a file, expected a folder")


def test_data_dir_with_a_corrupted_file(tmp_path):
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (tmp_path / stem).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"junk")
    assert_one_line_error(run_cli("data", "--data-dir", str(tmp_path)), "truncated")


def test_csv_with_a_bad_line(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("1," + ",".join(["0"] * 784) + "\n" + "2," + ",".join(["0"] * 783) + "\n")
    assert_one_line_error(run_cli("data", "--train-csv", str(path)), "line 2")


def test_contradictory_options(tmp_path):
    result = run_cli("data", "--data-dir", str(tmp_path), "--train-csv", "x.csv")
    assert_one_line_error(result, "not both")


def test_unknown_option_is_a_usage_error():
    result = run_cli("data", "--frobnicate")
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_to_a_full_disk_is_one_line_not_a_traceback():
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "digitnet", "data", "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=REPO,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["digitnet: error: No space left on device"]
