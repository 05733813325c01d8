"""Meta-SGD (Li, Zhou, Chen & Li, "Meta-SGD: Learning to Learn Quickly for Few-Shot Learning",
2017, arXiv:1707.09835).

Meta-SGD is MAML with the scalar inner step size replaced by a learned tensor ``alpha`` of the
same shape as the parameters: ``theta' = theta - alpha * grad L_support(theta)`` (element-wise).
``alpha`` is meta-learned jointly with the initialisation ``theta`` by the same meta-gradient, so
it learns both a per-parameter step size and, through its sign, an update direction.

The only difference from :class:`~metalearn_core.kinds.fewshot.algorithms.maml.MAML` is what is passed to
:func:`~metalearn_core.kinds.fewshot.algorithms.functional.inner_step` as ``learning_rates`` and which variables
the meta-optimizer updates; everything else is inherited.

Example:
    >>> from metalearn_core.kinds.fewshot.algorithms.functional import NetworkSpec
    >>> learner = MetaSGD(NetworkSpec.conv(filters=16), ways=5, inner_lr=0.4)
    >>> len(learner.trainable_variables) == 2 * len(learner.params)
    True
    >>> metrics = learner.meta_train_step(sample_batch(4))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from metalearn_core.kinds.fewshot.algorithms.functional import NetworkSpec
from metalearn_core.kinds.fewshot.algorithms.maml import MAML


class MetaSGD(MAML):
    """Meta-SGD: MAML plus meta-learned per-parameter learning rates.

    Takes the same arguments as :class:`MAML`; ``inner_lr`` is the value every learning rate
    starts at. (The paper draws initial rates uniformly from [0.005, 0.1]; a constant start makes
    Meta-SGD at iteration 0 identical to MAML, which is easier to compare in a dashboard.)

    Attributes:
        rates: one ``tf.Variable`` per parameter tensor, with its shape.
    """

    name = "metasgd"

    def __init__(self, spec: NetworkSpec | Sequence[int], ways: int, **kwargs) -> None:
        super().__init__(spec, ways, **kwargs)
        self.rates = [
            tf.Variable(
                tf.fill(p.shape, tf.constant(self.inner_lr, self.dtype)), name=f"lr_{p.name.split(':')[0]}"
            )
            for p in self.params
        ]

    @property
    def learning_rates(self) -> list[tf.Variable]:
        """What :func:`inner_step` gets: one learned rate tensor per parameter."""
        return self.rates

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """The initialisation, then the learning rates."""
        return [*self.params, *self.rates]
