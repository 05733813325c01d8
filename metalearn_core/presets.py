"""Named starting points for the layer editor and the command line."""

from __future__ import annotations

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig, seed_network
from metalearn_core.kinds.learned_optimizer.config import LearnedOptimizerConfig

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
        NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=20, activation="sigmoid"))),
        TrainingConfig(epochs=1, batch_size=128, learning_rate=3e-3, validation_split=0.0),
    ),
    "learned-optimizer-lstm": (
        "Learned optimizer, the paper's recipe: a two-layer LSTM of 20 units (slower to meta-train here)",
        NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=20, activation="sigmoid"))),
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


def optimizee_network(hidden: tuple[int, ...] = (20,), activation: str = "sigmoid") -> NetworkConfig:
    """A base network a learned optimizer can train; the paper's is one layer of 20 sigmoid units."""
    return NetworkConfig((LayerConfig("flatten"), *(LayerConfig("dense", units=u, activation=activation)
                                                    for u in hidden)))


# Meta-training budgets in trajectories, so the same seed gives the same optimizer on any machine; each fits
# in 10 minutes of these 2 cores when they are quiet (bench/bench_learned_optimizer.py reports the wall time).
LEARNED_OPTIMIZER_TRAJECTORIES = 600
LSTM_TRAJECTORIES = 200  # the paper's LSTM is about 3 times slower per trajectory


def learned_optimizer_preset(iterations: int | None = None, paper_lstm: bool = False,
                             budget_seconds: float = 1800.0) -> RunConfig:
    """The paper's MNIST problem (Andrychowicz et al. 2016, section 3.2) as a run config.

    The optimizer is this project's default, a per-parameter MLP of 32 units correcting a nominal Adam
    step (:meth:`metalearn_core.kinds.learned_optimizer.specs.OptimizerNetSpec.nominal`), meta-trained for
    ``iterations`` trajectories, unless ``paper_lstm`` asks for the paper's two-layer LSTM of 20 units.
    ``budget_seconds`` is only a wall-clock safety cap.
    """
    if paper_lstm:
        meta = NetworkConfig((LayerConfig("lstm", units=20), LayerConfig("lstm", units=20)))
        settings = LearnedOptimizerConfig(iterations=iterations or LSTM_TRAJECTORIES, budget_seconds=budget_seconds,
                                          momentum_inputs=False, output_scale=0.1, method="backprop")
    else:
        meta = NetworkConfig((LayerConfig("dense", units=32),))
        settings = LearnedOptimizerConfig(iterations=iterations or LEARNED_OPTIMIZER_TRAJECTORIES,
                                          budget_seconds=budget_seconds, design="nominal", method="es")
    name = "learned optimizer (paper's LSTM)" if paper_lstm else "learned optimizer"
    return RunConfig(kind="learned_optimizer", name=name, base=optimizee_network(), meta=meta,
                     learned_optimizer=settings)
