"""ONNX export, judged by ONNX Runtime: the exported graph gives digitnet's own probabilities
(calibration included) for every layer type, and what cannot be exported is refused in one line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import digitnet
from digitnet.data.preprocess import to_inputs
from digitnet.errors import ExportError
from digitnet.export import export_onnx, to_onnx
from digitnet.nn import (
    ACTIVATIONS,
    BatchNorm,
    Conv2D,
    Dense,
    Deskew,
    Dropout,
    Flatten,
    Layer,
    LeakyReLU,
    MaxPool2D,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
)
from digitnet.nn.ensemble import Ensemble
from tests.conftest import REPO, assert_one_line_error, run_cli

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

README = REPO / "README.md"
MARKER = "this block runs as a test, `tests/test_export_onnx.py`"


def runtime_probabilities(path_or_proto, x: np.ndarray) -> np.ndarray:
    """What ONNX Runtime computes for x from an .onnx file or a ModelProto."""
    source = path_or_proto if isinstance(path_or_proto, Path) else path_or_proto.SerializeToString()
    session = ort.InferenceSession(str(source) if isinstance(source, Path) else source,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    return session.run(["probabilities"], {"pixels": x})[0]


def assert_agrees(model: Sequential, x: np.ndarray, onnx_output: np.ndarray) -> None:
    """The issue's bar: largest probability difference <= 1e-4, identical predicted digits."""
    expected = model.predict_proba(x)
    assert onnx_output.shape == expected.shape and onnx_output.dtype == np.float32
    assert np.abs(onnx_output - expected).max() <= 1e-4
    assert np.array_equal(onnx_output.argmax(axis=1), expected.argmax(axis=1))


def scramble_running_statistics(model: Sequential, rng: np.random.Generator) -> None:
    """BatchNorm running statistics far from (0, 1), so that inference form is really tested."""
    for layer in model.layers:
        if isinstance(layer, BatchNorm):
            layer.buffers["running_mean"][:] = rng.normal(0, 0.5, layer.n_features)
            layer.buffers["running_var"][:] = rng.uniform(0.3, 3, layer.n_features)
            layer.params["gamma"][:] = rng.uniform(0.5, 2, layer.n_features)
            layer.params["beta"][:] = rng.normal(0, 0.3, layer.n_features)


@pytest.fixture(scope="module")
def flat_test(mnist) -> np.ndarray:
    return to_inputs(mnist.test_images)  # (10000, 784)


@pytest.mark.slow
def test_bundled_model_agrees_with_onnx_runtime_on_the_mnist_test_set(tmp_path, mnist):
    network = digitnet.load()
    assert network.model.temperature != 1.0  # its calibration must be in the graph
    path = network.export_onnx(tmp_path / "default.onnx")
    x = to_inputs(mnist.test_images, layout="image")
    assert_agrees(network.model, x, runtime_probabilities(path, x))


@pytest.mark.slow
def test_cnn_preset_agrees_with_onnx_runtime_on_the_mnist_test_set(tmp_path, mnist):
    network = digitnet.train("cnn", epochs=1, train_limit=512, validation=0, test_limit=100)
    network.model.temperature = 1.3
    x = to_inputs(mnist.test_images, layout="image")
    path = network.export_onnx(tmp_path / "cnn.onnx")
    assert_agrees(network.model, x, runtime_probabilities(path, x))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_mlp_of_each_activation_agrees_on_the_mnist_test_set(tmp_path, flat_test, activation):
    network = digitnet.train(
        "mlp", hidden=(32, 16), activation=activation, epochs=1, train_limit=2000,
        validation=0, test_limit=100, dropout=0.1,
    )  # fmt: skip
    path = network.export_onnx(tmp_path / "mlp.onnx")
    assert_agrees(network.model, flat_test, runtime_probabilities(path, flat_test))


@pytest.mark.parametrize("opset", [11, 13, 17, "highest"])
def test_deskew_batchnorm_softmax_layer_and_mse_agree_at_each_opset(flat_test, opset):
    rng = np.random.default_rng(1)
    model = Sequential(
        [Deskew(), Dropout(0.2, rng=rng), Dense(784, 48, rng=rng), BatchNorm(48),
         LeakyReLU(0.2), Dense(48, 10, rng=rng), Softmax()],
        MeanSquaredError(),
    )  # fmt: skip
    scramble_running_statistics(model, rng)
    model.temperature = 0.7
    opset = onnx.defs.onnx_opset_version() if opset == "highest" else opset
    x = flat_test[:2000]
    assert_agrees(model, x, runtime_probabilities(to_onnx(model, opset=opset), x))


def test_mlp_without_deskew_exports_down_to_opset_9(flat_test):
    rng = np.random.default_rng(2)
    model = Sequential([Dense(784, 16, rng=rng), Tanh(), Dense(16, 10, rng=rng), Sigmoid()],
                       MeanSquaredError())  # fmt: skip
    proto = to_onnx(model, opset=9)
    assert proto.opset_import[0].version == 9
    assert_agrees(model, flat_test[:2000], runtime_probabilities(proto, flat_test[:2000]))


def test_convolutions_with_padding_stride_overlapping_pools_and_deskew_agree(mnist):
    rng = np.random.default_rng(3)
    model = Sequential(
        [Deskew(), Conv2D(1, 6, 3, padding=1, rng=rng), BatchNorm(6), ReLU(),
         MaxPool2D(3, stride=2), Conv2D(6, 8, (3, 2), stride=(2, 1), rng=rng), BatchNorm(8),
         Sigmoid(), Dropout(0.3, rng=rng), Flatten(), Dense(8 * 6 * 12, 10, rng=rng)],
        SoftmaxCrossEntropy(),
    )  # fmt: skip
    scramble_running_statistics(model, rng)
    x = to_inputs(mnist.test_images[:2000], layout="image")
    assert model.input_layout == "image"
    assert_agrees(model, x, runtime_probabilities(to_onnx(model), x))


def test_ensemble_with_member_and_outer_temperatures_agrees(mnist, flat_test):
    rng = np.random.default_rng(4)
    conv = Sequential([Conv2D(1, 4, 5, rng=rng), MaxPool2D(2), ReLU(), Flatten(),
                       Dense(4 * 12 * 12, 10, rng=rng)], SoftmaxCrossEntropy())  # fmt: skip
    deskewed = Sequential([Deskew(), Dense(784, 10, rng=rng), Sigmoid()], MeanSquaredError())
    mlp = digitnet.train("mlp", hidden=(24,), epochs=1, train_limit=2000, validation=0,
                         test_limit=100).model  # fmt: skip
    conv.temperature, mlp.temperature = 2.0, 0.6
    network = digitnet.ensemble(
        [digitnet.Network(m, {}) for m in (conv, deskewed, mlp)], weights=[1, 2, 3]
    )
    network.model.temperature = 1.4
    assert isinstance(network.model.layers[0], Ensemble)
    x = flat_test[:2000]
    assert_agrees(network.model, x, runtime_probabilities(to_onnx(network.model), x))


def test_onnx_file_passes_the_checker_and_describes_its_input(tmp_path):
    network = digitnet.load()
    path = network.export_onnx(tmp_path / "default.onnx")
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["input_name"] == "pixels" and props["input_shape"] == '["N", 1, 28, 28]'
    assert "0-1" in props["input_preprocessing"] and "bright ink on black" in props[
        "input_preprocessing"]  # fmt: skip
    assert float(props["temperature"]) == network.model.temperature
    assert props["classes"] == "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    (graph_input,) = model.graph.input
    dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    assert graph_input.name == "pixels" and dims == ["N", 1, 28, 28]
    assert [o.name for o in model.graph.output] == ["probabilities"]
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


class Doubling(Layer):
    """A layer of one's own: nothing ONNX could know."""

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return 2 * x


def test_a_layer_of_ones_own_is_refused_by_name():
    rng = np.random.default_rng(5)
    model = Sequential([Dense(784, 10, rng=rng), Doubling()], SoftmaxCrossEntropy())
    with pytest.raises(ExportError, match=r"layer 1 \(Doubling\(\)\) cannot be exported"):
        to_onnx(model)


def test_a_subclass_of_a_built_in_layer_is_refused():
    class Shifted(ReLU):
        def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
            return super().forward(x) + 1

    rng = np.random.default_rng(6)
    model = Sequential([Dense(784, 10, rng=rng), Shifted()], SoftmaxCrossEntropy())
    with pytest.raises(ExportError, match="Shifted"):
        to_onnx(model)


def test_deskew_below_opset_11_names_the_layer_and_the_opset():
    model = Sequential([Deskew(), Dense(784, 10, rng=np.random.default_rng(7))],
                       SoftmaxCrossEntropy())  # fmt: skip
    with pytest.raises(ExportError, match=r"layer 0 \(Deskew\(\)\).*opset 11 or later"):
        to_onnx(model, opset=10)


def test_opset_out_of_range_is_refused():
    model = Sequential([Dense(784, 10, rng=np.random.default_rng(8))], SoftmaxCrossEntropy())
    for opset in (8, onnx.defs.onnx_opset_version() + 1):
        with pytest.raises(ExportError, match=f"opset {opset} is out of range"):
            to_onnx(model, opset=opset)


def mismatched_model_file(path: Path) -> Path:
    """A model file that loads but whose network cannot run: 32 outputs into 64 inputs."""
    rng = np.random.default_rng(9)
    model = Sequential([Dense(784, 32, rng=rng), ReLU(), Dense(64, 10, rng=rng)],
                       SoftmaxCrossEntropy())  # fmt: skip
    digitnet.Network(model, {}).save(path)
    return path


def test_a_network_that_would_not_run_is_refused(tmp_path):
    model = digitnet.load(mismatched_model_file(tmp_path / "bad.npz")).model
    with pytest.raises(ExportError, match=r"layer 2 \(Dense\(64→10\)\).*gets shape \(32,\)"):
        to_onnx(model)


def test_failed_export_leaves_an_existing_file_as_it_was(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"the previous export")
    model = Sequential([Deskew(), Dense(784, 10, rng=np.random.default_rng(10))],
                       SoftmaxCrossEntropy())  # fmt: skip
    with pytest.raises(ExportError):
        export_onnx(model, target, opset=10)
    assert target.read_bytes() == b"the previous export"


# the CLI, end to end


def test_cli_exports_the_bundled_model_that_onnx_runtime_runs(tmp_path, mnist):
    result = run_cli("export", "--onnx", str(tmp_path / "default.onnx"))
    assert result.returncode == 0, result.stderr
    assert re.search(r"wrote .*default\.onnx \(ONNX opset 17, input 'pixels'", result.stdout)
    x = to_inputs(mnist.test_images[:500], layout="image")
    assert_agrees(digitnet.load().model, x, runtime_probabilities(tmp_path / "default.onnx", x))


def test_cli_exports_a_model_file_given_as_model_option(tmp_path):
    network = digitnet.train("mlp", hidden=(16,), epochs=1, train_limit=1000, validation=0,
                             test_limit=100)  # fmt: skip
    model_path = network.save(tmp_path / "small.npz")
    result = run_cli("export", "--model", str(model_path), "--onnx", str(tmp_path / "s.onnx"),
                     "--opset", "13", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert '"input_shape": ["N", 784]' in result.stdout and '"opset": 13' in result.stdout
    assert onnx.load(str(tmp_path / "s.onnx")).opset_import[0].version == 13


def test_cli_refuses_a_file_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.npz").write_text("not a model")
    result = run_cli("export", str(tmp_path / "notes.npz"), "--onnx", str(tmp_path / "x.onnx"))
    assert result.returncode == 1
    assert_one_line_error(result, "notes.npz", "not a digitnet model file")
    assert not (tmp_path / "x.onnx").exists()


def test_cli_refuses_a_layer_that_cannot_be_exported(tmp_path):
    model = Sequential([Deskew(), Dense(784, 10, rng=np.random.default_rng(11))],
                       SoftmaxCrossEntropy())  # fmt: skip
    path = digitnet.Network(model, {}).save(tmp_path / "deskew.npz")
    result = run_cli("export", str(path), "--onnx", str(tmp_path / "x.onnx"), "--opset", "10")
    assert result.returncode == 1
    assert_one_line_error(result, "Deskew", "opset 11 or later")
    bad = mismatched_model_file(tmp_path / "bad.npz")
    result = run_cli("export", str(bad), "--onnx", str(tmp_path / "x.onnx"))
    assert result.returncode == 1
    assert_one_line_error(result, "layer 2", "cannot be exported")
    assert not (tmp_path / "x.onnx").exists()


def test_cli_refuses_an_output_path_that_cannot_be_written(tmp_path):
    result = run_cli("export", "--onnx", str(tmp_path / "missing" / "x.onnx"))
    assert result.returncode == 1
    assert_one_line_error(result, "cannot write", "x.onnx")
    folder = tmp_path / "taken.onnx"
    folder.mkdir()  # a folder where the file should go: the rename fails after the write
    result = run_cli("export", "--onnx", str(folder))
    assert result.returncode == 1
    assert_one_line_error(result, "cannot write", "taken.onnx")
    assert list(tmp_path.iterdir()) == [folder] and not list(folder.iterdir())  # no temp file
    result = run_cli("export", "--onnx", str(tmp_path / "model.npz"))
    assert result.returncode == 1
    assert_one_line_error(result, "ends in .onnx")


def test_cli_without_the_onnx_package_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['onnx'] = None\n"  # what `import onnx` finds uninstalled
        "from digitnet.cli.main import main\n"
        f"sys.exit(main(['export', '--onnx', {str(tmp_path / 'x.onnx')!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=120)  # fmt: skip
    assert result.returncode == 1
    assert_one_line_error(result, "pip install digitnet[onnx]")


def readme_block() -> str:
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "the README lost the sentence that introduces its ONNX example"
    match = re.search(r"```python\n(.*?)```", text[text.index(MARKER) :], re.S)
    assert match, "no python block after the marker"
    return match.group(1)


def test_readme_example_runs_the_exported_model_with_onnx_runtime_alone(tmp_path, capsys):
    block = readme_block()
    assert "digitnet" not in re.sub(r"#.*", "", block)  # numpy and onnxruntime only
    digitnet.load().export_onnx(tmp_path / "model.onnx")
    shutil.copy(REPO / "digitnet/datasets/mnist/t10k-images-idx3-ubyte.gz", tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        exec(compile(block, str(README), "exec"), {})
    printed = capsys.readouterr().out.strip()
    promised = re.search(r"print\(.*\)\s+# (.*)", block).group(1)
    assert printed == promised


def test_a_scikit_learn_estimator_on_tabular_data_exports_with_its_labels(tmp_path):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    from digitnet.sklearn import DigitnetClassifier

    X, y = sklearn_datasets.load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = DigitnetClassifier(hidden_sizes=(8,), epochs=20, random_state=0).fit(X, names)
    network = digitnet.load(clf.save(tmp_path / "iris.npz"))
    model = onnx.load(str(network.export_onnx(tmp_path / "iris.onnx")))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["classes"] == '["setosa", "versicolor", "virginica"]'
    assert props["input_shape"] == '["N", 4]' and "features" in props["input_preprocessing"]
    x = X.astype(np.float32)
    probabilities = runtime_probabilities(tmp_path / "iris.onnx", x)
    assert np.abs(probabilities - clf.predict_proba(X)).max() <= 1e-4
