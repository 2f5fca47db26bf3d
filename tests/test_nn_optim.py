"""Optimizers: hand-worked steps, weight decay, convergence, clipping, state, PyTorch reference."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.errors import ConfigError, ModelFileError
from digitnet.nn import (
    SGD,
    Adam,
    AdamW,
    Dense,
    MeanSquaredError,
    ReLU,
    Sequential,
    Slot,
    clip_grad_norm,
    optimizer_from_name,
)
from digitnet.nn.optim import FLUSH_EVERY


def make_slots(*values: list[float], decay: bool = True) -> list[Slot]:
    return [
        Slot(str(i), np.array(v, np.float64), np.zeros(len(v)), decay) for i, v in enumerate(values)
    ]


def test_one_sgd_step_on_a_3_2_1_net_by_hand():
    rng = np.random.default_rng(0)
    model = Sequential(
        [Dense(3, 2, rng=rng, dtype=np.float64), ReLU(), Dense(2, 1, rng=rng, dtype=np.float64)],
        MeanSquaredError(),
    )
    model.set_weights(
        {
            "0.W": [[0.1, -0.2], [0.3, 0.1], [0.2, 0.4]],
            "0.b": [0.0, 0.0],
            "2.W": [[2.0], [1.0]],
            "2.b": [0.5],
        }
    )
    x, y = np.array([[1.0, 2.0, -1.0]]), np.array([[1.0]])
    # z = x @ W1 = (0.5, −0.4); h = relu(z) = (0.5, 0); out = 0.5·2 + 0·1 + 0.5 = 1.5
    # loss = (1.5 − 1)² / 2 = 0.125; grad_out = 0.5
    # grad W2 = h.T · 0.5 = (0.25, 0); grad b2 = 0.5; grad_h = 0.5·W2.T = (1, 0.5) → grad_z = (1, 0)
    # grad W1 = x.T @ grad_z = ((1, 0), (2, 0), (−1, 0)); grad b1 = (1, 0)
    loss = model.train_step(x, y, SGD(model.named_params(), learning_rate=0.1))
    assert loss == pytest.approx(0.125)
    weights = model.get_weights()
    np.testing.assert_allclose(weights["0.W"], [[0.0, -0.2], [0.1, 0.1], [0.3, 0.4]], atol=1e-15)
    np.testing.assert_allclose(weights["0.b"], [-0.1, 0.0], atol=1e-15)
    np.testing.assert_allclose(weights["2.W"], [[1.975], [1.0]], atol=1e-15)
    np.testing.assert_allclose(weights["2.b"], [0.45], atol=1e-15)


def test_adam_first_two_steps_follow_the_formula():
    slots = make_slots([1.0, -2.0])
    adam = Adam(slots, learning_rate=0.01)
    g1, g2 = np.array([0.5, -4.0]), np.array([-1.0, 2.0])
    slots[0].grad[...] = g1
    adam.step()
    # m = 0.1·g1, v = 0.001·g1²; bias-corrected m̂ = g1, v̂ = g1²: the step is lr·g1/(|g1| + eps)
    expected = np.array([1.0, -2.0]) - 0.01 * g1 / (np.abs(g1) + 1e-8)
    np.testing.assert_allclose(slots[0].param, expected, rtol=1e-14)
    slots[0].grad[...] = g2
    adam.step()
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    expected -= 0.01 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(slots[0].param, expected, rtol=1e-14)
    assert adam.t == 2


def test_weight_decay_coupled_vs_decoupled_on_a_zero_gradient():
    weight, bias = (
        Slot("0.W", np.array([2.0]), np.zeros(1), True),
        Slot("0.b", np.array([2.0]), np.zeros(1), False),
    )
    SGD([weight, bias], learning_rate=0.5, weight_decay=0.1).step()
    assert weight.param[0] == pytest.approx(2.0 - 0.5 * 0.1 * 2.0)  # grad + wd·param
    assert bias.param[0] == 2.0  # biases never decay
    weight.param[...] = 2.0
    Adam([weight, bias], learning_rate=0.5, weight_decay=0.1).step()
    assert weight.param[0] == pytest.approx(2.0 - 0.5)  # coupled: Adam normalises the penalty
    weight.param[...] = 2.0
    AdamW([weight, bias], learning_rate=0.5, weight_decay=0.1).step()
    assert weight.param[0] == pytest.approx(2.0 * (1 - 0.5 * 0.1))  # decoupled: shrink only
    assert bias.param[0] == 2.0


@pytest.mark.parametrize("name", ["momentum", "nesterov"])
def test_momentum_converges_on_an_ill_conditioned_quadratic(name):
    curvature = np.array([1.0, 100.0])  # f(p) = Σ curvature·p² / 2, grad = curvature·p

    def run(optimizer_name: str) -> float:
        slots = make_slots([1.0, 1.0])
        optimizer = optimizer_from_name(optimizer_name, slots, learning_rate=0.01)
        for _ in range(300):
            slots[0].grad[...] = curvature * slots[0].param
            optimizer.step()
        return float(np.abs(slots[0].param).max())

    assert run(name) < 1e-6
    assert run("sgd") > 0.01  # plain SGD is still crawling along the flat direction


def test_clip_grad_norm_scales_all_grads_together():
    slots = make_slots([0.0], [0.0])
    slots[0].grad[...], slots[1].grad[...] = 3.0, 4.0
    assert clip_grad_norm(slots, 10.0) == pytest.approx(5.0)
    assert slots[0].grad[0] == 3.0  # under the limit: untouched
    assert clip_grad_norm(slots, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose([slots[0].grad[0], slots[1].grad[0]], [0.6, 0.8])
    with pytest.raises(ConfigError):
        clip_grad_norm(slots, 0.0)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_state_dict_round_trip_gives_identical_next_steps(name):
    rng = np.random.default_rng(0)
    slots = make_slots(rng.standard_normal(4).tolist(), rng.standard_normal(3).tolist())
    first = optimizer_from_name(name, slots, learning_rate=0.1)
    for _ in range(3):
        for slot in slots:
            slot.grad[...] = rng.standard_normal(slot.grad.shape)
        first.step()
    copies = [Slot(s.name, s.param.copy(), s.grad.copy(), s.decay) for s in slots]
    second = optimizer_from_name(name, copies, learning_rate=0.1)
    second.load_state_dict(first.state_dict())
    first.step()
    second.step()
    for original, copy in zip(slots, copies, strict=True):
        np.testing.assert_array_equal(original.param, copy.param)
    assert all(isinstance(v, np.ndarray) for v in first.state_dict().values())


def test_load_state_dict_refuses_missing_keys_and_wrong_shapes():
    adam = Adam(make_slots([1.0, 2.0]))
    state = adam.state_dict()
    assert set(state) == {"t", "m.0", "v.0"}
    with pytest.raises(ModelFileError, match="missing keys \\['v.0'\\]"):
        adam.load_state_dict({k: v for k, v in state.items() if k != "v.0"})
    with pytest.raises(ModelFileError, match="'m.0'"):
        adam.load_state_dict({**state, "m.0": np.zeros(3)})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"learning_rate": -0.1},
        {"learning_rate": float("nan")},
        {"momentum": 1.0},
        {"weight_decay": -1.0},
        {"nesterov": True},
        {"beta": 0.9},
    ],
)
def test_bad_hyperparameters_are_refused(kwargs):
    kwargs = {"learning_rate": 0.1, **kwargs}
    with pytest.raises(ConfigError):
        optimizer_from_name("sgd", make_slots([1.0]), **kwargs)
    with pytest.raises(ConfigError, match="unknown optimizer"):
        optimizer_from_name("rmsprop", make_slots([1.0]), learning_rate=0.1)


@pytest.mark.parametrize("name", ["adam", "adamw", "nesterov"])
def test_steps_match_torch_optim(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    weight, bias = rng.standard_normal((4, 3)), rng.standard_normal(3)
    slots = [
        Slot("0.W", weight.copy(), np.zeros((4, 3)), True),
        Slot("0.b", bias.copy(), np.zeros(3), False),
    ]
    torch_params = [
        torch.tensor(weight, requires_grad=True),
        torch.tensor(bias, requires_grad=True),
    ]
    groups = [
        {"params": [torch_params[0]], "weight_decay": 0.05},
        {"params": [torch_params[1]], "weight_decay": 0.0},
    ]
    if name == "nesterov":
        ours = SGD(slots, 0.1, momentum=0.9, nesterov=True, weight_decay=0.05)
        theirs = torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=True)
    else:
        ours = (Adam if name == "adam" else AdamW)(slots, 0.01, weight_decay=0.05)
        theirs = (torch.optim.Adam if name == "adam" else torch.optim.AdamW)(groups, lr=0.01)
    for _ in range(3):
        for slot, param in zip(slots, torch_params, strict=True):
            slot.grad[...] = rng.standard_normal(slot.grad.shape)
            param.grad = torch.tensor(slot.grad)
        ours.step()
        theirs.step()
        for slot, param in zip(slots, torch_params, strict=True):
            np.testing.assert_allclose(slot.param, param.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_subnormal_state_is_flushed_every_flush_every_steps_and_moves_no_weight(name):
    """A velocity (or Adam's m) decaying under a zero gradient reaches subnormal floats; every
    FLUSH_EVERY steps they become 0 while normal values stay, and the weights are what the
    unflushed update gives."""
    tiny = np.finfo(np.float32).tiny
    slots = [Slot("0.W", np.full(3, 0.5, np.float32), np.zeros(3, np.float32), False)]
    twin = [Slot("0.W", np.full(3, 0.5, np.float32), np.zeros(3, np.float32), False)]
    optimizer = optimizer_from_name(name, slots, learning_rate=0.1)
    unflushed = optimizer_from_name(name, twin, learning_rate=0.1)
    unflushed._flush_subnormals = lambda: None
    key = "velocity" if name == "momentum" else "m"
    start = np.array([tiny * 0.5, tiny * 4.0, 1e-3], np.float32)  # subnormal, normal, normal
    for opt in (optimizer, unflushed):
        opt.state[key][0][...] = start
    for _ in range(FLUSH_EVERY - 1):
        optimizer.step()
        unflushed.step()
    assert optimizer.state[key][0][0] != 0  # not yet
    optimizer.step()
    unflushed.step()
    state, kept = optimizer.state[key][0], unflushed.state[key][0]
    assert state[0] == 0 and 0 < kept[0] < tiny
    np.testing.assert_array_equal(state[1:], np.where(kept[1:] < tiny, 0, kept[1:]))
    np.testing.assert_array_equal(slots[0].param, twin[0].param)
