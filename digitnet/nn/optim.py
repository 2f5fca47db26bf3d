"""Optimizers over named parameter slots: SGD (momentum, Nesterov), Adam, AdamW; gradient clipping.

An optimizer never sees layers: it holds `Slot`s (a parameter array and its gradient array) and
updates each parameter in place, so the layer that owns it sees the new weights. Per-slot state
is kept by position and saved under "<state>.<slot name>" keys.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digitnet.errors import ConfigError, ModelFileError
from digitnet.nn.blas import BoundAxpy, GradientProduct, axpy


@dataclass
class Slot:
    """One parameter and its gradient (same shape, same dtype); `decay`: weight decay applies."""

    name: str
    param: np.ndarray
    grad: np.ndarray
    decay: bool


def _checked_hyperparameter(name: str, value: float, low: float, high: float = math.inf) -> float:
    """`value` as a float if low <= value < high, else ConfigError."""
    if not isinstance(value, (int, float)) or not low <= value < high:
        raise ConfigError(f"{name} must be in [{low}, {high}), got {value!r}")
    return float(value)


FLUSH_EVERY = 32  # steps between flushes of subnormal state values (each one pass per array)
FLUSH_BLOCK = 1 << 16  # values flushed at a time: bounds the flush's temporary arrays


class Optimizer:
    """Base: keeps slots, the learning rate (set by the trainer each step) and the step count t."""

    state_names: tuple[str, ...] = ()  # per-slot state arrays, e.g. ("m", "v")

    def __init__(self, slots: Sequence[Slot], learning_rate: float, weight_decay: float) -> None:
        self.slots = list(slots)
        names = [slot.name for slot in self.slots]
        if len(set(names)) != len(names):
            raise ConfigError(f"slot names must be unique, got {names}")
        self.learning_rate = _checked_hyperparameter("learning_rate", learning_rate, 0.0)
        self.weight_decay = _checked_hyperparameter("weight_decay", weight_decay, 0.0)
        self.t = 0
        self.state = {
            key: [np.zeros_like(slot.param) for slot in self.slots] for key in self.state_names
        }

    @property
    def folds_products(self) -> bool:
        """Whether this optimizer updates from a weight gradient left as a product without
        forming it (SGD with momentum; docs/math.md): train_step leaves products only then."""
        return False

    def step(self, products: Sequence[GradientProduct] = ()) -> None:
        """Update every slot.param in place from slot.grad; t counts the steps taken.

        products: weight gradients a layer left as products (blas.GradientProduct), each
        naming its slot by the slot's grad array; folded into the update where the optimizer
        can, computed into grad first where not. A product for an array no slot holds (a
        frozen layer) is computed into that array, as backward would have done.
        """
        self.t += 1
        if not products:
            for i, slot in enumerate(self.slots):
                self._update(i, slot)
            if self.t % FLUSH_EVERY == 0:
                self._flush_subnormals()
            return
        pending = {id(product.grad): product for product in products}
        for i, slot in enumerate(self.slots):
            product = pending.pop(id(slot.grad), None)
            if product is None:
                self._update(i, slot)
            elif self.folds_products:
                self._update_from_product(i, slot, product)
            else:
                product.compute()
                self._update(i, slot)
        for product in pending.values():
            product.compute()
        if self.t % FLUSH_EVERY == 0:
            self._flush_subnormals()

    def _flush_subnormals(self) -> None:
        """Zero the state values too small for a normal float, as a processor's flush-to-zero
        mode would. Decaying terms (momentum·velocity, β1·m) of weights whose gradient stays 0
        for a while (pixels near the border) pass through the subnormal range for ~150 steps
        on their way to 0, and x86 processors take ~100 cycles per operation on a subnormal:
        2,600 of them added 80 µs to a GEMM pass over 784-800-10's velocity (which holds
        5,000 after five epochs). Such a value moves no weight (lr·1e-38 is far below a
        weight's resolution). Works through blocks of rows, so its temporaries stay small."""
        for arrays in self.state.values():
            for array in arrays:
                tiny = np.finfo(array.dtype).tiny
                rows = max(1, FLUSH_BLOCK * len(array) // max(array.size, 1))
                for start in range(0, len(array), rows):
                    block = array[start : start + rows]
                    np.copyto(block, 0, where=np.abs(block) < tiny)

    def _update(self, i: int, slot: Slot) -> None:
        raise NotImplementedError

    def _update_from_product(self, i: int, slot: Slot, product: GradientProduct) -> None:
        """The update with slot.grad given as a product, never formed (if folds_products)."""
        raise NotImplementedError

    def _coupled_grad(self, slot: Slot) -> np.ndarray:
        """L2 penalty folded into the gradient: grad + weight_decay · param for decay slots."""
        if slot.decay and self.weight_decay:
            return slot.grad + self.weight_decay * slot.param
        return slot.grad

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the state: "t" (0-d int64) and "<state>.<slot name>" arrays."""
        state = {"t": np.array(self.t, dtype=np.int64)}
        for key, arrays in self.state.items():
            for slot, array in zip(self.slots, arrays, strict=True):
                state[f"{key}.{slot.name}"] = array.copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore state_dict() output; ModelFileError on missing/unexpected keys or bad shapes."""
        expected = self.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            raise ModelFileError(
                f"{type(self).__name__} state: missing keys {missing}, unexpected keys {unexpected}"
            )
        for key, array in state.items():
            if np.shape(array) != expected[key].shape:
                raise ModelFileError(
                    f"{type(self).__name__} state {key!r}: expected shape "
                    f"{expected[key].shape}, found {np.shape(array)}"
                )
        self.t = int(state["t"])
        for key, arrays in self.state.items():
            for slot, array in zip(self.slots, arrays, strict=True):
                array[...] = state[f"{key}.{slot.name}"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum, as torch.optim.SGD.

    g = grad + weight_decay·param (decay slots); velocity = momentum·velocity + g;
    param −= learning_rate · (g + momentum·velocity if nesterov else velocity).
    Without momentum: param −= learning_rate · g.
    """

    def __init__(
        self,
        slots: Sequence[Slot],
        learning_rate: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.momentum = _checked_hyperparameter("momentum", momentum, 0.0, 1.0)
        if nesterov and self.momentum == 0.0:
            raise ConfigError("nesterov needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.state_names = ("velocity",) if self.momentum else ()
        super().__init__(slots, learning_rate, weight_decay)
        # param -= lr·(velocity or grad), for the slots without weight decay: bound once
        sources = self.state["velocity"] if self.momentum else [s.grad for s in self.slots]
        self._descend = [
            None if slot.decay and self.weight_decay else BoundAxpy(source, slot.param)
            for slot, source in zip(self.slots, sources, strict=True)
        ]

    def _update(self, i: int, slot: Slot) -> None:
        grad = self._coupled_grad(slot)
        descend = self._descend[i]
        if not self.momentum:
            if descend is None:
                axpy(-self.learning_rate, grad, slot.param)
            else:
                descend(-self.learning_rate)
            return
        velocity = self.state["velocity"][i]
        velocity *= self.momentum
        velocity += grad
        if self.nesterov:
            slot.param -= self.learning_rate * (grad + self.momentum * velocity)
        elif descend is None:
            axpy(-self.learning_rate, velocity, slot.param)
        else:
            descend(-self.learning_rate)

    @property
    def folds_products(self) -> bool:
        """With momentum, not Nesterov (which reads grad twice). Without momentum the product
        would accumulate into the weights themselves, block by block of the batch: a full
        batch of 60,000 adds ~200 partial sums, each rounded to the weights' precision. (For
        one sample, GER could add it with one rounding; forming it first keeps the seed
        presets' per-sample runs, whose float32 trajectories any rounding change moves,
        bit for bit as they were.)"""
        return bool(self.momentum) and not self.nesterov

    def _update_from_product(self, i: int, slot: Slot, product: GradientProduct) -> None:
        """The same update with grad = product, one BLAS pass over the weights for it: GEMM's
        C = α·AᵀB + β·C takes momentum as β (GER, after scaling, for one sample)."""
        decay = self.weight_decay if slot.decay else 0.0
        velocity = self.state["velocity"][i]
        product.into(velocity, 1.0, self.momentum)  # velocity = momentum·velocity + grad
        if decay:
            axpy(decay, slot.param, velocity)
        axpy(-self.learning_rate, velocity, slot.param)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with L2 weight decay coupled into the gradient, as torch.optim.Adam.

    g = grad + weight_decay·param (decay slots); m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
    param −= learning_rate · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + eps).
    """

    state_names = ("m", "v")
    decoupled = False

    def __init__(
        self,
        slots: Sequence[Slot],
        learning_rate: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.beta1 = _checked_hyperparameter("beta1", beta1, 0.0, 1.0)
        self.beta2 = _checked_hyperparameter("beta2", beta2, 0.0, 1.0)
        self.eps = _checked_hyperparameter("eps", eps, 0.0)
        if self.eps == 0.0:
            raise ConfigError("eps must be > 0")
        super().__init__(slots, learning_rate, weight_decay)
        self._work = [np.empty_like(slot.param) for slot in self.slots]

    def _update(self, i: int, slot: Slot) -> None:
        if self.decoupled:
            grad = slot.grad
            if slot.decay and self.weight_decay:
                slot.param *= 1.0 - self.learning_rate * self.weight_decay
        else:
            grad = self._coupled_grad(slot)
        m, v = self.state["m"][i], self.state["v"][i]
        work = self._work[i]  # one scratch array per slot: no temporaries in the step
        m *= self.beta1
        axpy(1.0 - self.beta1, grad, m)
        v *= self.beta2
        np.multiply(grad, grad, out=work)
        axpy(1.0 - self.beta2, work, v)
        # lr·m̂/(√v̂ + eps) with m̂ = m/c1, v̂ = v/c2 is (lr·√c2/c1)·m/(√v + eps·√c2)
        root_c2 = math.sqrt(1.0 - self.beta2**self.t)
        np.sqrt(v, out=work)
        work += self.eps * root_c2
        np.divide(m, work, out=work)
        axpy(-self.learning_rate * root_c2 / (1.0 - self.beta1**self.t), work, slot.param)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.

    First param −= learning_rate · weight_decay · param (decay slots), then the Adam step on grad.
    """

    decoupled = True

    def __init__(
        self,
        slots: Sequence[Slot],
        learning_rate: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(slots, learning_rate, beta1, beta2, eps, weight_decay)


OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")


def optimizer_from_name(name: str, slots: Sequence[Slot], **kwargs: float) -> Optimizer:
    """Build an optimizer by name (see OPTIMIZERS); "momentum"/"nesterov" default momentum to 0.9.

    Raises ConfigError for an unknown name, unknown options or bad values.
    """
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if name in ("momentum", "nesterov"):
        kwargs = {"momentum": 0.9, **kwargs, "nesterov": name == "nesterov"}
    cls = {"adam": Adam, "adamw": AdamW}.get(name, SGD)
    try:
        return cls(slots, **kwargs)
    except TypeError as error:
        raise ConfigError(f"bad options for optimizer {name!r}: {error}") from None


def clip_grad_norm(slots: Sequence[Slot], max_norm: float) -> float:
    """Scale all gradients in place so their global L2 norm is at most max_norm.

    Returns the norm before clipping (nan/inf norms are returned and nothing is scaled).
    Raises ConfigError unless max_norm > 0.
    """
    if not isinstance(max_norm, (int, float)) or not max_norm > 0:
        raise ConfigError(f"max_norm must be > 0, got {max_norm!r}")
    total = math.sqrt(sum(float(np.vdot(slot.grad, slot.grad)) for slot in slots))
    if math.isfinite(total) and total > max_norm:
        scale = max_norm / total
        for slot in slots:
            slot.grad *= scale
    return total
