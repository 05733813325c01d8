"""Few-shot settings that need no TensorFlow: algorithms, recommended values, learner networks, checks.

The Few-shot and Draw pages and the command line import this module; the heavy half (training,
adapting) is :mod:`metalearn_core.kinds.fewshot.run`, imported by the worker and where a model is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metalearn_core.config import ConfigError, LayerConfig, NetworkConfig, RunConfig
from metalearn_core.kinds.fewshot.algorithms.defaults import BUDGET_SECONDS, DEFAULTS
from metalearn_core.kinds.fewshot.config import FEWSHOT_ALGORITHMS

ALGORITHM_LABELS = {"protonet": "Prototypical Networks", "maml": "MAML", "fomaml": "First-order MAML",
                    "metasgd": "Meta-SGD", "reptile": "Reptile"}


class FewShotError(ValueError):
    """A few-shot model cannot be built, loaded or adapted; the message says why."""


# -- settings ----------------------------------------------------------------------------------

def recommended_settings(algorithm: str) -> dict[str, Any]:
    """The :class:`FewShotConfig` fields recommended for ``algorithm``, a fresh dict.

    They come from :data:`metalearn_core.kinds.fewshot.algorithms.defaults.DEFAULTS`, the settings measured by
    ``bench/bench_fewshot.py`` (which explains each value that differs from the paper): trained
    on 5-shot episodes for a 300-second budget, scored 1-shot and 5-shot.

    Example:
        >>> recommended_settings("maml")["inner_lr"]
        0.05
    """
    if algorithm not in FEWSHOT_ALGORITHMS:
        raise ConfigError(f"few-shot: unknown algorithm {algorithm!r}; choose one of "
                          f"{', '.join(FEWSHOT_ALGORITHMS)}")
    chosen = DEFAULTS[algorithm]
    fields: dict[str, Any] = {"shots": chosen.train_shots[0], "queries": chosen.train_queries,
                              "time_budget": BUDGET_SECONDS, "iterations": 100_000}
    if algorithm == "protonet":
        return {**fields, "train_ways": chosen.train_ways, "meta_learning_rate": chosen.learning_rate}
    fields.update(inner_lr=chosen.inner_lr, inner_steps=chosen.inner_steps, eval_inner_steps=chosen.eval_steps,
                  meta_batch_size=chosen.meta_batch_size)
    fields["meta_learning_rate"] = chosen.outer_lr if algorithm == "reptile" else chosen.meta_lr
    return fields


def fewshot_network(kind: str = "conv", filters: int = 32, blocks: int = 4,
                    hidden: Sequence[int] = (128, 64)) -> NetworkConfig:
    """A learner network the gradient-based methods can run functionally.

    ``conv``: ``blocks`` x (conv 3x3 ``filters`` -> batch norm -> max-pool 2x2), the 4-block network
    of Vinyals et al. 2016 and Finn et al. 2017 (64 filters there; 32 here for a 2-core CPU).
    ``dense``: flatten then dense relu layers of ``hidden`` units.

    Example:
        >>> len(fewshot_network("conv").layers)
        12
    """
    if kind == "conv":
        block = (LayerConfig("conv2d", filters=filters, kernel_size=3, padding="same", activation="relu"),
                 LayerConfig("batch_norm"), LayerConfig("max_pool", pool_size=2))
        return NetworkConfig(block * blocks)
    if kind == "dense":
        return NetworkConfig((LayerConfig("flatten"),
                              *(LayerConfig("dense", units=int(units)) for units in hidden)))
    raise ValueError(f"network kind must be 'conv' or 'dense', got {kind!r}")


def learner_shape(network: NetworkConfig) -> tuple:
    """What the functional network of MAML, Meta-SGD and Reptile needs: ``("conv", filters, blocks)``
    or ``("mlp", hidden_units)``.

    Their inner loop needs the network as a plain list of tensors, which the functional module
    supports for two shapes: conv blocks (conv 3x3 -> batch norm -> max-pool, equal filters, relu)
    and stacks of dense relu layers (after an optional flatten). Anything else raises ConfigError
    saying what to change; Prototypical Networks accept any network.
    """
    kinds = [layer.type for layer in network.layers]
    if kinds and kinds[-1] == "flatten" and "conv2d" in kinds:
        kinds, layers = kinds[:-1], network.layers[:-1]
    else:
        layers = network.layers
    if kinds and len(kinds) % 3 == 0 and kinds == ["conv2d", "batch_norm", "max_pool"] * (len(kinds) // 3):
        convs = layers[0::3]
        filters = {layer.filters for layer in convs}
        if len(filters) == 1 and all(layer.kernel_size == 3 and layer.activation == "relu" for layer in convs):
            return ("conv", filters.pop(), len(convs))
    dense = [layer for layer in layers if layer.type == "dense"]
    rest = [layer.type for layer in layers if layer.type not in ("dense", "flatten")]
    if dense and not rest and all(layer.activation == "relu" for layer in dense):
        return ("mlp", tuple(layer.units for layer in dense))
    raise ConfigError(
        "few-shot: MAML, first-order MAML, Meta-SGD and Reptile run the network as a list of "
        "tensors and support two shapes: conv blocks (conv2d 3x3 relu with equal filters -> batch "
        "norm -> max pool, repeated) or dense relu layers. Choose the 'Few-shot conv' or "
        "'Few-shot dense' preset, or Prototypical Networks, which take any network."
    )


def check_fewshot(config: RunConfig) -> None:
    """Raise ConfigError now (before a worker starts) if the learner cannot use the network."""
    if config.settings.algorithm != "protonet":
        learner_shape(config.base)


# -- teaching a meta-trained learner new examples (the Draw page) ------------------------------

MAX_EXAMPLES_PER_DIGIT = 5


def teach_support(examples: dict[int, list[np.ndarray]], max_ways: int | None = None) -> tuple[
        list[int], np.ndarray, np.ndarray]:
    """Support images and labels from drawn examples ``{digit: [28x28 images]}``.

    Digits become labels 0..n-1 in increasing order. Needs at least two digits with an example
    each, at most ``MAX_EXAMPLES_PER_DIGIT`` per digit and, for a learner with a fixed head, at
    most ``max_ways`` digits; otherwise FewShotError says what to change.

    Returns:
        (digits, support_x (n_s, 28, 28) float32, support_y (n_s,) int32)

    Example:
        >>> digits, x, y = teach_support({3: [np.zeros((28, 28))], 7: [np.ones((28, 28))] * 2})
        >>> digits, x.shape, y.tolist()
        ([3, 7], (3, 28, 28), [0, 1, 1])
    """
    taught = {int(d): list(images) for d, images in examples.items() if len(images)}
    if len(taught) < 2:
        raise FewShotError("draw at least one example of at least two different digits")
    if max_ways is not None and len(taught) > max_ways:
        raise FewShotError(f"this learner was meta-trained on {max_ways}-way tasks: teach it at most "
                           f"{max_ways} digits (you drew {len(taught)})")
    for digit, images in taught.items():
        if len(images) > MAX_EXAMPLES_PER_DIGIT:
            raise FewShotError(f"digit {digit} has {len(images)} examples; use at most {MAX_EXAMPLES_PER_DIGIT}")
    digits = sorted(taught)
    support_x = np.stack([np.asarray(image, np.float32) for d in digits for image in taught[d]])  # (n_s, 28, 28)
    support_y = np.concatenate([np.full(len(taught[d]), label, np.int32) for label, d in enumerate(digits)])
    return digits, support_x, support_y
