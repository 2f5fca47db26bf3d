"""`digitnet calibrate` and predict's unsure marking, in subprocesses on real MNIST digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from digitnet.artifacts.model_file import load_model
from digitnet.predict import default_model_path, load_default_model, probabilities_for
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def doubtful_and_clear(mnist, tmp_path_factory):
    """PNGs of the bundled model's least and most confident of 2000 MNIST test digits."""
    images = mnist.test_images[:2000]
    top = probabilities_for(load_default_model().model, images / 255.0).max(axis=1)
    folder = tmp_path_factory.mktemp("digits")
    paths = []
    for name, index in (("doubtful", int(top.argmin())), ("clear", int(top.argmax()))):
        Image.fromarray(images[index]).save(folder / f"{name}.png")
        paths.append(str(folder / f"{name}.png"))
    return paths


@pytest.mark.slow
def test_predict_marks_the_doubtful_digit_unsure(doubtful_and_clear):
    doubtful, clear = doubtful_and_clear
    text = run_cli("predict", doubtful, clear)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].endswith(", unsure)") and not lines[1].endswith("unsure)")
    records = [
        json.loads(x) for x in run_cli("predict", "--json", doubtful, clear).stdout.split("\n") if x
    ]
    assert [r["unsure"] for r in records] == [True, False]
    disabled = run_cli("predict", "--min-confidence", "0", doubtful)
    assert disabled.returncode == 0 and "unsure" not in disabled.stdout


def test_predict_refuses_a_min_confidence_outside_0_1(doubtful_and_clear):
    result = run_cli("predict", "--min-confidence", "2", doubtful_and_clear[0])
    assert result.returncode == 1 and result.stderr.startswith("digitnet: error: --min-confidence")


def test_bundled_model_is_calibrated():
    model = load_model(default_model_path()).model
    assert model.temperature != 1.0 and 0.5 < model.min_confidence < 1.0


@pytest.mark.slow
def test_calibrate_writes_a_calibrated_copy(tmp_path):
    out = tmp_path / "calibrated.npz"
    result = run_cli("calibrate", str(default_model_path()), "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    again = load_model(out).model
    assert again.temperature == pytest.approx(report["temperature"])
    assert report["val_ece_after"] <= report["val_ece_before"]


def test_calibrate_needs_out_or_in_place():
    result = run_cli("calibrate", str(default_model_path()))
    assert result.returncode == 1
    assert result.stderr.strip() == "digitnet: error: give exactly one of --out FILE or --in-place"


def test_calibrate_refuses_a_model_without_holdout(tmp_path):
    with np.load(default_model_path(), allow_pickle=False) as arrays:
        data = {k: arrays[k] for k in arrays.files}
    meta = json.loads(str(data["meta"]))
    meta["train_config"]["validation"] = 0
    data["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "no-holdout.npz", **data)
    result = run_cli(
        "calibrate", str(tmp_path / "no-holdout.npz"), "--out", str(tmp_path / "x.npz")
    )
    assert result.returncode == 1 and "validation hold-out" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.npz").exists()


def test_evaluate_reports_calibration_and_the_unsure_split():
    result = run_cli("evaluate", "--limit", "2000", "--json")
    assert result.returncode == 0, result.stderr
    c = json.loads(result.stdout)["calibration"]
    assert c["ece_after"] <= 0.01 and c["ece_before"] > 0
    assert 0 < c["unsure_fraction"] < 0.1
    assert c["unsure_error_rate"] >= 10 * c["rest_error_rate"]
    text = run_cli("evaluate", "--limit", "2000").stdout
    assert "calibration error (ECE)" in text and "unsure below 96.50%" in text


def test_training_calibrates_on_its_validation_hold_out(tmp_path):
    out = tmp_path / "m.npz"
    text = run_cli(
        "train", "--preset", "mlp", "--epochs", "1", "--train-limit", "8000", "--out", str(out)
    )
    assert text.returncode == 0, text.stderr
    assert "calibrated on the validation images: temperature" in text.stdout
    trained = load_model(out)
    calibration = trained.meta["results"]["calibration"]
    assert trained.model.temperature == pytest.approx(calibration["temperature"], rel=1e-5)
    assert trained.model.temperature != 1.0
    assert trained.model.min_confidence == pytest.approx(calibration["min_confidence"], abs=1e-6)
    uncalibrated = tmp_path / "raw.npz"
    args = ["train", "--preset", "mlp", "--epochs", "1", "--train-limit", "3000"]
    assert run_cli(*args, "--validation", "0", "--out", str(uncalibrated)).returncode == 0
    assert load_model(uncalibrated).model.temperature == 1.0
