"""`digitnet train` end to end in subprocesses: files written, Ctrl-C and --resume, divergence,
and bad options."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, assert_one_line_error, run_cli, write_kaggle_csv

from digitnet.artifacts.model_file import load_model
from digitnet.training.checkpoint import checkpoint_path_for, model_path_of

SMALL = [
    "--train-limit",
    "2000",
    "--test-limit",
    "500",
    "--validation",
    "200",
    "--hidden",
    "32",
    "--batch-size",
    "32",
]


def test_train_writes_model_history_and_prints_accuracy(tmp_path):
    out = tmp_path / "small.npz"
    result = run_cli("train", *SMALL, "--epochs", "2", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["test_accuracy"] > 0.8 and summary["n_test"] == 500
    assert out.exists()
    history = json.loads((tmp_path / "small.history.json").read_text())
    assert len(history["epochs"]) == 2 and len(history["step_losses"]) == 2 * 57
    csv_lines = (tmp_path / "small.history.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,step,train_loss") and len(csv_lines) == 3
    assert (tmp_path / "small.cost.png").stat().st_size > 1000
    assert "epoch 2" in result.stderr  # progress goes to stderr, data to stdout


def test_cost_is_printed_every_log_every_steps(tmp_path):
    result = run_cli(
        "train",
        "--preset",
        "seed000",
        "--iterations",
        "3000",
        "--train-limit",
        "3000",
        "--test-limit",
        "100",
        "--out",
        str(tmp_path / "s0.npz"),
        "--no-plot",
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["1000/3000", "2000/3000", "3000/3000"]
    assert "test accuracy" in result.stdout


# a run long enough to interrupt: Ctrl-C test and its uninterrupted reference use the same
RESUMABLE = [
    *SMALL,
    "--hidden",
    "128",
    "--epochs",
    "6",
    "--batch-size",
    "16",
    "--dropout",
    "0.1",
    "--no-plot",
]


def _train_process(tmp_path, *extra):
    return _digitnet_process(tmp_path, "train", *RESUMABLE, "--log-every", "20", *extra)


def _digitnet_process(tmp_path, *args):
    """`digitnet ARGS` started in tmp_path, its stderr readable line by line as it runs."""
    return subprocess.Popen(
        [sys.executable, "-m", "digitnet", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_saves_a_checkpoint_and_resume_finishes_bit_for_bit(tmp_path, stop_signal):
    reference = run_cli(
        "train",
        *RESUMABLE,
        "--out",
        str(tmp_path / "ref.npz"),
    )
    assert reference.returncode == 0, reference.stderr

    process = _train_process(tmp_path, "--out", "run.npz")
    for line in process.stderr:  # wait until training is under way
        if line.startswith("step 40/"):
            break
    process.send_signal(stop_signal)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + stop_signal, stderr  # 130 for Ctrl-C, 143 for SIGTERM
    checkpoint = tmp_path / "run.ckpt.npz"
    assert checkpoint.exists()
    assert "continue with: digitnet train --resume run.ckpt.npz\n" in stderr
    assert not (tmp_path / "run.npz").exists()

    changed = run_cli(
        "train", "--resume", "run.ckpt.npz", "--epochs", "5", "--lr", "0.1", cwd=tmp_path
    )
    assert_one_line_error(changed, "drop --lr, --epochs")  # the flags as the user types them
    other_data = tmp_path / "other.csv"  # the same format, other images: not a moved copy
    write_kaggle_csv(other_data, np.arange(10) % 10, np.full((10, 784), 7))
    swapped = run_cli("train", "--resume", "run.ckpt.npz", "--train-csv", str(other_data),
                      cwd=tmp_path)  # fmt: skip
    assert_one_line_error(swapped, "differs from what the interrupted run trained on (the bundled")

    # from another folder: the model is written beside the checkpoint, under the run's name,
    # with the interrupted run's --no-plot remembered
    resumed = run_cli("train", "--resume", f"{tmp_path.name}/run.ckpt.npz", cwd=tmp_path.parent)
    assert resumed.returncode == 0, resumed.stderr
    assert not (tmp_path / "run.cost.png").exists()
    with np.load(tmp_path / "ref.npz") as ref, np.load(tmp_path / "run.npz") as run:
        params = [k for k in ref.files if k.startswith("param/")]
        for key in params:
            np.testing.assert_array_equal(ref[key], run[key])


def test_diverging_training_stops_with_one_line_and_keeps_good_weights(tmp_path):
    out = tmp_path / "div.npz"
    result = run_cli(
        "train",
        *SMALL,
        "--activation",
        "leaky_relu",
        "--optimizer",
        "sgd",
        "--lr",
        "100",
        "--epochs",
        "2",
        "--out",
        str(out),
        "--no-plot",
    )
    assert_one_line_error(result, "diverged", "lower learning rate")
    with np.load(out) as model:
        assert all(np.isfinite(model[k]).all() for k in model.files if k.startswith("param/"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "-1"], "learning rate must be > 0"),
        (["--dropout", "1.5"], "dropout must be in [0, 1)"),
        (["--validation", "5000", "--train-limit", "100"], "leaves nothing to train on"),
        (["--out", "/nonexistent/dir/m.npz"], "does not exist"),
        (["--loss", "mse", "--output", "softmax"], "--loss mse needs --output sigmoid"),
        (["--data-dir", "/nonexistent"], "no such folder"),
        (["--seed", "-1"], "seed must be >= 0"),
        (["--lr", "inf"], "learning_rate must be a finite number"),
        (["--patience", "2", "--validation", "0"], "needs a validation set"),
        (["--out", "."], "is a folder; give a file name"),
        (["--optimizer", "sgd", "--momentum", "0.9"], "--momentum needs --optimizer momentum"),
        (["--kernel-size", "0"], "--kernel-size need a CNN preset"),
    ],
)
def test_bad_settings_give_one_line(args, message):
    assert_one_line_error(run_cli("train", *args), message)


def test_an_unwritable_out_folder_is_refused_before_training(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root writes anywhere but in /proc
        locked = Path("/proc")
    result = run_cli("train", "--out", str(locked / "m.npz"))
    assert_one_line_error(result, f"--out {locked / 'm.npz'}: cannot write in {locked}")
    assert "training" not in result.stderr


def test_a_finite_blow_up_finishes_with_a_warning_about_the_learning_rate(tmp_path):
    """Adam at lr 1e6 keeps the cost finite (no divergence stop) but far above the start."""
    args = ["--train-limit", "2000", "--test-limit", "200", "--validation", "0", "--epochs", "1"]
    high = run_cli("train", *args, "--lr", "1e6", "--out", str(tmp_path / "hi.npz"), "--no-plot")
    assert high.returncode == 0, high.stderr
    assert "warning: training raised the cost" in high.stderr and "(--lr)" in high.stderr
    fine = run_cli("train", *args, "--out", str(tmp_path / "ok.npz"), "--no-plot")
    assert fine.returncode == 0 and "warning" not in fine.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_out_refuses_a_pipe_and_the_training_data_before_training(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run_cli("train", "--out", str(fifo))
    assert_one_line_error(result, f"--out {fifo}: exists and is not a regular file")
    assert fifo.is_fifo() and "training" not in result.stderr
    data = tmp_path / "train.csv"
    write_kaggle_csv(data, np.arange(20) % 10, np.zeros((20, 784), int))
    before = data.read_bytes()
    same = run_cli("train", "--train-csv", "train.csv", "--out", f"../{tmp_path.name}/train.csv",
                   cwd=tmp_path)  # fmt: skip
    assert_one_line_error(same, "is the --train-csv file; give another file name")
    assert data.read_bytes() == before
    (tmp_path / "dangling.npz").symlink_to("missing/m.npz")  # the link's folder is checked
    result = run_cli("train", "--out", str(tmp_path / "dangling.npz"))
    assert_one_line_error(result, f"the folder {tmp_path / 'missing'} does not exist")
    assert "training" not in result.stderr


def test_resume_from_a_finished_model_is_refused(tmp_path):
    out = tmp_path / "m.npz"
    assert run_cli("train", *SMALL, "--epochs", "1", "--out", str(out), "--no-plot").returncode == 0
    assert_one_line_error(run_cli("train", "--resume", str(out)), "not a checkpoint")


@pytest.mark.parametrize(
    "args",
    [["--preset", "nope"], ["--hidden", "12,x"], ["--hidden", ""], ["--hidden", "10,,10"],
     ["--epochs", "0"]],
)  # fmt: skip
def test_usage_errors_exit_2(args):
    result = run_cli("train", *args)
    assert result.returncode == 2 and "usage:" in result.stderr


@pytest.mark.parametrize(
    ("flag", "first_layer"), [("--deskew", "Deskew"), ("--no-deskew", "Dense")]
)
def test_deskew_flag_decides_the_first_layer(tmp_path, flag, first_layer):
    out = tmp_path / "m.npz"
    args = [*SMALL, "--epochs", "2", "--out", str(out), "--no-plot", "--json", flag]
    result = run_cli("train", *args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["test_accuracy"] > 0.8
    loaded = load_model(out)
    assert loaded.model.spec()["layers"][0]["type"] == first_layer
    assert loaded.meta["model_config"]["deskew"] is (flag == "--deskew")


def test_a_resumed_run_writes_beside_its_checkpoint_under_the_runs_name():
    assert model_path_of(Path("runs/a.ckpt.npz")) == Path("runs/a.npz")
    assert model_path_of(Path("runs/renamed.npz")) == Path("runs/model.npz")
    assert checkpoint_path_for(Path("runs/a.npz")) == Path("runs/a.ckpt.npz")


def test_a_run_that_ends_before_its_first_epoch_writes_a_csv_header(tmp_path):
    out = tmp_path / "short.npz"
    result = run_cli("train", *SMALL, "--iterations", "5", "--no-plot", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "short.history.csv").read_text().splitlines()
    from digitnet.training.trainer import EPOCH_COLUMNS

    assert lines == [",".join(EPOCH_COLUMNS)] and EPOCH_COLUMNS[:3] == (
        "epoch",
        "step",
        "train_loss",
    )


def test_validation_holds_out_a_fraction_by_default_or_the_number_given(tmp_path):
    out = str(tmp_path / "m.npz")
    small = ("train", "--epochs", "1", "--hidden", "32", "--test-limit", "500", "--out", out)
    fraction = run_cli(*small, "--train-limit", "5000")  # (refused: 5000 of 5000 held out)
    assert fraction.returncode == 0, fraction.stderr
    assert "4583 images (417 held out for validation, 8.3% of them)" in fraction.stderr
    assert load_model(out).meta["train_config"]["validation"] == pytest.approx(1 / 12)
    count = run_cli(*small, "--train-limit", "2000", "--validation", "300")
    assert count.returncode == 0, count.stderr
    assert "1700 images (300 held out for validation)" in count.stderr
    share = run_cli(*small, "--train-limit", "2000", "--validation", "0.25")
    assert "1500 images (500 held out for validation, 25.0% of them)" in share.stderr


@pytest.mark.parametrize("amount", ["1.5", "-0.1", "half"])
def test_a_validation_that_is_neither_fraction_nor_count_is_a_usage_error(amount):
    result = run_cli("train", "--validation", amount)
    assert result.returncode == 2
    assert "a fraction in [0, 1) or a whole number of images" in result.stderr.splitlines()[-1]


def test_a_resumed_run_removes_its_checkpoint_once_the_model_is_written(tmp_path):
    tiny = ["--train-limit", "300", "--test-limit", "50", "--validation", "0", "--hidden", "16",
            "--batch-size", "10", "--epochs", "100", "--log-every", "5", "--no-plot"]  # fmt: skip
    process = _digitnet_process(tmp_path, "train", *tiny, "--out", "run.npz")
    for line in process.stderr:  # wait until training is under way
        if line.startswith("step 10/"):
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    checkpoint = tmp_path / "run.ckpt.npz"
    assert process.returncode == 130 and checkpoint.exists(), stderr
    resumed = run_cli("train", "--resume", "run.ckpt.npz", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert load_model(tmp_path / "run.npz").meta["results"]["stop_reason"] == "completed"
    assert not checkpoint.exists()
    assert "removed the checkpoint run.ckpt.npz: the run has finished" in resumed.stderr
