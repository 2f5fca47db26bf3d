"""`evaluate`, `show` and `plot` measure a model on the data it was trained on, as its file
records, unless the data flags say otherwise; end to end in subprocesses."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import assert_one_line_error, run_cli

from digitnet.data.idx import write_idx


def _write_idx_dir(folder, mnist, shift: int):
    """1000 training and 200 test digits of MNIST with every label moved up by `shift`."""
    folder.mkdir()
    for stem, images, labels in [
        ("train", mnist.train_images[:1000], mnist.train_labels[:1000]),
        ("t10k", mnist.test_images[:200], mnist.test_labels[:200]),
    ]:
        write_idx(folder / f"{stem}-images-idx3-ubyte", images)
        write_idx(folder / f"{stem}-labels-idx1-ubyte", (labels + shift) % 10)
    return folder


@pytest.fixture(scope="module")
def shifted(tmp_path_factory, mnist):
    """A model trained (from its own folder, on a relative --data-dir) on MNIST whose labels
    are all one higher: right on that data, wrong on nearly every bundled MNIST digit."""
    folder = tmp_path_factory.mktemp("shifted")
    _write_idx_dir(folder / "mydata", mnist, shift=1)
    result = run_cli(
        "train", "--data-dir", "mydata", "--validation", "0", "--hidden", "32",
        "--batch-size", "20", "--epochs", "2", "--out", "m.npz", "--no-plot", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder


def _evaluate(*args: str) -> dict:
    result = run_cli("evaluate", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_evaluate_measures_a_model_on_the_data_it_was_trained_on(shifted):
    report = _evaluate(str(shifted / "m.npz"))  # from another folder than training ran in
    assert report["n"] == 200 and report["accuracy"] > 0.6
    assert report["data"] == str(shifted / "mydata")
    text = run_cli("evaluate", str(shifted / "m.npz")).stdout
    assert f"on 200 test images of {shifted / 'mydata'} (the data" in text.splitlines()[0]


def test_the_data_flags_and_mnist_override_what_the_model_records(shifted, mnist, tmp_path):
    plain = _write_idx_dir(tmp_path / "plain", mnist, shift=0)
    other = _evaluate(str(shifted / "m.npz"), "--data-dir", str(plain))
    assert other["n"] == 200 and other["accuracy"] < 0.3 and other["data"] == str(plain)
    bundled = _evaluate(str(shifted / "m.npz"), "--mnist", "--limit", "300")
    assert bundled["n"] == 300 and bundled["accuracy"] < 0.3
    assert bundled["data"] == "bundled MNIST"
    both = run_cli("evaluate", str(shifted / "m.npz"), "--mnist", "--data-dir", str(plain))
    assert_one_line_error(both, "either --mnist or")


def test_show_and_plot_use_the_recorded_data_too(shifted, mnist, tmp_path):
    result = run_cli("show", str(shifted / "m.npz"), "--index", "0", "--json", "--no-plot")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["label"] == (int(mnist.test_labels[0]) + 1) % 10
    assert record["data"] == str(shifted / "mydata")
    plot = run_cli("plot", str(shifted / "m.npz"), "--kind", "confusion", "--out-dir",
                   str(tmp_path))  # fmt: skip
    assert plot.returncode == 0, plot.stderr
    assert f"test images of {shifted / 'mydata'}" in plot.stdout


def test_recorded_data_that_is_gone_is_one_line_naming_it(shifted, tmp_path):
    model = shutil.copy(shifted / "m.npz", tmp_path / "m.npz")
    moved = tmp_path / "moved"
    shutil.move(shifted / "mydata", moved)
    try:
        for command in (
            ["evaluate", model],
            ["show", model, "--index", "0", "--no-plot"],
            ["plot", model, "--kind", "confusion", "--out-dir", tmp_path],
        ):
            assert_one_line_error(
                run_cli(*map(str, command)),
                f"was trained on --data-dir {shifted / 'mydata'}, which cannot be loaded",
                "--mnist",
            )
        assert _evaluate(str(model), "--data-dir", str(moved))["accuracy"] > 0.6
    finally:
        shutil.move(moved, shifted / "mydata")
