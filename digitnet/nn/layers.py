"""Layers with explicit forward/backward: the Layer base, Dense and Dropout.

Every layer maps a batch (rows are samples) to a batch and keeps what its backward needs.
Activations live in activations.py; layer_types.py lists every layer a model file may name.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from digitnet.errors import ConfigError
from digitnet.nn.blas import GradientProduct
from digitnet.nn.init import initialize


class Layer:
    """Base layer: parameter-free unless a subclass fills `params` and `grads`.

    `params` and `grads` have the same keys and shapes; backward overwrites `grads` in place,
    so an optimizer holding these arrays sees the latest gradient (Dense may instead hand its
    weight gradient to the optimizer as a product: see Dense.backward). `buffers` holds
    state that is saved with the model but not trained (BatchNorm's running statistics).
    """

    decayed: ClassVar[frozenset[str]] = frozenset()  # param names weight decay applies to
    # fixed preprocessing: no parameters, the same output in training and inference, each
    # sample's output independent of its batch; such layers may run once over a dataset
    fixed: ClassVar[bool] = False

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    def _no_forward_yet(self) -> RuntimeError:
        """The error for a backward before any forward: nothing kept to differentiate."""
        return RuntimeError(
            f"{type(self).__name__}.backward needs a forward first (forward keeps what "
            "backward needs)"
        )

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray | None:
        """Overwrite self.grads for the last forward; return dLoss/dx.

        need_input_grad=False (asked of the first layer with parameters while training, where
        no one reads dLoss/dx): a layer with parameters returns None without computing it.
        Every built-in layer takes the keyword; parameter-free ones compute dLoss/dx anyway,
        and a parameter-free layer of your own may take grad_out alone (it is never asked).
        """
        raise NotImplementedError

    def spec(self) -> dict:
        """JSON-able description without weights, e.g. {"type": "ReLU"}."""
        return {"type": type(self).__name__}

    @classmethod
    def from_spec(
        cls, fields: dict, *, rng: np.random.Generator, dtype: type[np.floating] = np.float32
    ) -> Layer:
        """Build from the spec's fields (everything but "type"); parameter-free by default."""
        return cls(**fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.spec().items() if k != "type")
        return f"{type(self).__name__}({fields})"


class Dense(Layer):
    """Affine map z = x @ W + b.  x: (batch, fan_in) -> z: (batch, fan_out).

    W: (fan_in, fan_out) drawn by the named initialiser, b: (fan_out,) zeros; both in `dtype`.
    """

    decayed = frozenset({"W"})
    _x: np.ndarray | None = None  # the input of the last forward: all backward needs

    def __init__(
        self,
        fan_in: int,
        fan_out: int,
        *,
        init: str = "he_normal",
        rng: np.random.Generator,
        dtype: type[np.floating] = np.float32,
    ) -> None:
        super().__init__()
        for name, size in (("fan_in", fan_in), ("fan_out", fan_out)):
            if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
                raise ConfigError(f"Dense {name} must be a positive integer, got {size!r}")
        self.fan_in, self.fan_out, self.init = int(fan_in), int(fan_out), init
        W = initialize(init, (self.fan_in, self.fan_out), rng).astype(dtype)
        self.params = {"W": W, "b": np.zeros(self.fan_out, dtype)}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.fan_in:
            raise ValueError(f"{self!r} takes (batch, {self.fan_in}) inputs, got {x.shape}")
        self._x = x
        z = x @ self.params["W"]
        z += self.params["b"]  # in place: no second (batch, fan_out) array
        return z

    def backward(
        self,
        grad_z: np.ndarray,
        *,
        need_input_grad: bool = True,
        products: list[GradientProduct] | None = None,
    ) -> np.ndarray | None:
        """Overwrite grads["W"] = x.T @ grad_z, grads["b"] = sum of grad_z rows; return dLoss/dx
        (None when need_input_grad is False: skips the (batch, fan_in) product).

        Given a `products` list (a training step whose optimizer folds products into its
        update), grads["W"] is not written: its product is appended there instead."""
        if self._x is None:
            raise self._no_forward_yet()
        product = GradientProduct(self.grads["W"], self._x, grad_z)
        if products is not None:
            products.append(product)
        else:
            product.compute()  # into the array the optimizer holds
        np.add.reduce(grad_z, axis=0, out=self.grads["b"])  # np.sum's wrapper: ~2 µs a call
        return grad_z @ self.params["W"].T if need_input_grad else None

    def spec(self) -> dict:
        return {"type": "Dense", "fan_in": self.fan_in, "fan_out": self.fan_out, "init": self.init}

    @classmethod
    def from_spec(
        cls, fields: dict, *, rng: np.random.Generator, dtype: type[np.floating] = np.float32
    ) -> Dense:
        return cls(**fields, rng=rng, dtype=dtype)

    def __repr__(self) -> str:
        return f"Dense({self.fan_in}→{self.fan_out})"


class Dropout(Layer):
    """Inverted dropout: while training, zero each input with probability `rate` and scale the
    survivors by 1/(1 − rate); identity at inference. Any shape in, same shape out.

    `mask` holds the last training mask (0 or 1/(1 − rate), input dtype). Set `fixed_mask`
    (a boolean keep-array of the input shape) to make forward deterministic, e.g. for
    gradient checks. Raises ConfigError unless 0 <= rate < 1.
    """

    def __init__(self, rate: float, *, rng: np.random.Generator) -> None:
        super().__init__()
        if not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ConfigError(f"dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = rng
        self.mask: np.ndarray | None = None
        self.fixed_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        if self.fixed_mask is not None:
            keep = self.fixed_mask
        else:
            keep = self.rng.random(x.shape, dtype=x.dtype) >= self.rate
        self.mask = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray:
        return grad_out if self.mask is None else grad_out * self.mask

    def spec(self) -> dict:
        return {"type": "Dropout", "rate": self.rate}

    @classmethod
    def from_spec(
        cls, fields: dict, *, rng: np.random.Generator, dtype: type[np.floating] = np.float32
    ) -> Dropout:
        # a child stream: drawing masks never changes the weights `rng` initialises
        return cls(**fields, rng=rng.spawn(1)[0])

    def __repr__(self) -> str:
        return f"Dropout({self.rate:g})"
