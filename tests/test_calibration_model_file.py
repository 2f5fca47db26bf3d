"""Temperature and unsure threshold stored in model files, applied at prediction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from digitnet.artifacts.model_file import load_model, save_model
from digitnet.errors import ModelFileError
from digitnet.predict import default_model_path, predict_image28


def _rewrite_without_calibration(src, dst):
    """A copy of a model file whose header lacks 'calibration', as files written before it."""
    with np.load(src, allow_pickle=False) as arrays:
        data = {k: arrays[k] for k in arrays.files}
    meta = json.loads(str(data["meta"]))
    meta.pop("calibration", None)
    data["meta"] = np.array(json.dumps(meta))
    np.savez(dst, **data)


def test_old_model_files_load_with_temperature_one(tmp_path):
    old = tmp_path / "old.npz"
    _rewrite_without_calibration(default_model_path(), old)
    loaded = load_model(old).model
    assert loaded.temperature == 1.0 and loaded.min_confidence == 0.0


def test_temperature_and_threshold_round_trip_and_change_confidence_only(tmp_path):
    model = load_model(default_model_path()).model
    rng = np.random.default_rng(0)
    images = rng.random((8, 28, 28)).astype(np.float32) * (rng.random((8, 28, 28)) > 0.8)
    x = (
        images.reshape(8, 1, 28, 28)
        if model.layers[0].__class__.__name__ == "Conv2D"
        else images.reshape(8, 784)
    )
    model.temperature, model.min_confidence = 1.0, 0.0
    raw = model.predict_proba(x)
    model.temperature, model.min_confidence = 3.0, 0.99
    save_model(tmp_path / "m.npz", model)
    again = load_model(tmp_path / "m.npz").model
    assert again.temperature == 3.0 and again.min_confidence == 0.99
    soft = again.predict_proba(x)
    assert (soft.argmax(axis=1) == raw.argmax(axis=1)).all()
    assert soft.max(axis=1).mean() < raw.max(axis=1).mean()  # a higher T softens
    prediction = predict_image28(again, images[0])
    np.testing.assert_allclose(prediction.probabilities, soft[0], rtol=1e-5)
    assert prediction.unsure == bool(soft[0].max() < 0.99)


def test_save_refuses_a_non_positive_temperature(tmp_path):
    model = load_model(default_model_path()).model
    model.temperature = 0.0
    with pytest.raises(ModelFileError, match="temperature"):
        save_model(tmp_path / "m.npz", model)
