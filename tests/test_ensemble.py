"""Ensembles: the Ensemble layer, its model file, `digitnet.ensemble` and `digitnet ensemble`."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

import digitnet
from digitnet.artifacts.model_file import load_model
from digitnet.errors import ConfigError
from digitnet.nn.ensemble import Ensemble
from tests.conftest import assert_one_line_error, run_cli, write_kaggle_csv


@pytest.fixture(scope="module")
def members():
    """Three small MLPs differing by seed and width, and one small CNN, all trained briefly on
    the same 3,000 MNIST images."""
    settings = [
        ("mlp", {"hidden": (48,), "seed": 1}),
        ("mlp", {"hidden": (64,), "seed": 2}),
        ("mlp", {"hidden": (32, 32), "seed": 3}),
        ("cnn", {"conv_channels": (4, 8), "hidden": (16,), "seed": 4}),
    ]
    return [
        digitnet.train(preset, epochs=1, train_limit=3000, validation=0, augment="none", **kw)
        for preset, kw in settings
    ]


@pytest.fixture(scope="module")
def test_images(mnist):
    images, labels = mnist.split("test")
    return images[:2000], labels[:2000]


def test_the_ensemble_gives_the_weighted_mean_of_its_members_probabilities(members, test_images):
    images, _ = test_images
    members[0].model.temperature = 1.7  # each member's own calibration counts
    try:
        committee = digitnet.ensemble(members, weights=[1, 2, 1, 4])
        mean = sum(w * m.predict_proba(images) for w, m in zip([1, 2, 1, 4], members)) / 8
        np.testing.assert_allclose(committee.predict_proba(images), mean, atol=2e-6)
    finally:
        members[0].model.temperature = 1.0


def test_an_ensemble_is_more_accurate_than_its_average_member(members, test_images):
    committee = digitnet.ensemble(members)
    accuracies = [m.evaluate(test_images)["accuracy"] for m in members]
    assert committee.evaluate(test_images)["accuracy"] > np.mean(accuracies) + 0.005


def test_the_ensemble_model_file_loads_back_to_the_same_probabilities(
    members, test_images, tmp_path
):
    images, _ = test_images
    committee = digitnet.ensemble(members[:2] + members[3:])
    path = committee.save(tmp_path / "committee.npz")
    loaded = digitnet.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(images), committee.predict_proba(images))
    assert loaded.meta["preset"] == "ensemble"
    assert len(loaded.meta["ensemble"]["members"]) == 3
    names = zipfile.ZipFile(path).namelist()
    assert "param/0.m2.0.W.npy" in names  # the CNN member's first kernel
    assert load_model(path).model.layers[0].spec()["members"][0]["temperature"] == 1.0


def test_an_ensemble_is_not_trained_as_a_whole(members, test_images):
    layer = digitnet.ensemble(members[:2]).model.layers[0]
    x = test_images[0][:4].reshape(4, -1).astype(np.float32) / 255
    with pytest.raises(ConfigError, match="train its members"):
        layer.forward(x, training=True)
    with pytest.raises(ConfigError, match="train its members"):
        layer.backward(np.zeros((4, 10), np.float32))


def test_an_ensemble_needs_two_members_and_one_positive_weight_each(members):
    with pytest.raises(ConfigError, match="at least two"):
        digitnet.ensemble(members[:1])
    with pytest.raises(ConfigError, match="one positive weight per member"):
        Ensemble([m.model for m in members[:2]], weights=[1, 0])


@pytest.fixture(scope="module")
def member_files(members, tmp_path_factory):
    folder = tmp_path_factory.mktemp("members")
    return [str(m.save(folder / f"m{i}.npz")) for i, m in enumerate(members)]


def test_cli_ensemble_reports_members_and_ensemble_and_evaluate_agrees(member_files, tmp_path):
    out = tmp_path / "committee.npz"
    result = run_cli("ensemble", *member_files, "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [m["file"] for m in report["members"]] == [f"m{i}.npz" for i in range(4)]
    evaluated = run_cli("evaluate", str(out), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(report["test_accuracy"])
    best_member = max(m["test_accuracy"] for m in report["members"])
    assert report["test_accuracy"] > best_member - 0.01


def test_the_ensemble_file_predicts_and_shows_like_any_model(member_files, test_images, tmp_path):
    out = tmp_path / "committee.npz"
    assert run_cli("ensemble", *member_files[:2], "--out", str(out)).returncode == 0
    show = run_cli("show", str(out), "--index", "0", "--json")
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["digit"] == 7  # the first MNIST test digit is a 7
    paper = np.pad(255 - test_images[0][0], 20, constant_values=255)  # dark ink on white
    Image.fromarray(paper).resize((240, 240)).save(tmp_path / "seven.png")
    photo = run_cli("predict", str(out), str(tmp_path / "seven.png"), "--json")
    assert photo.returncode == 0, photo.stderr
    assert json.loads(photo.stdout)["digit"] == 7


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("one model", "at least two"),
        ("not a model", "bad.npz"),
        ("bad weights", "expected 2 positive numbers"),
        ("not npz", "ends in .npz"),
        ("over a member", "--out"),
    ],
)
def test_cli_ensemble_refuses_bad_input_in_one_line(member_files, tmp_path, case, fragment):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a model")
    out = str(tmp_path / "committee.npz")
    args = {
        "one model": [member_files[0], "--out", out],
        "not a model": [member_files[0], str(bad), "--out", out],
        "bad weights": [*member_files[:2], "--weights", "1,-1", "--out", out],
        "not npz": [*member_files[:2], "--out", str(tmp_path / "committee.txt")],
        "over a member": [*member_files[:2], "--out", member_files[0]],
    }[case]
    result = run_cli("ensemble", *args)
    assert result.returncode == 1
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "committee.npz").exists()


def test_members_trained_on_other_data_are_refused(members, mnist, tmp_path):
    images, labels = mnist.split("train")
    write_kaggle_csv(tmp_path / "train.csv", labels[:600], images[:600])
    other = tmp_path / "other.npz"
    trained = run_cli("train", "--hidden", "16", "--epochs", "1", "--no-plot", "--quiet",
                      "--train-csv", str(tmp_path / "train.csv"), "--out", str(other))  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    mine = members[0].save(tmp_path / "mine.npz")
    result = run_cli("ensemble", str(mine), str(other), "--out", str(tmp_path / "e.npz"))
    assert_one_line_error(result, "share their data")


def test_the_web_app_serves_an_ensemble(members, test_images):
    from fastapi.testclient import TestClient

    from digitnet.web.app import create_app

    committee = digitnet.ensemble(members)
    image, label = test_images[0][0], int(test_images[1][0])
    with TestClient(create_app(committee.model, committee.meta)) as client:
        body = {"pixels": (image / 255).tolist(), "preprocess": False}
        response = client.post("/api/predict", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["digit"] == label and answer["hidden"] is None
    expected = committee.predict_proba(image[None])[0]
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5)
