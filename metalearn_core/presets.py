"""Named starting points for the layer editor and the command line.

The learned optimizer's own presets live with its kind
(:mod:`metalearn_core.kinds.learned_optimizer.presets`).
"""

from __future__ import annotations

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig, seed_network
from metalearn_core.kinds.learned_optimizer.presets import learned_optimizer_preset, optimizee_network

DEFAULT_PRESET = "dense"

# Why these values: the "dense" preset is the product's default. Two hidden layers of 384 and
# batches of 384 keep the matrix multiplies large enough for a 2-core CPU to run at about half its
# sgemm rate; Adam at 4e-3 decayed to zero on a cosine over 4 epochs then reaches 98.2% test
# accuracy in about a sixth of the seed recipe's time. Measured against 256 and 512 units, batches
# of 128 to 512 and XLA on and off (bench/bench_core.py measures the chosen one).
PRESETS: dict[str, tuple[str, NetworkConfig, TrainingConfig]] = {
    "seed": (
        "The seed's network: Flatten, Dense(128, relu), Dense(10, softmax), Adam, 10 epochs of batch 32",
        seed_network(),
        TrainingConfig(epochs=10, batch_size=32, learning_rate=1e-3, validation_split=0.2),
    ),
    "dense": (
        "A stronger dense network: two hidden layers of 384, large batches, cosine-decayed Adam",
        NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=384),
                       LayerConfig("dense", units=384))),
        TrainingConfig(epochs=4, batch_size=384, learning_rate=4e-3, lr_schedule="cosine",
                       validation_split=0.1),
    ),
    "learned-optimizer": (
        "Learned optimizer on the paper's problem (an MLP of 20 sigmoid units): a per-parameter MLP correcting Adam",
        optimizee_network(),
        TrainingConfig(epochs=1, batch_size=128, learning_rate=3e-3, validation_split=0.0),
    ),
    "learned-optimizer-lstm": (
        "Learned optimizer, the paper's recipe: a two-layer LSTM of 20 units (slower to meta-train here)",
        optimizee_network(),
        TrainingConfig(epochs=1, batch_size=128, learning_rate=3e-3, validation_split=0.0),
    ),
    "cnn": (
        "A small CNN: two conv/pool blocks (32 and 64 filters), dropout, as in the Keras example",
        NetworkConfig((LayerConfig("conv2d", filters=32, kernel_size=3), LayerConfig("max_pool"),
                       LayerConfig("conv2d", filters=64, kernel_size=3), LayerConfig("max_pool"),
                       LayerConfig("flatten"), LayerConfig("dropout", rate=0.5))),
        TrainingConfig(epochs=3, batch_size=128, learning_rate=1e-3, validation_split=0.1),
    ),
}


def preset_config(name: str, kind: str = "base") -> RunConfig:
    """A run config from a preset's network and training settings.

    Example:
        >>> preset_config("seed").training.batch_size
        32
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if name in ("learned-optimizer", "learned-optimizer-lstm"):
        return learned_optimizer_preset(paper_lstm=name.endswith("lstm"))
    _, network, training = PRESETS[name]
    return RunConfig(kind=kind, base=network, training=training)
