"""Model files: round trips, atomic saves, and every kind of bad file refused with a clear error."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from digitnet.artifacts.model_file import FORMAT_VERSION, load_model, save_model
from digitnet.errors import ModelFileError
from digitnet.nn.layers import Dense, Layer
from digitnet.nn.mlp import build_mlp


@pytest.fixture
def model():
    return build_mlp((784, 32, 10), activation="tanh", rng=np.random.default_rng(0))


@pytest.fixture
def saved(tmp_path, model):
    return save_model(tmp_path / "m.npz", model, {"results": {"test_accuracy": 0.5}})


def test_round_trip_gives_identical_predictions(saved, model):
    x = np.random.default_rng(1).random((20, 784), dtype=np.float32)
    loaded = load_model(saved)
    np.testing.assert_array_equal(loaded.model.predict_proba(x), model.predict_proba(x))
    assert loaded.meta["results"] == {"test_accuracy": 0.5}
    assert loaded.meta["format_version"] == FORMAT_VERSION
    assert repr(loaded.model) == repr(model)


def test_file_uses_documented_names_and_no_pickle(saved):
    with np.load(saved, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["meta", "param/0.W", "param/0.b", "param/2.W", "param/2.b"]
        assert archive["param/0.W"].shape == (784, 32)
        assert json.loads(archive["meta"].item())["format"] == "digitnet-model"


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path, model, saved):
    before = saved.read_bytes()

    class Boom(Exception):
        pass

    def exploding_savez(*args, **kwargs):
        raise Boom

    original = np.savez
    np.savez = exploding_savez
    try:
        with pytest.raises(Boom):
            save_model(saved, model)
    finally:
        np.savez = original
    assert saved.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]


def test_unwritable_folder(tmp_path, model):
    with pytest.raises(ModelFileError, match="cannot write"):
        save_model(tmp_path / "missing" / "m.npz", model)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_link_is_written_through_and_a_pipe_is_refused(tmp_path, model, saved):
    """Saving to a symbolic link replaces the file it points to and keeps the link; saving
    over a pipe (or a device) is refused, where a rename would put a file in its place."""
    link = tmp_path / "link.npz"
    link.symlink_to(saved.name)
    assert save_model(link, model, {"results": {"test_accuracy": 0.9}}) == saved.resolve()
    assert link.is_symlink() and load_model(saved).meta["results"]["test_accuracy"] == 0.9
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="fifo.npz: exists and is not a regular file"):
        save_model(fifo, model)
    assert fifo.is_fifo()
    to_fifo = tmp_path / "to_fifo.npz"  # a pipe behind a link (as /dev/stdout) is found too
    to_fifo.symlink_to(fifo.name)
    with pytest.raises(ModelFileError, match="to_fifo.npz: exists and is not a regular file"):
        save_model(to_fifo, model)
    loop = tmp_path / "loop.npz"
    loop.symlink_to("loop.npz")
    with pytest.raises(ModelFileError, match="loop.npz: is a loop of symbolic links"):
        save_model(loop, model)
    (tmp_path / "sub").mkdir()
    dangling = tmp_path / "sub" / "new.npz"  # relative, to a file not there yet
    dangling.symlink_to("../created.npz")
    save_model(dangling, model)
    assert dangling.is_symlink() and load_model(tmp_path / "created.npz").model is not None
    expected = ["created.npz", "fifo.npz", "link.npz", "loop.npz", "m.npz", "sub", "to_fifo.npz"]
    assert sorted(os.listdir(tmp_path)) == expected  # and no temporary file


def _rewrite(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _set_meta(**changes):
    def change(arrays):
        meta = json.loads(arrays["meta"].item())
        meta.update(changes)
        arrays["meta"] = np.array(json.dumps(meta))

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("param/2.b"), "missing"),
        (lambda a: a.__setitem__("param/0.W", np.zeros((784, 31), np.float32)), "shape"),
        (lambda a: a.__setitem__("param/0.b", np.full(32, np.nan, np.float32)), "NaN"),
        (lambda a: a.__setitem__("param/0.b", np.zeros(32, np.int64)), "dtype"),
        (lambda a: a.__setitem__("param/9.W", np.zeros(3, np.float32)), "unexpected"),
        (lambda a: a.__setitem__("surprise", np.zeros(3)), "unexpected array"),
        (lambda a: a.pop("meta"), "no 'meta' header"),
        (lambda a: a.__setitem__("meta", np.array("{not json")), "unreadable"),
        (_set_meta(format_version=FORMAT_VERSION + 1), "newer than this digitnet"),
        (_set_meta(format="something-else"), "not a digitnet model"),
        (
            _set_meta(architecture={"layers": [{"type": "Warp"}], "loss": {"name": "mse"}}),
            "cannot be built",
        ),
    ],
)
def test_damaged_contents_are_refused(saved, change, message):
    _rewrite(saved, change)
    with pytest.raises(ModelFileError, match=message):
        load_model(saved)


def test_npz_holding_a_pickle_is_refused_without_running_it(saved, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    with np.load(saved, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["param/0.W"] = np.array([Payload()], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    saved.write_bytes(buffer.getvalue())
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(saved)
    assert not marker.exists()


def test_plain_pickle_file_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps({"W": [1, 2, 3]}))
    with pytest.raises(ModelFileError, match="a pickle, refused"):
        load_model(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b'{"epochs": []}', "not a .npz archive"), (b"\x89PNG\r\n", "not a .npz"), (b"", "empty")],
)
def test_other_files_are_not_called_pickles(tmp_path, content, message):
    path = tmp_path / "model.history.json"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model(path)
    assert "pickle" not in str(caught.value)


@pytest.mark.parametrize("keep", [0, 10, 100, 1000, -200])
def test_truncated_files_are_refused(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[:keep] if keep >= 0 else data[:keep])
    with pytest.raises(ModelFileError):
        load_model(saved)


def test_junk_and_missing_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(os.urandom(3000))
    with pytest.raises(ModelFileError):
        load_model(junk)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "absent.npz")
    with pytest.raises(ModelFileError, match="folder"):
        load_model(tmp_path)


def test_single_npy_is_refused(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ModelFileError, match="not a digitnet model"):
        load_model(path)


def test_zip_with_bad_member(saved):
    with zipfile.ZipFile(saved, "a") as archive:
        archive.writestr("param/x.npy", b"not an npy")
    with pytest.raises(ModelFileError):
        load_model(saved)


class Swish(Layer):
    """A layer of the user's own: out = x·sigmoid(x)."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self._x, self._s = x, 1 / (1 + np.exp(-x))
        return x * self._s

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._s * (1 + self._x * (1 - self._s))


def test_a_network_with_a_layer_of_your_own_saves_and_loads_given_the_class(tmp_path):
    import digitnet
    from digitnet.nn import Dense, Sequential, SoftmaxCrossEntropy, optimizer_from_name

    rng = np.random.default_rng(0)
    net = Sequential([Dense(6, 5, rng=rng), Swish(), Dense(5, 3, rng=rng)], SoftmaxCrossEntropy())
    x, y = rng.random((8, 6), dtype=np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    optimizer = optimizer_from_name("momentum", net.named_params(), learning_rate=0.1)
    for _ in range(3):
        net.train_step(x, y, optimizer)
    path = save_model(tmp_path / "swish.npz", net)

    with pytest.raises(ModelFileError, match="unknown layer type 'Swish'.*custom_layers"):
        load_model(path)
    loaded = load_model(path, custom_layers=[Swish]).model
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    api_net = digitnet.load(path, custom_layers=[Swish])
    assert isinstance(api_net.model.layers[1], Swish)


@pytest.mark.parametrize(
    ("custom", "message"),
    [([int], "must be Layer classes"), ([type("ReLU", (Layer,), {})], "name of a built-in")],
)
def test_custom_layers_that_are_not_layers_or_shadow_a_built_in_are_refused(saved, custom, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(saved, custom_layers=custom)


class ReLU(Layer):  # a user's own layer that happens to share a built-in's name
    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return np.abs(x)


class Power(Layer):
    """A layer of the user's own with a constructor argument but the default spec()."""

    def __init__(self, p: float = 2.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return x**self.p


class ScaledDense(Dense):
    """A user's subclass of a built-in layer, whose inherited spec() names 'Dense'."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return 2 * super().forward(x, training=training)


class Seeded(Layer):
    """Takes only what from_spec supplies (rng), like Dropout: nothing for spec() to save."""

    def __init__(self, *, rng: np.random.Generator) -> None:
        super().__init__()
        self.rng = rng

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return x

    @classmethod
    def from_spec(cls, fields: dict, *, rng: np.random.Generator, dtype: type = np.float32):
        return cls(rng=rng)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (ReLU(), "has the name of a built-in layer"),
        (Power(1.5), r"Power takes p: its spec\(\) must return them"),
        (
            ScaledDense(3, 3, rng=np.random.default_rng(0)),
            r"ScaledDense.spec\(\) names the type 'Dense'",
        ),
    ],
)
def test_save_refuses_a_layer_that_would_load_back_as_something_else(tmp_path, layer, message):
    from digitnet.nn import Dense, Sequential, SoftmaxCrossEntropy

    rng = np.random.default_rng(0)
    net = Sequential([Dense(4, 3, rng=rng), layer], SoftmaxCrossEntropy())
    with pytest.raises(ModelFileError, match=message):
        save_model(tmp_path / "m.npz", net)
    assert not (tmp_path / "m.npz").exists()


def test_save_refuses_weights_that_load_would_refuse(tmp_path, model):
    model.layers[0].params["W"][3, 4] = np.nan
    with pytest.raises(ModelFileError, match="0.W holds NaN or infinite values: not saved"):
        save_model(tmp_path / "m.npz", model)
    assert not (tmp_path / "m.npz").exists()


def test_custom_layers_given_as_one_class_instead_of_a_list_is_explained(saved):
    with pytest.raises(ModelFileError, match=r"custom_layers is a list of classes, e.g. \[Swish\]"):
        load_model(saved, custom_layers=Swish)


def test_a_float64_model_loads_as_float64_unless_told_otherwise(tmp_path):
    net = build_mlp((6, 4, 3), rng=np.random.default_rng(0), dtype=np.float64)
    path = save_model(tmp_path / "m64.npz", net)
    assert load_model(path).model.dtype == np.float64
    assert load_model(path, dtype=np.float32).model.dtype == np.float32
    x = np.random.default_rng(1).random((4, 6))
    np.testing.assert_array_equal(load_model(path).model.predict_proba(x), net.predict_proba(x))


def test_a_layer_whose_constructor_takes_only_what_from_spec_gives_saves_and_loads(tmp_path):
    from digitnet.nn import Sequential, SoftmaxCrossEntropy

    rng = np.random.default_rng(0)
    net = Sequential([Dense(4, 3, rng=rng), Seeded(rng=rng)], SoftmaxCrossEntropy())
    path = save_model(tmp_path / "seeded.npz", net)
    assert isinstance(load_model(path, custom_layers=[Seeded]).model.layers[1], Seeded)


def test_save_refuses_running_statistics_that_load_would_refuse(tmp_path):
    from digitnet.nn import BatchNorm, Sequential, SoftmaxCrossEntropy

    rng = np.random.default_rng(0)
    net = Sequential([Dense(4, 3, rng=rng), BatchNorm(3)], SoftmaxCrossEntropy())
    net.layers[1].buffers["running_var"][1] = np.inf
    with pytest.raises(ModelFileError, match="1.running_var holds NaN or infinite values"):
        save_model(tmp_path / "m.npz", net)


def test_two_custom_classes_of_one_name_are_refused(saved):
    first, second = type("Twin", (Layer,), {}), type("Twin", (Layer,), {})
    with pytest.raises(ModelFileError, match="Twin has the name of another of the custom layers"):
        load_model(saved, custom_layers=[first, second])
