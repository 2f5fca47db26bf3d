"""The compiled training step (nn/step_plan.py): the same numbers as the layer-by-layer step,
used where it covers the network, and the layers' path everywhere else."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from nn_helpers import one_hot

from digitnet.nn import SGD, Adam, Dense, LeakyReLU, Sequential, Sigmoid, build_mlp
from digitnet.nn import model as model_module
from digitnet.nn.blas import routines
from digitnet.nn.losses import SoftmaxCrossEntropy
from digitnet.nn.step_plan import StepPlan, compile_step

pytestmark = pytest.mark.skipif(routines() is None, reason="the plan needs NumPy's BLAS")


def network(activation: str, output: str, dtype, seed: int = 0) -> Sequential:
    return build_mlp(
        (12, 7, 5, 4), activation=activation, output=output, rng=np.random.default_rng(seed),
        dtype=dtype,
    )  # fmt: skip


def train(model, optimizer, batches) -> list[float]:
    return [model.train_step(x, y, optimizer) for x, y in batches]


def batches_of(sizes, dtype, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.random((n, 12)).astype(dtype), one_hot(rng.integers(0, 4, n), 4).astype(dtype))
            for n in sizes]  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
@pytest.mark.parametrize("output", ["sigmoid", "softmax"], ids=["mse", "cross-entropy"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_the_plan_gives_the_layers_numbers_exactly(monkeypatch, activation, output, momentum,
                                                   dtype):  # fmt: skip
    """Batches of 1 and 7 samples and a last, smaller one: the plan's weights, velocities and
    losses equal those of the layer-by-layer step bit for bit."""
    batches = batches_of([1, 1, 7, 7, 7, 3, 1], dtype)
    planned = network(activation, output, dtype)
    planned_sgd = SGD(planned.named_params(), learning_rate=0.3, momentum=momentum)
    planned_losses = train(planned, planned_sgd, batches)
    assert all(isinstance(p, StepPlan) for p in planned._step_plans.values())
    assert len(planned._step_plans) == 3  # one per batch shape

    monkeypatch.setattr(model_module, "compile_step", lambda *args: None)
    layered = network(activation, output, dtype)
    layered_sgd = SGD(layered.named_params(), learning_rate=0.3, momentum=momentum)
    layered_losses = train(layered, layered_sgd, batches)

    assert planned_losses == layered_losses
    for name, weights in planned.get_weights().items():
        np.testing.assert_array_equal(weights, layered.get_weights()[name], err_msg=name)
    for name, state in planned_sgd.state_dict().items():
        np.testing.assert_array_equal(state, layered_sgd.state_dict()[name], err_msg=name)


def test_the_plan_learns_a_separable_problem():
    """Independent of the layers' path: per-sample SGD on two well-separated clusters."""
    rng = np.random.default_rng(2)
    centres = np.eye(4, 12, dtype=np.float32) * 3
    labels = rng.integers(0, 4, 400)
    x = centres[labels] + rng.normal(0, 0.3, (400, 12)).astype(np.float32)
    y = one_hot(labels, 4).astype(np.float32)
    model = network("sigmoid", "sigmoid", np.float32)
    optimizer = SGD(model.named_params(), learning_rate=1.0)
    for _ in range(5):
        for i in range(len(x)):
            model.train_step(x[i : i + 1], y[i : i + 1], optimizer)
    assert isinstance(next(iter(model._step_plans.values())), StepPlan)
    assert (model.predict(x) == labels).mean() > 0.97


@pytest.mark.parametrize(
    "case",
    ["adam", "nesterov", "weight decay", "label smoothing", "clipping", "dropout", "leaky relu",
     "frozen layer"],
)  # fmt: skip
def test_what_the_plan_does_not_cover_runs_the_layers(case):
    rng = np.random.default_rng(3)
    model = network("relu", "softmax", np.float32)
    options, clip, x = {}, None, rng.random((2, 12), dtype=np.float32)
    if case == "dropout":
        model = build_mlp((12, 7, 4), dropout=0.2, rng=rng)
    elif case == "leaky relu":
        model = build_mlp((12, 7, 4), activation="leaky_relu", rng=rng)
    elif case == "label smoothing":
        model.loss = SoftmaxCrossEntropy(label_smoothing=0.1)
    slots = model.named_params()
    if case == "frozen layer":
        slots = slots[2:]
    optimizer = {
        "adam": lambda: Adam(slots, 0.01),
        "nesterov": lambda: SGD(slots, 0.1, momentum=0.9, nesterov=True),
        "weight decay": lambda: SGD(slots, 0.1, weight_decay=1e-3),
    }.get(case, lambda: SGD(slots, 0.1, **options))()
    if case == "clipping":
        clip = 1.0
    assert compile_step(model, optimizer, x, clip, 0) is None
    model.train_step(x, one_hot(np.array([0, 3]), 4).astype(np.float32), optimizer, clip_norm=clip)
    assert all(plan is None for plan in model._step_plans.values())


def test_a_layer_given_new_arrays_gets_a_new_plan():
    model = network("relu", "softmax", np.float32)
    optimizer = SGD(model.named_params(), learning_rate=0.1)
    ((x, y),) = batches_of([2], np.float32)
    model.train_step(x, y, optimizer)
    assert isinstance(next(iter(model._step_plans.values())), StepPlan)
    layer = model.layers[0]
    layer.params["W"] = layer.params["W"].copy()  # the optimizer still holds the old array
    model.train_step(x, y, optimizer)
    assert next(iter(model._step_plans.values())) is None  # not covered: the layers' path


def test_a_nan_loss_leaves_the_weights_as_they_were():
    model = network("sigmoid", "softmax", np.float32)
    optimizer = SGD(model.named_params(), learning_rate=0.1, momentum=0.9)
    ((x, y),) = batches_of([1], np.float32)
    model.train_step(x, y, optimizer)
    before = model.get_state()
    x = x.copy()
    x[0, 3] = np.nan
    assert np.isnan(model.train_step(x, y, optimizer))
    for name, array in model.get_state().items():
        np.testing.assert_array_equal(array, before[name], err_msg=name)
    assert optimizer.t == 1


def test_a_target_of_the_wrong_shape_is_refused():
    model = network("relu", "softmax", np.float32)
    optimizer = SGD(model.named_params(), learning_rate=0.1)
    ((x, _),) = batches_of([3], np.float32)
    with pytest.raises(ValueError, match=r"must be equal \(batch, classes\)"):
        model.train_step(x, np.zeros((3, 5), np.float32), optimizer)


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])  # fmt: skip
def test_a_copied_model_trains_its_own_weights(duplicate):
    """A plan is bound to its model's arrays: a copy gets its own plan, and training the copy
    leaves the original's weights alone."""
    model = network("tanh", "softmax", np.float32)
    optimizer = SGD(model.named_params(), learning_rate=0.1, momentum=0.9)
    batches = batches_of([4, 4], np.float32)
    train(model, optimizer, batches)
    twin = duplicate(model)
    assert twin._step_plans == {}
    before = model.get_weights()
    twin_optimizer = SGD(twin.named_params(), learning_rate=0.1)
    train(twin, twin_optimizer, batches)
    for name, weights in model.get_weights().items():
        np.testing.assert_array_equal(weights, before[name], err_msg=name)
    assert not np.array_equal(twin.get_weights()["0.W"], before["0.W"])


def test_a_sigmoid_after_the_last_dense_and_a_dense_after_a_dense_are_covered():
    rng = np.random.default_rng(4)
    layers = [Dense(12, 6, rng=rng), Dense(6, 4, rng=rng), Sigmoid()]
    model = Sequential(layers, model_module.loss_from_name("mse"))
    optimizer = SGD(model.named_params(), learning_rate=0.1)
    ((x, _),) = batches_of([2], np.float32)
    assert isinstance(compile_step(model, optimizer, x, None, 0), StepPlan)
    tail = Sequential([Dense(12, 6, rng=rng), LeakyReLU(), Dense(6, 4, rng=rng)],
                      SoftmaxCrossEntropy())  # fmt: skip
    assert compile_step(tail, SGD(tail.named_params(), 0.1), x, None, 0) is None


def test_inputs_of_the_wrong_width_get_the_layers_message():
    model = network("relu", "softmax", np.float32)
    optimizer = SGD(model.named_params(), learning_rate=0.1)
    with pytest.raises(ValueError, match=r"takes \(batch, 12\) inputs"):
        model.train_step(np.zeros((2, 11), np.float32), np.zeros((2, 4), np.float32), optimizer)
