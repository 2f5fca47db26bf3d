"""Sequential: a stack of layers and a loss; named parameters, prediction, one training step,
spec/weights for model files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from digitnet.errors import ConfigError, ModelFileError
from digitnet.nn import fused
from digitnet.nn.blas import one_thread
from digitnet.nn.conv import Conv2D
from digitnet.nn.fused import Stage
from digitnet.nn.layer_types import layers_from_specs
from digitnet.nn.layers import Layer
from digitnet.nn.losses import Loss, loss_from_name
from digitnet.nn.optim import Optimizer, Slot, clip_grad_norm
from digitnet.nn.step_plan import StepPlan, compile_step

ONE_THREAD_BATCH = 8  # inference on at most this many images runs BLAS on one thread


class Sequential:
    """layers applied in order; `loss` turns the last output into a loss, gradient, probabilities.

    Parameters are named "<layer index>.<param>" ("0.W", "0.b", "2.W"): the names used by the
    optimizer, the model file and the tests alike.
    """

    def __init__(self, layers: list[Layer], loss: Loss) -> None:
        self.layers = list(layers)
        self.loss = loss
        # Calibration (digitnet/evaluation/calibration.py): probabilities are
        # softmax(outputs / temperature) at inference, and a top probability below
        # min_confidence is "unsure". Training never reads them: argmax is unchanged.
        self.temperature = 1.0
        self.min_confidence = 0.0
        self._checked_param: int | None = None  # see _check_optimizer
        self._step_plans: dict[tuple, StepPlan | None] = {}  # see _step_plan
        self._last_plan: StepPlan | None = None
        if not self.layers:
            raise ConfigError("a network needs at least one layer")
        strangers = [layer for layer in self.layers if not isinstance(layer, Layer)]
        if strangers:
            stranger = strangers[0]
            if isinstance(stranger, type) and issubclass(stranger, Layer):
                name = stranger.__name__
                raise ConfigError(f"{name} is a layer class: give a layer, e.g. {name}()")
            raise ConfigError(f"layers must be digitnet.nn layers, got {stranger!r}")
        if not isinstance(loss, Loss):
            raise ConfigError(
                f"loss must be a Loss such as SoftmaxCrossEntropy(), got {loss!r} "
                "(loss_from_name turns a name into one)"
            )
        learned = self.layers[self.fixed_prefix :]
        misplaced = [type(layer).__name__ for layer in learned if layer.fixed]
        if misplaced:
            raise ConfigError(f"{misplaced[0]} is fixed preprocessing: it must come first")

    def named_params(self) -> list[Slot]:
        """Slots sharing the layers' arrays, in layer order then param order; same every call."""
        return [
            Slot(f"{i}.{name}", param, layer.grads[name], name in layer.decayed)
            for i, layer in enumerate(self.layers)
            for name, param in layer.params.items()
        ]

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return sum(param.size for layer in self.layers for param in layer.params.values())

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype (float32 for a network without parameters)."""
        for layer in self.layers:
            for param in layer.params.values():
                return param.dtype
        return np.dtype(np.float32)

    def forward(self, x: np.ndarray, *, training: bool = False, start: int = 0) -> np.ndarray:
        """x: (batch, ...) cast to the model dtype -> network output (logits for cross_entropy).

        start > 0 skips the first layers, which must be fixed preprocessing (fixed_prefix):
        x is what they already made of the raw input.
        """
        self._check_start(start)
        if training or len(x) > ONE_THREAD_BATCH:
            return self._forward_through(self.layers[start:], x, training=training)
        with one_thread():  # a few images: too little work to share between BLAS threads
            return self._forward_through(self.layers[start:], x, training=training)

    def _check_start(self, start: int) -> None:
        """ValueError unless 0 <= start <= fixed_prefix."""
        if not 0 <= start <= self.fixed_prefix:
            raise ValueError(f"start {start} would skip more than the fixed preprocessing layers")

    def _forward_through(self, stages, x: np.ndarray, *, training: bool) -> np.ndarray:
        """x cast to the model dtype, then through each stage's forward in turn."""
        x = np.ascontiguousarray(x, dtype=self.dtype)
        for stage in stages:
            x = stage.forward(x, training=training)
        return x

    def training_stages(self, start: int = 0) -> list[Stage]:
        """What train_step runs from layer `start` on: the layers, with the fusions of
        nn/fused.py where they apply (the same function and gradients from fewer passes)."""
        self._check_start(start)
        return fused.training_stages(self.layers[start:])

    @property
    def fixed_prefix(self) -> int:
        """How many leading layers are fixed preprocessing (Layer.fixed), e.g. 1 for Deskew."""
        count = 0
        while count < len(self.layers) and self.layers[count].fixed:
            count += 1
        return count

    @property
    def input_layout(self) -> str:
        """How the network takes its inputs: "image" (n, 1, 28, 28) when its first layer after
        any fixed preprocessing is a convolution (Deskew takes either), else "flat" (n, 784)."""
        learning = self.layers[self.fixed_prefix :]
        first = learning[0].spec()["type"] if learning else "Dense"
        return "image" if first == "Conv2D" else "flat"

    def preprocess(self, x: np.ndarray) -> np.ndarray:
        """x through the fixed_prefix layers, in inference chunks: train on the result with
        train_step(..., start=fixed_prefix) instead of redoing them every batch."""
        count = self.fixed_prefix
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if count == 0 or len(x) == 0:
            return x
        out = None  # allocated once the first chunk shows the output shape: no concatenation
        for start in range(0, len(x), self.inference_chunk):
            part = x[start : start + self.inference_chunk]
            for layer in self.layers[:count]:
                part = layer.forward(part)
            if out is None:
                out = np.empty((len(x), *part.shape[1:]), part.dtype)
            out[start : start + len(part)] = part
        return out

    def backward(self, grad_out: np.ndarray, *, need_input_grad: bool = True) -> np.ndarray | None:
        """Back-propagate dLoss/doutput through every layer (filling grads); return dLoss/dx.

        need_input_grad=False (training): stop at the first layer with parameters, asking it
        not to compute its input gradient, and return None.
        """
        if need_input_grad:
            for layer in reversed(self.layers):
                grad_out = layer.backward(grad_out)
            return grad_out
        fused.backward_to_first_learned(self.layers, grad_out)
        return None

    @property
    def inference_chunk(self) -> int:
        """Samples per chunk at inference: convolutions unfold every patch of every image
        (im2col), so a CNN works through 256 images at a time to keep memory bounded; MLPs
        through 2048 (chunks of 1024 to 10,000 measured alike, benchmarks/inference.py)."""
        has_conv = any(isinstance(layer, Conv2D) for layer in self.layers)
        return 256 if has_conv else 2048

    def outputs(
        self, x: np.ndarray, *, start: int = 0, batch_size: int | None = None
    ) -> np.ndarray:
        """(n, classes) network outputs (logits for cross-entropy) at inference (no dropout), in
        chunks of batch_size (default inference_chunk); start as in forward."""
        chunk = batch_size or self.inference_chunk
        if len(x) <= chunk:  # one chunk (a single image, say): no list, no concatenation
            return self.forward(x, start=start)
        parts = [self.forward(x[i : i + chunk], start=start) for i in range(0, len(x), chunk)]
        return np.concatenate(parts)

    def predict_proba(self, x: np.ndarray, *, batch_size: int | None = None) -> np.ndarray:
        """(n, classes) class probabilities at inference (no dropout), in chunks of batch_size."""
        return self.calibrated_probabilities(self.outputs(x, batch_size=batch_size))

    def calibrated_probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """(n, classes) probabilities from (n, classes) outputs, divided by the temperature."""
        if self.temperature == 1.0:
            return self.loss.probabilities(outputs)
        return self.loss.probabilities(outputs / np.asarray(self.temperature, outputs.dtype))

    def predict(self, x: np.ndarray, *, batch_size: int | None = None) -> np.ndarray:
        """(n,) int64 predicted classes."""
        return self.predict_proba(x, batch_size=batch_size).argmax(axis=1).astype(np.int64)

    def loss_value(
        self, x: np.ndarray, y_onehot: np.ndarray, *, batch_size: int | None = None
    ) -> float:
        """Mean loss over all n samples at inference (no dropout)."""
        return self.loss.value(self.outputs(x, batch_size=batch_size), y_onehot)

    def train_step(
        self,
        x: np.ndarray,
        y_onehot: np.ndarray,
        optimizer: Optimizer,
        *,
        clip_norm: float | None = None,
        start: int = 0,
    ) -> float:
        """forward (training) → loss → backward → optional clip → optimizer.step(); return the loss.

        With an optimizer that folds products (SGD with momentum) and no clipping, Dense
        layers leave their weight gradients as products that the update consumes (docs/math.md):
        their grads["W"] are then not written; Sequential.backward always writes them.

        Runs training_stages(start): the same function and gradients as the layers one by
        one, with a fused first convolution and BatchNorm where that applies.

        The loss is that of the batch before the update; a NaN or infinite loss is returned
        with no backward and no update: the parameters stay as they were (a BatchNorm's running
        statistics have moved in the forward). start: as in forward (x
        already went through the first `start` layers, fixed preprocessing). ValueError for an
        empty batch or integer inputs (raw 0-255 pixels), ConfigError for an optimizer that
        holds another model's parameters. y_onehot's rows are target probabilities (one-hot);
        only their shape is checked, since checking their values would cost every step.
        """
        plan = self._last_plan  # the common case first: the same step as the last one
        if plan is not None and plan.takes(self, optimizer, x, clip_norm, start):
            return plan.run(x, y_onehot)
        if len(x) == 0:
            raise ValueError("train_step needs at least one sample; the batch is empty")
        x_dtype = np.asarray(x).dtype
        if x_dtype.kind != "f":
            raise ValueError(
                f"train_step takes float inputs (pixels in 0-1: to_inputs), got {x_dtype}"
            )
        self._check_optimizer(optimizer)
        x = np.ascontiguousarray(x, dtype=self.dtype)
        plan = self._last_plan = self._step_plan(optimizer, x, clip_norm, start)
        if plan is not None:
            return plan.run(x, y_onehot)
        stages = self.training_stages(start)
        output = self._forward_through(stages, x, training=True)
        value, grad_out = self.loss.value_and_gradient(output, y_onehot)
        if not math.isfinite(value):
            return value
        products = fused.gradient_products(optimizer, clip_norm)
        fused.backward_to_first_learned(stages, grad_out, products)
        if clip_norm is not None:
            clip_grad_norm(self.named_params(), clip_norm)
        optimizer.step(products or ())
        return value

    def _step_plan(
        self, optimizer: Optimizer, x: np.ndarray, clip_norm: float | None, start: int
    ) -> StepPlan | None:
        """The compiled step (nn/step_plan.py) for these layers, optimizer and batch shape,
        built at its first step and kept; None where it does not cover the step."""
        key = (tuple(map(id, self.layers)), id(optimizer), x.shape, clip_norm, start)
        plans = self._step_plans
        if key in plans:
            plan = plans[key]
            if plan is None or plan.fits():
                return plan
        if len(plans) >= 8:  # shapes come and go (an epoch's last, smaller batch)
            plans.clear()
        plan = plans[key] = compile_step(self, optimizer, x, clip_norm, start)
        return plan

    def __getstate__(self) -> dict:
        """For copy and pickle: without the compiled steps, whose BLAS calls are bound to
        this model's own arrays."""
        return {**self.__dict__, "_step_plans": {}, "_last_plan": None}

    def _check_optimizer(self, optimizer: Optimizer) -> None:
        """ConfigError unless the optimizer's first slot is one of this model's parameters
        (an optimizer built on another model's named_params() would move that model)."""
        if not optimizer.slots:
            return
        first = optimizer.slots[0].param
        if id(first) == getattr(self, "_checked_param", None):  # one of this model's live arrays
            return
        if not any(first is param for layer in self.layers for param in layer.params.values()):
            raise ConfigError(
                "the optimizer holds another model's parameters: build it from this model's "
                "named_params()"
            )
        self._checked_param = id(first)

    def spec(self) -> dict:
        """JSON-able architecture: {"layers": [layer.spec(), ...], "loss": loss.spec()}."""
        return {"layers": [layer.spec() for layer in self.layers], "loss": self.loss.spec()}

    @classmethod
    def from_spec(
        cls,
        spec: dict,
        *,
        rng: np.random.Generator,
        dtype: type[np.floating] = np.float32,
        custom_layers: Sequence[type[Layer]] = (),
    ) -> Sequential:
        """Rebuild from spec(), initialising weights from rng; ConfigError for a bad spec.
        custom_layers: Layer classes of your own that the spec names (layers_from_specs)."""
        if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
            raise ConfigError("a model spec needs a 'layers' list")
        loss_spec = spec.get("loss")
        if not isinstance(loss_spec, dict) or "name" not in loss_spec:
            raise ConfigError("a model spec needs a 'loss' dict with a 'name'")
        layers = layers_from_specs(
            spec["layers"], rng=rng, dtype=dtype, custom_layers=custom_layers
        )
        loss_kwargs = {k: v for k, v in loss_spec.items() if k != "name"}
        return cls(layers, loss_from_name(loss_spec["name"], **loss_kwargs))

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every parameter by name: {"0.W": (784, 16) array, ...}."""
        return {slot.name: slot.param.copy() for slot in self.named_params()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Copy weights into the existing arrays (cast to the model dtype), all or nothing.

        Raises ModelFileError naming the key for a missing, unexpected or wrongly shaped entry.
        """
        _copy_into("weights", {slot.name: slot.param for slot in self.named_params()}, weights)

    def named_buffers(self) -> dict[str, np.ndarray]:
        """The layers' buffers by "<layer index>.<buffer>" name ("1.running_mean"): the arrays
        themselves, in layer order; same every call."""
        return {
            f"{i}.{name}": buffer
            for i, layer in enumerate(self.layers)
            for name, buffer in layer.buffers.items()
        }

    def get_buffers(self) -> dict[str, np.ndarray]:
        """Copies of every buffer (untrained state such as running statistics) by name."""
        return {name: buffer.copy() for name, buffer in self.named_buffers().items()}

    def set_buffers(self, buffers: dict[str, np.ndarray]) -> None:
        """Copy buffers into the existing arrays, all or nothing; ModelFileError as set_weights."""
        _copy_into("buffers", self.named_buffers(), buffers)

    def get_state(self) -> dict[str, np.ndarray]:
        """Weights and buffers together (their names never collide): a full snapshot."""
        return {**self.get_weights(), **self.get_buffers()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore a get_state() snapshot; ModelFileError as set_weights."""
        buffer_names = self.named_buffers().keys()
        self.set_weights({k: v for k, v in state.items() if k not in buffer_names})
        self.set_buffers({k: v for k, v in state.items() if k in buffer_names})

    def __repr__(self) -> str:
        layers = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential({layers}, loss={self.loss!r}, params={self.n_params:,})"


def _copy_into(kind: str, targets: dict[str, np.ndarray], given: dict[str, np.ndarray]) -> None:
    """Copy given[name] into each targets[name] in place (optimizer slots stay valid), after
    checking every name and shape: ModelFileError naming the first bad key, nothing copied."""
    for name, target in targets.items():
        if name not in given:
            raise ModelFileError(f"{kind}: missing {name!r}")
        if np.shape(given[name]) != target.shape:
            raise ModelFileError(
                f"{kind} {name!r}: expected shape {target.shape}, found {np.shape(given[name])}"
            )
    for name in given:
        if name not in targets:
            raise ModelFileError(f"{kind}: unexpected {name!r}")
    for name, target in targets.items():
        target[...] = given[name]
