"""The learned optimizer's starting points: the paper's MNIST problem as a run config.

The general presets (:mod:`metalearn_core.presets`) offer these as ``learned-optimizer`` and
``learned-optimizer-lstm``.

Example:
    >>> learned_optimizer_preset().settings.iterations == LEARNED_OPTIMIZER_TRAJECTORIES
    True
    >>> [layer.units for layer in optimizee_network((20, 20)).layers[1:]]
    [20, 20]
"""

from __future__ import annotations

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig
from metalearn_core.kinds.learned_optimizer.config import LearnedOptimizerConfig

# Meta-training budgets in trajectories, so the same seed gives the same optimizer on any machine; each fits
# in 10 minutes of these 2 cores when they are quiet (bench/bench_learned_optimizer.py reports the wall time).
LEARNED_OPTIMIZER_TRAJECTORIES = 600
LSTM_TRAJECTORIES = 200  # the paper's LSTM is about 3 times slower per trajectory


def optimizee_network(hidden: tuple[int, ...] = (20,), activation: str = "sigmoid") -> NetworkConfig:
    """A base network a learned optimizer can train; the paper's is one layer of 20 sigmoid units."""
    return NetworkConfig((LayerConfig("flatten"), *(LayerConfig("dense", units=u, activation=activation)
                                                    for u in hidden)))


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
        settings = LearnedOptimizerConfig(iterations=iterations or LSTM_TRAJECTORIES,
                                          budget_seconds=budget_seconds, momentum_inputs=False,
                                          output_scale=0.1, method="backprop")
    else:
        meta = NetworkConfig((LayerConfig("dense", units=32),))
        settings = LearnedOptimizerConfig(iterations=iterations or LEARNED_OPTIMIZER_TRAJECTORIES,
                                          budget_seconds=budget_seconds, design="nominal", method="es")
    name = "learned optimizer (paper's LSTM)" if paper_lstm else "learned optimizer"
    return RunConfig(kind="learned_optimizer", name=name, base=optimizee_network(), meta=meta,
                     settings=settings)
