"""The few-shot run's diagram: the embedding of Prototypical Networks, or the functional network of
MAML, first-order MAML, Meta-SGD and Reptile (see :mod:`metalearn_core.models.diagram` for the parts).

Example:
    >>> diagram(fewshot_network("dense"), NetworkConfig(()), {"algorithm": "maml", "ways": 3}).chains[0].title
    'Learner network'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from metalearn_core.config import ConfigError, NetworkConfig
from metalearn_core.kinds.fewshot.config import FewShotConfig
from metalearn_core.kinds.fewshot.setup import learner_shape
from metalearn_core.models.diagram import (
    IMAGE,
    Box,
    Chain,
    Diagram,
    Shape,
    classifier_head,
    flatten_head,
    layer_box,
    network_chain,
)

GRADIENT_ALGORITHMS = ("maml", "fomaml", "metasgd", "reptile")  # those with a head of one unit per class


def _functional_conv(network: NetworkConfig) -> list[Box]:
    """The functional conv network: conv 3×3 SAME without bias, batch norm (scale and offset only,
    batch statistics), relu, 2×2 max-pool SAME (rounding up), as ``functional.forward`` runs it."""
    shape: Shape = (*IMAGE, 1)
    boxes = [Box("add_channel", "Add a channel", shape, implicit=True, note="added: 28×28×1")]
    for index, layer in enumerate(network.layers):
        name, (height, width, channels) = f"{layer.type}_{index + 1}", shape
        if layer.type == "conv2d":
            shape = (height, width, layer.filters)
            box = Box(name, f"Conv2D({layer.filters}, 3x3)", shape, trainable=9 * channels * layer.filters,
                      note="no bias: batch norm subtracts the mean right after")
        elif layer.type == "batch_norm":
            box = Box(name, "BatchNorm + relu", shape, trainable=2 * channels,
                      note="scale and offset per channel; statistics of each batch, no running averages")
        elif layer.type == "max_pool":
            shape = (math.ceil(height / 2), math.ceil(width / 2), channels)
            box = Box(name, "MaxPool(2x2)", shape, note="no weights; padding 'same' rounds the side up")
        else:  # the trailing flatten learner_shape allows
            shape = (math.prod(shape),)
            box = Box(name, "Flatten", shape)
        boxes.append(box)
    return boxes + flatten_head(shape)


def _functional_mlp(network: NetworkConfig) -> list[Box]:
    shape: Shape = (math.prod(IMAGE),)
    boxes = [] if network.layers[0].type == "flatten" else [Box("flatten_head", "Flatten", shape, implicit=True)]
    for index, layer in enumerate(network.layers):
        box = layer_box(layer, index, shape)
        boxes.append(box)
        shape = box.shape
    return boxes


def fewshot_diagram(network: NetworkConfig, algorithm: str = "protonet", ways: int = 5) -> Diagram:
    """The few-shot learner: the embedding of Prototypical Networks (no output layer), or the
    functional network of MAML, first-order MAML, Meta-SGD and Reptile with a ``ways``-unit head.

    Example:
        >>> from metalearn_core.kinds.fewshot.setup import fewshot_network
        >>> fewshot_diagram(fewshot_network("conv"), "maml", ways=5).chains[0].boxes[-2].shape
        (5,)
    """
    if algorithm not in GRADIENT_ALGORITHMS:
        chain = network_chain(network, head=False, title="Learner network (embedding)")
        features = chain.boxes[-1].shape[0] if chain.output_shape else 0
        note = (f"No output layer: a query image gets the label of the nearest class mean of these {features:,} "
                "features." if features else "")
        return Diagram((chain,), note=note)
    title = "Learner network"
    try:
        form = learner_shape(network)[0]
        boxes = _functional_conv(network) if form == "conv" else _functional_mlp(network)
    except ConfigError as error:
        return Diagram((Chain(title, "28×28 image", problem=str(error)),))
    boxes += classifier_head(boxes[-1].shape, ways, what=f"one unit per class of a {ways}-way task")
    chain = Chain(title, "28×28 image", tuple(boxes))
    note = ""
    if algorithm == "metasgd":
        note = (f"Meta-SGD also meta-learns a learning rate for each of these {chain.params:,} weights: "
                f"{2 * chain.params:,} numbers in all.")
    return Diagram((chain,), note=note)


def diagram(base: NetworkConfig, meta: NetworkConfig, settings: Mapping[str, Any]) -> Diagram:
    """The ``RunKind.diagram`` hook: :func:`fewshot_diagram` of the learner network (``base``; a
    few-shot run has no meta network) with the algorithm and ways of ``settings``, the section's
    fields as the Few-shot page gathers them (a missing one takes its default)."""
    defaults = FewShotConfig()
    return fewshot_diagram(base, str(settings.get("algorithm", defaults.algorithm)),
                           int(settings.get("ways", defaults.ways)))
