"""`digitnet evaluate` and `digitnet reproduce` end to end in subprocesses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli

from digitnet.data.idx import write_idx


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    out = folder / "m.npz"
    result = run_cli(
        "train",
        "--train-limit",
        "3000",
        "--validation",
        "0",
        "--hidden",
        "64",
        "--batch-size",
        "32",
        "--epochs",
        "3",
        "--out",
        str(out),
        "--no-plot",
    )
    assert result.returncode == 0, result.stderr
    return out


def test_evaluate_json_has_accuracy_loss_n_and_confusion(trained_model):
    result = run_cli("evaluate", str(trained_model), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 10000
    assert 0.85 < report["accuracy"] < 1.0 and 0 < report["loss"] < 1.0
    confusion = np.array(report["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 10000
    assert confusion.sum(axis=1).tolist()[:2] == [980, 1135]  # rows are the true digits
    assert np.trace(confusion) == round(report["accuracy"] * 10000)
    assert len(report["per_class"]) == 10


def test_evaluate_without_a_model_measures_the_bundled_one():
    result = run_cli("evaluate", "--limit", "1000", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == "the bundled model" and report["n"] == 1000
    assert report["accuracy"] > 0.97  # the default model: 98.89% on all 10,000


def test_plots_never_replace_the_model_they_read(trained_model):
    before = trained_model.read_bytes()
    alias = trained_model.with_name("alias.png")  # another name for the model file
    alias.symlink_to(trained_model.name)
    for command in (["evaluate", str(trained_model), "--plot", str(alias)],
                    ["show", str(trained_model), "--index", "0", "--out", str(alias)]):  # fmt: skip
        assert_one_line_error(run_cli(*command), f"{alias} is the model file")
    alias.unlink()
    assert trained_model.read_bytes() == before


def test_evaluate_text_and_heat_map(trained_model, tmp_path):
    png = tmp_path / "confusion.png"
    result = run_cli("evaluate", str(trained_model), "--limit", "500", "--plot", str(png))
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "confusion matrix" in result.stdout
    assert "precision" in result.stdout
    assert png.stat().st_size > 5000


def test_evaluate_on_a_folder_of_idx_files(trained_model, mnist, tmp_path):
    for stem, array in [
        ("train-images-idx3-ubyte", mnist.train_images[:10]),
        ("train-labels-idx1-ubyte", mnist.train_labels[:10]),
        ("t10k-images-idx3-ubyte", mnist.test_images[:200]),
        ("t10k-labels-idx1-ubyte", mnist.test_labels[:200]),
    ]:
        write_idx(tmp_path / stem, array)
    result = run_cli("evaluate", str(trained_model), "--data-dir", str(tmp_path), "--json")
    assert json.loads(result.stdout)["n"] == 200


def test_evaluate_refuses_bad_model_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    assert_one_line_error(run_cli("evaluate", str(junk)), "junk.npz")
    assert_one_line_error(run_cli("evaluate", str(tmp_path / "absent.npz")), "no such model file")


def test_evaluate_refuses_a_model_from_the_future(trained_model, tmp_path):
    with np.load(trained_model) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(arrays["meta"].item())
    meta["format_version"] = 99
    arrays["meta"] = np.array(json.dumps(meta))
    future = tmp_path / "future.npz"
    np.savez(future, **arrays)
    assert_one_line_error(run_cli("evaluate", str(future)), "version 99 is newer", "upgrade")


@pytest.mark.slow
def test_reproduce_quick_prints_a_table_of_every_seed():
    result = run_cli("reproduce", "--quick", timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("| seed | architecture | seed reports")
    assert len(lines) == 2 + 5 + 2  # the table, a blank line, the note
    assert "smoke test" in lines[-1] and "smoke test" in result.stderr
    assert "784-1000-10 tanh, 1000 train / 350 test images" in result.stdout
    assert "95.3% train, 84.57% test" in result.stdout


@pytest.mark.slow
def test_reproduce_quick_best_recipe_learns_as_well_as_the_seeds_setup():
    result = run_cli("reproduce", "--quick", "--only", "seed000", "seed001", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    rows = {row["preset"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert all(row["quick"] for row in rows.values())
    for seed in ("seed000", "seed001"):  # (10.6% and 27.1% with 40 steps and a long warm-up)
        assert rows[f"{seed}+best"]["test_accuracy"] >= 0.7
        assert rows[f"{seed}+best"]["test_accuracy"] >= rows[seed]["test_accuracy"] - 0.02
