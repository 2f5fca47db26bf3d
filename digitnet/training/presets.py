"""Named recipes: every seed network under the seed's own setup, and the modern presets.

A seed preset keeps the seed's architecture, data budget and iteration budget; its
`reported` field quotes what the seed says it reached, and `targets` are those figures as
numbers, so `digitnet reproduce` and benchmarks/ can check that digitnet matches or beats them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from digitnet.errors import ConfigError
from digitnet.training.config import ModelConfig, TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    model: ModelConfig
    train: TrainConfig
    seed: str | None = None  # which seed description it reproduces ("000" ... "004")
    reported: str = ""  # the seed's own figure, in its words
    targets: dict[str, float] = field(default_factory=dict)  # e.g. {"test_accuracy": 0.91}

    @property
    def architecture(self) -> str:
        """e.g. "784-16-16-10 sigmoid" """
        model = self.model
        if model.kind == "cnn":
            k = model.kernel_size
            dense = "-".join(str(s) for s in (*model.hidden, 10))
            channels = "-".join(map(str, model.conv_channels))
            pooling = f"{model.padding} padding, pool every {model.pool_every}"
            return f"CNN {k}x{k} conv {channels} ({pooling}), dense {dense}"
        sizes = "-".join(str(s) for s in (784, *model.hidden, 10))
        return f"{sizes} {model.activation}" + (", deskewed" if model.deskew else "")


_FULL_BATCH_GD = dict(optimizer="sgd", batch_size=0, validation=0, log_every=50)

# LeNet-like: conv 5x5 32 - pool - conv 5x5 64 - pool - dense 128 (BatchNorm after each conv)
_CNN = ModelConfig(
    kind="cnn",
    conv_channels=(32, 64),
    kernel_size=5,
    pool_every=1,
    padding="valid",
    hidden=(128,),
    activation="relu",
    init="he_normal",
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "seed000",
            "784-16-16-10, sigmoid everywhere, quadratic cost, per-sample gradient descent",
            ModelConfig(hidden=(16, 16), activation="sigmoid", output="sigmoid", init="uniform"),
            TrainConfig(
                optimizer="sgd",
                learning_rate=0.9,
                batch_size=1,
                iterations=59_999,
                validation=0,
                log_every=1000,
            ),
            seed="000",
            reported="no accuracy reported (prints the cost every 1000 iterations)",
        ),
        Preset(
            "seed001",
            "784-10-10, ReLU hidden, softmax output, full-batch gradient descent",
            ModelConfig(hidden=(10,), activation="relu", init="uniform"),
            TrainConfig(**_FULL_BATCH_GD, learning_rate=0.10, iterations=500),
            seed="001",
            reported="no accuracy reported (same network as seed 003)",
        ),
        Preset(
            "seed002",
            "784-1000-10, tanh hidden, softmax output, 1000 training and 350 test images",
            ModelConfig(hidden=(1000,), activation="tanh", init="scaled_normal"),
            TrainConfig(
                **_FULL_BATCH_GD,
                learning_rate=0.10,
                iterations=500,
                train_limit=1000,
                test_limit=350,
            ),
            seed="002",
            reported="95.3% train, 84.57% test",
            targets={"train_accuracy": 0.953, "test_accuracy": 0.8457},
        ),
        Preset(
            "seed003",
            "784-10-10, ReLU hidden, softmax output, full-batch gradient descent, lr 0.10",
            ModelConfig(hidden=(10,), activation="relu", init="uniform"),
            TrainConfig(**_FULL_BATCH_GD, learning_rate=0.10, iterations=500),
            seed="003",
            reported="83% training accuracy after 500 iterations",
            targets={"train_accuracy": 0.83},
        ),
        Preset(
            "seed004",
            "784-25-15-10, ReLU hidden, softmax output, 1500 epochs of full-batch descent",
            ModelConfig(hidden=(25, 15), activation="relu", init="he_normal"),
            TrainConfig(**_FULL_BATCH_GD, learning_rate=0.5, epochs=1500),
            seed="004",
            reported="91% test accuracy after 1500 epochs",
            targets={"test_accuracy": 0.91},
        ),
        Preset(
            "mlp",
            "the default: deskewed 784-512-256-10 ReLU, Adam with cosine decay, about a minute",
            ModelConfig(hidden=(512, 256), activation="relu", deskew=True),
            TrainConfig(
                optimizer="adam",
                learning_rate=2e-3,
                batch_size=128,
                epochs=10,
                schedule="cosine",
                warmup_steps=200,
            ),
            targets={"test_accuracy": 0.983},
        ),
        Preset(
            "mlp-large",
            "deskewed 784-1024-1024-10 ReLU, input and hidden dropout, AdamW, label smoothing",
            ModelConfig(
                hidden=(1024, 1024),
                deskew=True,
                activation="relu",
                input_dropout=0.2,
                dropout=0.4,
                label_smoothing=0.1,
            ),
            TrainConfig(
                optimizer="adamw",
                learning_rate=1e-3,
                weight_decay=0.02,
                batch_size=128,
                epochs=40,
                schedule="cosine",
                warmup_steps=500,
                validation=0,  # all 60,000 images: the best an MLP can do needs every one
            ),
            targets={"test_accuracy": 0.987},
        ),
        Preset(
            "mlp-augment",
            "784-1024-1024-10 ReLU, dropout, elastic distortions (LeCun's table: 0.7% error)",
            ModelConfig(hidden=(1024, 1024), activation="relu", dropout=0.2, label_smoothing=0.05),
            TrainConfig(
                optimizer="adamw",
                learning_rate=1e-3,
                weight_decay=0.01,
                batch_size=128,
                epochs=50,
                schedule="cosine",
                warmup_steps=500,
                augment="elastic",
            ),
            targets={"test_accuracy": 0.99},
        ),
        Preset(
            "cnn",
            "LeNet-like: conv 5x5 32 - pool - conv 5x5 64 - pool - dense 128, BatchNorm, shifts",
            _CNN,
            TrainConfig(
                optimizer="adam",
                learning_rate=2e-3,
                batch_size=128,
                epochs=9,
                schedule="cosine",
                warmup_steps=200,
                augment="shift",
            ),
            targets={"test_accuracy": 0.993},
        ),
        Preset(
            "cnn-best",
            "the cnn network with dense 256 and dropout, shifts + rotations + scaling, 30 epochs",
            dataclasses.replace(_CNN, hidden=(256,), dropout=0.25),
            TrainConfig(
                optimizer="adam",
                learning_rate=2e-3,
                batch_size=128,
                epochs=30,
                schedule="cosine",
                warmup_steps=300,
                augment="affine",
            ),
            targets={"test_accuracy": 0.995},
        ),
    ]
}

DEFAULT_PRESET = "mlp"


def get_preset(name: str) -> Preset:
    """The preset called `name`; ConfigError listing the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}") from None


def best_recipe(preset: Preset) -> Preset:
    """The same layer sizes and hidden activation trained our best way: softmax cross-entropy,
    a fitting initialiser, Adam with warm-up and cosine decay, minibatches. Data limits stay."""
    model = dataclasses.replace(
        preset.model,
        output="softmax",
        init="he_normal" if preset.model.activation in ("relu", "leaky_relu") else "xavier_normal",
    )
    small_data = preset.train.train_limit is not None and preset.train.train_limit <= 5000
    train = TrainConfig(
        optimizer="adam",
        learning_rate=2e-3,
        batch_size=64 if small_data else 128,
        epochs=100 if small_data else 20,
        schedule="cosine",
        warmup_steps=100,
        validation=0,
        train_limit=preset.train.train_limit,
        test_limit=preset.train.test_limit,
    )
    return dataclasses.replace(preset, name=f"{preset.name}+best", model=model, train=train)
