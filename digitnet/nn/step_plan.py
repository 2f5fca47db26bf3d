"""A training step compiled once per batch shape: train_step's path for small MLPs.

Where the arrays are small (one sample per step, as the seed000 network trains), a step's
time goes less to arithmetic than to overhead: NumPy allocating every intermediate array,
each layer's and the optimiser's checks, ctypes finding array addresses (~2.5 µs each), the
dispatch between them (benchmarks/plain_loop.py). A StepPlan runs the same operations as the
layers' forward and backward and SGD's update, in the same order and so with the same
numbers, on arrays allocated once, with BLAS bound to their addresses once.

It covers what the seed networks are made of: Dense layers, each followed by at most one
Sigmoid, Tanh or ReLU; the mse or cross-entropy loss (no label smoothing); SGD with or
without momentum (no Nesterov, no weight decay), holding every parameter; no clipping.
compile_step returns None for anything else, and train_step runs the layers.
"""

from __future__ import annotations

import math

import numpy as np

from digitnet.nn.activations import ReLU, Sigmoid, Tanh
from digitnet.nn.blas import NO_TRANS, ROW_MAJOR, TRANS, _address, routines
from digitnet.nn.layers import Dense
from digitnet.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from digitnet.nn.optim import FLUSH_EVERY, SGD

ACTIVATIONS = (Sigmoid, Tanh, ReLU)  # exact types: LeakyReLU's slope is not covered


class _Activation:
    """One activation, in place on its Dense layer's output buffer `out`; keeps what its
    backward needs as the layer does (sigmoid/tanh: the output; ReLU: the gate)."""

    def __init__(self, kind: type, out: np.ndarray) -> None:
        self.kind, self.out = kind, out
        self.work = np.empty_like(out)  # sigmoid/tanh: the derivative; ReLU: the gate

    def forward(self) -> None:
        out = self.out
        if self.kind is Sigmoid:  # 0.5·(1 + tanh(x/2)), as Sigmoid.forward
            np.multiply(out, 0.5, out=out)
            np.tanh(out, out=out)
            out += 1.0
            out *= 0.5
        elif self.kind is Tanh:
            np.tanh(out, out=out)
        else:  # x · [x > 0], as ReLU.forward while training
            np.greater(out, 0, out=self.work)
            out *= self.work

    def backward(self, grad: np.ndarray) -> None:
        """grad (dLoss/dout) becomes dLoss/dx, in place."""
        work = self.work
        if self.kind is Sigmoid:  # out · (1 − out)
            np.subtract(1.0, self.out, out=work)
            work *= self.out
        elif self.kind is Tanh:  # 1 − out²
            np.square(self.out, out=work)
            np.subtract(1.0, work, out=work)
        grad *= work


class _DenseStage:
    """One Dense layer's forward into `out`, and its backward with SGD's update of W and b
    (after the input gradient is formed from the old W), by the same BLAS calls as
    train_step's folded products and SGD's updates."""

    def __init__(self, layer: Dense, rows: int, source: np.ndarray | None, plan_sgd: SGD,
                 slots: tuple[int, int]) -> None:  # fmt: skip
        self.layer = layer
        self.W, self.b = layer.params["W"], layer.params["b"]
        self.grad_b = layer.grads["b"]
        self.out = np.empty((rows, layer.fan_out), self.W.dtype)
        self.grad_out = np.empty_like(self.out)  # dLoss/dz, filled by the stage above
        self.rows = rows
        found = routines()
        kind = self.W.dtype.type
        self._ger, self._axpy, self._gemm = found.ger[kind], found.axpy[kind], found.gemm[kind]
        self.momentum = plan_sgd.momentum
        velocity = plan_sgd.state.get("velocity")
        self.v_W = velocity[slots[0]] if velocity else None
        self.v_b = velocity[slots[1]] if velocity else None
        self._W_at, self._b_at = _address(self.W), _address(self.b)
        self._grad_out_at, self._grad_b_at = _address(self.grad_out), _address(self.grad_b)
        self._grad_W_at = _address(layer.grads["W"])
        if velocity:
            self._v_W_at, self._v_b_at = _address(self.v_W), _address(self.v_b)
        # the previous stage's output, whose address GER and GEMM read (None: the step's input)
        self._source_at = None if source is None else _address(source)

    def forward(self, x: np.ndarray) -> None:
        np.matmul(x, self.W, out=self.out)
        self.out += self.b

    def backward(self, x: np.ndarray, x_at: int, grad_in: np.ndarray | None, lr: float) -> None:
        """Fill grad_in (dLoss/dx, unless None) and update W and b from self.grad_out."""
        grad = self.grad_out
        if grad_in is not None:
            np.matmul(grad, self.W.T, out=grad_in)
        fan_in, fan_out = self.W.shape
        size_W = fan_in * fan_out
        if self.rows == 1:  # an outer product, added by GER (Dense's one-sample product)
            if self.v_W is None:  # formed first, into zeros, as the layers' path does
                grad_W = self.layer.grads["W"]
                grad_W.fill(0.0)
                self._ger(ROW_MAJOR, fan_in, fan_out, 1.0, x_at, 1, self._grad_out_at, 1,
                          self._grad_W_at, fan_out)  # fmt: skip
                self._axpy(size_W, -lr, self._grad_W_at, 1, self._W_at, 1)
            else:
                self.v_W *= self.momentum
                self._ger(ROW_MAJOR, fan_in, fan_out, 1.0, x_at, 1, self._grad_out_at, 1,
                          self._v_W_at, fan_out)  # fmt: skip
        elif self.v_W is None:  # plain SGD forms the gradient, as Dense.backward does
            np.matmul(x.T, grad, out=self.layer.grads["W"])
            self._axpy(size_W, -lr, self._grad_W_at, 1, self._W_at, 1)
        else:  # velocity = xᵀ·grad + momentum·velocity, in GEMM's β
            self._gemm(ROW_MAJOR, TRANS, NO_TRANS, fan_in, fan_out, self.rows, 1.0, x_at,
                       fan_in, self._grad_out_at, fan_out, self.momentum, self._v_W_at,
                       fan_out)  # fmt: skip
        if self.v_W is not None:
            self._axpy(size_W, -lr, self._v_W_at, 1, self._W_at, 1)
        np.add.reduce(grad, axis=0, out=self.grad_b)
        if self.v_b is None:
            self._axpy(fan_out, -lr, self._grad_b_at, 1, self._b_at, 1)
            return
        self.v_b *= self.momentum
        self.v_b += self.grad_b
        self._axpy(fan_out, -lr, self._v_b_at, 1, self._b_at, 1)


class StepPlan:
    """train_step for one model, optimizer and batch shape; `run` returns the batch's loss."""

    def __init__(self, model, optimizer: SGD, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.optimizer = optimizer
        self.shape, self.dtype = shape, dtype
        self.layers = tuple(model.layers)
        slot_of = {id(slot.param): i for i, slot in enumerate(optimizer.slots)}
        rows = shape[0]
        self.stages: list[tuple[_DenseStage, _Activation | None]] = []
        source = None
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Dense):
                continue
            slots = slot_of[id(layer.params["W"])], slot_of[id(layer.params["b"])]
            dense = _DenseStage(layer, rows, source, optimizer, slots)
            following = self.layers[i + 1] if i + 1 < len(self.layers) else None
            activation = None
            if following is not None and type(following) in ACTIVATIONS:
                activation = _Activation(type(following), dense.out)
            self.stages.append((dense, activation))
            source = dense.out
        self.output = source
        # the arrays BLAS is bound to: a layer given new ones (not set_weights, which copies
        # into these) needs a new plan
        self.bound = [(dense.layer.params, dense.W, dense.b) for dense, _ in self.stages]
        self.cross_entropy = isinstance(model.loss, SoftmaxCrossEntropy)
        out = self.output
        self._row_max = np.empty((rows, 1), dtype)
        self._row_sum = np.empty((rows, 1), dtype)
        self._shifted = np.empty_like(out)

    def takes(self, model, optimizer, x, clip_norm: float | None, start: int) -> bool:
        """Whether this is the step the plan was built for: the same model layers, optimizer
        and parameter arrays, and an input of its shape and dtype, contiguous. Checked before
        anything else in train_step, so it does not look up the plan by key."""
        if optimizer is not self.optimizer or clip_norm is not None or start != 0:
            return False
        if type(x) is not np.ndarray or x.shape != self.shape or x.dtype != self.dtype:
            return False
        layers = model.layers
        if len(layers) != len(self.layers) or not x.flags.c_contiguous:
            return False
        for mine, theirs in zip(self.layers, layers):
            if mine is not theirs:
                return False
        return self.fits()

    def fits(self) -> bool:
        """Whether the layers still hold the parameter arrays this plan updates (train_step
        finds the plan by model layers, optimizer and batch shape)."""
        for params, W, b in self.bound:
            if params["W"] is not W or params["b"] is not b:
                return False
        return True

    def run(self, x: np.ndarray, y_onehot: np.ndarray) -> float:
        """The step; a NaN or infinite loss is returned with no update, as train_step does."""
        source = x
        for dense, activation in self.stages:
            dense.forward(source)
            if activation is not None:
                activation.forward()
            source = dense.out
        value = self._loss_and_gradient(y_onehot)
        if not math.isfinite(value):
            return value
        optimizer = self.optimizer
        optimizer.t += 1
        lr = optimizer.learning_rate
        for i in range(len(self.stages) - 1, -1, -1):
            dense, activation = self.stages[i]
            if activation is not None:
                activation.backward(dense.grad_out)
            if i == 0:
                dense.backward(x, _address(x), None, lr)
            else:
                below = self.stages[i - 1][0]
                dense.backward(below.out, dense._source_at, below.grad_out, lr)
        if optimizer.t % FLUSH_EVERY == 0:
            optimizer._flush_subnormals()
        return value

    def _loss_and_gradient(self, y_onehot: np.ndarray) -> float:
        """The loss of the output, with its gradient written into the last stage's grad_out:
        the operations of the loss's value_and_gradient."""
        out, grad = self.output, self.stages[-1][0].grad_out
        if y_onehot.shape != out.shape:
            raise ValueError(
                f"output {out.shape} and y_onehot {y_onehot.shape} must be equal (batch, classes)"
            )
        y = np.asarray(y_onehot, dtype=out.dtype)
        rows = out.shape[0]
        if not self.cross_entropy:
            np.subtract(out, y, out=grad)
            value = float(np.vdot(grad, grad) / (2 * rows))
            if rows > 1:
                grad /= rows
            return value
        shifted, row_max, row_sum = self._shifted, self._row_max, self._row_sum
        np.max(out, axis=1, keepdims=True, out=row_max)
        np.subtract(out, row_max, out=shifted)
        np.exp(shifted, out=grad)
        np.add.reduce(grad, axis=1, keepdims=True, out=row_sum)
        shifted -= np.log(row_sum)  # now log-probabilities
        shifted *= y
        value = float(-shifted.sum() / rows)
        grad /= row_sum
        grad -= y
        grad /= rows
        return value


def compile_step(model, optimizer, x: np.ndarray, clip_norm: float | None, start: int):
    """A StepPlan for this step, or None where the plan does not cover it (module docstring)."""
    if clip_norm is not None or start != 0 or routines() is None or x.ndim != 2:
        return None
    if type(optimizer) is not SGD or optimizer.nesterov or optimizer.weight_decay:
        return None
    loss = model.loss
    plain_ce = type(loss) is SoftmaxCrossEntropy and loss.label_smoothing == 0.0
    if not (plain_ce or type(loss) is MeanSquaredError):
        return None
    layers = model.layers
    if type(layers[0]) is not Dense or x.shape[1] != layers[0].fan_in:
        return None  # (the layers' path says what is wrong with x)
    for before, layer in zip(layers, layers[1:]):
        if type(layer) is Dense:
            continue
        if type(layer) not in ACTIVATIONS or type(before) is not Dense:
            return None
    held = {id(slot.param) for slot in optimizer.slots}
    params = [param for layer in layers for param in layer.params.values()]
    if len(held) != len(optimizer.slots) or {id(p) for p in params} != held:
        return None
    if any(p.dtype != x.dtype or not p.flags.c_contiguous for p in params):
        return None
    return StepPlan(model, optimizer, x.shape, x.dtype)
