"""DigitnetClassifier: scikit-learn's own estimator checks, pipelines and grid search on real
data (MNIST, wine), labels of any kind, partial_fit, and saving as a model file or a pickle."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")  # the dev extra installs it; CI always runs these

from sklearn.datasets import load_wine  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from digitnet.errors import ModelFileError  # noqa: E402
from digitnet.sklearn import EXPECTED_FAILED_CHECKS, DigitnetClassifier  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@parametrize_with_checks(
    [DigitnetClassifier(), DigitnetClassifier(early_stopping=True, n_iter_no_change=3)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def wine():
    return load_wine(return_X_y=True)


def test_pipeline_grid_search_and_cross_validation_on_wine(wine):
    X, y = wine
    pipeline = make_pipeline(StandardScaler(), DigitnetClassifier(epochs=60, random_state=0))
    search = GridSearchCV(
        pipeline,
        {
            "digitnetclassifier__hidden_sizes": [(16,), (32,)],
            "digitnetclassifier__learning_rate": [1e-3, 1e-2],
        },
        cv=3,
    )
    search.fit(X, y)
    assert search.best_params_["digitnetclassifier__learning_rate"] == 1e-2
    assert search.best_score_ > 0.93
    scores = cross_val_score(search.best_estimator_, X, y, cv=3)
    assert scores.mean() > 0.93


def test_pipeline_on_an_mnist_slice(small_mnist):
    x = small_mnist.train_images[:2000].reshape(2000, -1)
    labels = small_mnist.train_labels[:2000]
    pipeline = make_pipeline(
        StandardScaler(), DigitnetClassifier(hidden_sizes=(64,), epochs=8, random_state=0)
    )
    search = GridSearchCV(pipeline, {"digitnetclassifier__batch_size": [32, 128]}, cv=2)
    search.fit(x, labels)
    assert search.best_score_ > 0.8
    assert cross_val_score(search.best_estimator_, x, labels, cv=2).mean() > 0.8
    test_x = small_mnist.test_images.reshape(1000, -1)
    assert search.score(test_x, small_mnist.test_labels) > 0.85


@pytest.mark.parametrize("n_classes", [2, 50])
def test_string_labels_and_many_classes(n_classes):
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4, size=(n_classes, 7))
    index = np.repeat(np.arange(n_classes), 20)
    X = centres[index] + rng.normal(size=(len(index), 7))
    y = np.array([f"class-{i}" for i in index])
    clf = DigitnetClassifier(hidden_sizes=(32,), epochs=80, learning_rate=1e-2, random_state=0)
    clf.fit(X, y)
    assert clf.classes_.tolist() == sorted(set(y))
    assert clf.predict_proba(X).shape == (len(y), n_classes)
    assert clf.score(X, y) > 0.95
    assert clf.n_features_in_ == 7 and clf.n_iter_ == 80 == len(clf.loss_curve_)
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]


def test_partial_fit_learns_epoch_by_epoch(wine):
    X, y = wine
    X = StandardScaler().fit_transform(X)
    clf = DigitnetClassifier(hidden_sizes=(16,), learning_rate=1e-2, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 31 and clf.score(X, y) > 0.95
    with pytest.raises(ValueError, match="not in classes"):
        clf.partial_fit(X[:5], np.full(5, 7))


def test_early_stopping_records_validation_scores(wine):
    X, y = wine
    X = StandardScaler().fit_transform(X)
    clf = DigitnetClassifier(
        hidden_sizes=(64,),
        batch_size=8,
        epochs=300,
        learning_rate=1e-2,
        early_stopping=True,
        n_iter_no_change=5,
        random_state=0,
    ).fit(X, y)
    assert 5 < clf.n_iter_ < 300
    assert len(clf.validation_scores_) == clf.n_iter_ and max(clf.validation_scores_) > 0.9


def test_cnn_preset_takes_images(small_mnist):
    images = small_mnist.train_images[:300] / 255.0
    clf = DigitnetClassifier(preset="cnn", epochs=1, batch_size=64, random_state=0)
    clf.fit(images, small_mnist.train_labels[:300])
    assert clf.n_features_in_ == 784
    proba = clf.predict_proba(images[:20])
    assert proba.shape == (20, 10) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(clf.predict(images[:20].reshape(20, -1)), proba.argmax(axis=1))
    with pytest.raises(ValueError, match="28x28 images"):
        DigitnetClassifier(preset="cnn").fit(np.zeros((4, 5)), [0, 1, 0, 1])


def test_saved_file_and_pickle_give_the_same_labels_and_probabilities(wine, tmp_path):
    X, y = wine
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    clf = make_pipeline(StandardScaler(), DigitnetClassifier(epochs=20, random_state=0))
    clf.fit(X, labels)
    digitnet_clf = clf[-1]
    Xs = clf[0].transform(X)
    path = digitnet_clf.save(tmp_path / "wine.npz")
    with np.load(path, allow_pickle=False) as arrays:  # a plain model file: no pickle inside
        assert "meta" in arrays
    reloaded = DigitnetClassifier.load(path)
    assert reloaded.get_params() == {**digitnet_clf.get_params(), "random_state": None}
    assert np.array_equal(reloaded.predict(Xs), digitnet_clf.predict(Xs))
    assert reloaded.predict(Xs[:3]).dtype == labels.dtype
    np.testing.assert_array_equal(reloaded.predict_proba(Xs), digitnet_clf.predict_proba(Xs))
    unpickled = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(unpickled.predict_proba(X), clf.predict_proba(X))


def test_loading_the_bundled_kind_of_model_file(tmp_path, small_mnist):
    import digitnet

    network = digitnet.train("mlp", dataset=small_mnist, epochs=1, hidden=(16,), validation=0)
    clf = DigitnetClassifier.load(network.save(tmp_path / "digits.npz"))
    x = small_mnist.test_images[:200].reshape(200, -1) / 255.0
    assert clf.classes_.tolist() == list(range(10))
    assert np.array_equal(clf.predict(x), network.predict(x))
    (tmp_path / "not-a-model.npz").write_text("hello")
    with pytest.raises(ModelFileError):
        DigitnetClassifier.load(tmp_path / "not-a-model.npz")


def test_without_scikit_learn_one_line_says_what_to_install():
    code = "import sys; sys.modules['sklearn'] = None; import digitnet.sklearn"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith("pip install digitnet[sklearn]")


def test_guide_examples_run_and_the_declared_exceptions_are_documented(tmp_path, monkeypatch):
    guide = (REPO / "docs" / "guide" / "sklearn.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- python: runs as a test -->\n```python\n(.*?)```", guide, re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile("\n".join(blocks), "docs/guide/sklearn.md", "exec"), namespace)
    assert namespace["search"].score(namespace["X_test"], namespace["y_test"]) >= 0.9
    assert isinstance(namespace["classifier"], DigitnetClassifier)
    assert (tmp_path / "wine.npz").is_file()
    for check in EXPECTED_FAILED_CHECKS:
        assert f"`{check}`" in guide
