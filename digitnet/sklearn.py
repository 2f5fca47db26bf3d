"""DigitnetClassifier: digitnet's engine behind scikit-learn's estimator interface.

from digitnet.sklearn import DigitnetClassifier
clf = DigitnetClassifier(hidden_sizes=(64,), epochs=50, random_state=0).fit(X, y)
clf.predict(X); clf.predict_proba(X); clf.score(X, y)
clf.save("model.npz"); DigitnetClassifier.load("model.npz")

Any number of features and any labels; images (n, 28, 28) for the CNN presets. Settings
left at None come from `preset` (or, without one, a small MLP: one hidden layer of 100 ReLU
units, Adam at 1e-3, batches of 200, 100 epochs). Features are used as given: scale them.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ModuleNotFoundError:
    raise ModuleNotFoundError(
        "digitnet.sklearn needs scikit-learn: pip install digitnet[sklearn]"
    ) from None

from digitnet.artifacts.model_file import load_model, save_model
from digitnet.data.preprocess import split_validation
from digitnet.errors import ModelFileError, TrainingDiverged
from digitnet.nn.model import Sequential
from digitnet.training.build import build_model, layout_of
from digitnet.training.config import ModelConfig, TrainConfig, to_dict
from digitnet.training.pipeline import random_streams
from digitnet.training.presets import get_preset
from digitnet.training.trainer import Trainer

DEFAULT_MODEL = ModelConfig(hidden=(100,), activation="relu", init="he_normal")
DEFAULT_TRAIN = TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=200, epochs=100)
IMAGE_SHAPES = ((28, 28), (1, 28, 28))
NO_Y = "no_validation"  # validate_data's marker for "X only"; y=None must be refused
LABEL_DTYPES = "biufU"  # labels a model file's JSON header can hold and give back exactly


# scikit-learn checks that do not apply, with the reason (tests/test_sklearn.py declares them)
EXPECTED_FAILED_CHECKS = {
    "check_methods_subset_invariance": (
        "the network computes in float32: BLAS sums rows in a different order for a batch "
        "than for a subset, so probabilities differ in the last bits (about 2e-7), over the "
        "check's 1e-7 tolerance; the predicted labels agree"
    ),
}


class DigitnetClassifier(ClassifierMixin, BaseEstimator):
    """A digitnet network as a scikit-learn classifier.

    hidden_sizes, activation, optimizer, learning_rate, batch_size, epochs (passes over the
    data; 0 batch_size: the whole set), dropout, weight_decay: digitnet's settings; None takes
    the preset's (or the default MLP's). early_stopping holds out validation_fraction of the
    training data and stops after n_iter_no_change epochs without a lower validation loss,
    keeping the best weights. random_state: an int, a RandomState or None.
    Fitted attributes: classes_, n_features_in_, network_ (a digitnet Sequential),
    loss_curve_ (mean training loss per epoch), n_iter_ (epochs run), and validation_scores_
    (validation accuracy per epoch) with early stopping.
    """

    def __init__(
        self,
        hidden_sizes: tuple[int, ...] | None = None,
        activation: str | None = None,
        optimizer: str | None = None,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        epochs: int | None = None,
        dropout: float | None = None,
        weight_decay: float | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        random_state: int | np.random.RandomState | None = None,
        preset: str | None = None,
    ) -> None:
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.preset = preset

    def settings(self) -> tuple[ModelConfig, TrainConfig]:
        """The ModelConfig and TrainConfig these parameters give; ConfigError if invalid."""
        if self.preset is None:
            model, train = DEFAULT_MODEL, DEFAULT_TRAIN
        else:
            recipe = get_preset(self.preset)
            model, train = recipe.model, recipe.train
        hidden = None if self.hidden_sizes is None else tuple(self.hidden_sizes)
        given = dict(hidden=hidden, activation=self.activation, dropout=self.dropout)
        model = dataclasses.replace(model, **{k: v for k, v in given.items() if v is not None})
        changes = dict(
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            epochs=self.epochs,
            weight_decay=self.weight_decay,
        )
        changes = {k: v for k, v in changes.items() if v is not None}
        patience = self.n_iter_no_change if self.early_stopping else None
        validation = self.validation_fraction if self.early_stopping else 0
        train = dataclasses.replace(
            train, **changes, patience=patience, validation=validation, augment="none"
        )
        return model, train if self.epochs is None else train.with_epochs(self.epochs)

    def fit(self, X: object, y: object) -> DigitnetClassifier:
        """Train a new network on X (n, features) or images (n, 28, 28) and labels y (n,)."""
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        self._start(X)
        self._train(X, labels, self._train_config)
        return self

    def partial_fit(
        self, X: object, y: object, classes: object | None = None
    ) -> DigitnetClassifier:
        """One epoch over (X, y), continuing the network; the first call needs `classes`, every
        label there may be."""
        first = not hasattr(self, "classes_")
        X, y = self._validate(X, y, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(np.asarray(classes))
            self._start(X)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"labels {unknown.tolist()} are not in classes {self.classes_}")
        config = dataclasses.replace(
            self._train_config, epochs=1, iterations=None, patience=None, validation=0
        )
        self._train(X, np.searchsorted(self.classes_, y), config)
        return self

    def predict_proba(self, X: object) -> np.ndarray:
        """(n, n_classes) probabilities, columns in the order of classes_."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        x = _network_inputs(self.network_, X)
        return self.network_.predict_proba(x).astype(np.float64)

    def predict(self, X: object) -> np.ndarray:
        """(n,) predicted labels, taken from classes_."""
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a digitnet model file (no pickle) holding the network and, in its JSON
        header, the labels and settings; ModelFileError when it cannot be written."""
        check_is_fitted(self)
        if self.classes_.dtype.kind not in LABEL_DTYPES:
            raise ModelFileError(
                f"labels of dtype {self.classes_.dtype} cannot be saved in a model file: use "
                "strings or numbers (or pickle the estimator)"
            )
        params = {k: v for k, v in self.get_params().items() if k != "random_state"}
        header = {
            "preset": self.preset,
            "model_config": to_dict(self._model_config),
            "train_config": to_dict(self._train_config),
            "sklearn": {
                "classes": self.classes_.tolist(),
                "classes_dtype": self.classes_.dtype.str,
                "n_features_in": int(self.n_features_in_),
                "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
                "loss_curve": self.loss_curve_,
                "n_iter": self.n_iter_,
            },
        }
        return save_model(path, self.network_, header)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DigitnetClassifier:
        """A fitted estimator from a file of save(), or from any digitnet MNIST model file
        (labels 0-9, 784 features); ModelFileError for a file that is neither."""
        loaded = load_model(path)
        saved = loaded.meta.get("sklearn") or {
            "classes": list(range(10)),
            "classes_dtype": "<i8",
            "n_features_in": 784,
            "params": {"preset": loaded.meta.get("preset")},
        }
        try:
            params = dict(saved["params"])
            if params.get("hidden_sizes") is not None:
                params["hidden_sizes"] = tuple(params["hidden_sizes"])
            clf = cls(**params)
            clf.classes_ = np.asarray(saved["classes"], dtype=np.dtype(saved["classes_dtype"]))
            clf.n_features_in_ = int(saved["n_features_in"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: bad scikit-learn section: {error}") from None
        clf.network_ = loaded.model
        clf.loss_curve_ = list(saved.get("loss_curve", []))
        clf.n_iter_ = int(saved.get("n_iter", 0))
        clf._model_config, clf._train_config = clf.settings()
        clf._streams = random_streams(0)
        clf._optimizer_state = None
        return clf

    def __sklearn_tags__(self):  # noqa: ANN204 (sklearn.utils.Tags, imported lazily)
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags

    def _validate(self, X: object, y: object = NO_Y, *, reset: bool) -> object:
        """scikit-learn's checks (NaN, inf, sparse, shapes, feature count), as float32;
        images (n, 28, 28) or (n, 1, 28, 28) become rows of 784 features first."""
        shape = getattr(X, "shape", ())
        if len(shape) > 2 and tuple(shape[1:]) in IMAGE_SHAPES:
            X = np.reshape(X, (shape[0], -1))
        if isinstance(y, str) and y == NO_Y:
            return validate_data(self, X, reset=reset, dtype=np.float32)
        return validate_data(self, X, y, reset=reset, dtype=np.float32)

    def _start(self, X: np.ndarray) -> None:
        """Build a fresh network for X's features and the classes in classes_."""
        if len(self.classes_) < 2:
            raise ValueError(
                f"a classifier needs at least 2 classes to train, got 1 class: {self.classes_}"
            )
        self._model_config, self._train_config = self.settings()
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._streams = random_streams(int(seed))
        needs_images = self._model_config.kind == "cnn" or self._model_config.deskew
        if needs_images and X.shape[1] != 784:
            raise ValueError(
                f"preset {self.preset!r} takes 28x28 images, (n, 28, 28) or (n, 784), "
                f"got {X.shape[1]} features"
            )
        self.network_ = build_model(
            self._model_config,
            self._streams["init"],
            n_inputs=X.shape[1],
            n_classes=len(self.classes_),
        )
        self.loss_curve_, self.n_iter_ = [], 0
        self._optimizer_state = None
        if self.early_stopping:
            self.validation_scores_ = []

    def _train(self, X: np.ndarray, labels: np.ndarray, config: TrainConfig) -> None:
        """Run digitnet's Trainer, carrying the optimiser state from call to call."""
        x = _network_inputs(self.network_, X)
        val = None
        if config.patience is not None:
            n_val = config.held_out(len(x))
            if not 1 <= n_val < len(x):
                raise ValueError(
                    f"early stopping holds out {n_val} of {len(x)} samples: it needs at least "
                    "1 for validation and 1 to train on"
                )
            (x, labels), val = split_validation(x, labels, n_val, self._streams["split"])
        trainer = Trainer(
            self.network_,
            config,
            x,
            labels,
            self._streams["shuffle"],
            val=val,
            n_classes=len(self.classes_),
        )
        if self._optimizer_state is not None:
            trainer.optimizer.load_state_dict(self._optimizer_state)
        result = trainer.run()
        if result.stop_reason == "diverged":
            raise TrainingDiverged(result.message)
        self._optimizer_state = trainer.optimizer.state_dict()
        self.loss_curve_ += [record["train_loss"] for record in result.history.epochs]
        self.n_iter_ += len(result.history.epochs)
        if val is not None:
            self.validation_scores_ += [r["val_accuracy"] for r in result.history.epochs]


def _network_inputs(network: Sequential, X: np.ndarray) -> np.ndarray:
    """Rows of features as the network takes them: (n, 1, 28, 28) for a CNN."""
    if layout_of(network) == "image":
        if X.shape[1] != 784:
            raise ValueError(f"a CNN takes 28x28 images, got {X.shape[1]} features")
        return X.reshape(len(X), 1, 28, 28)
    return X
