"""The learned optimizer of Andrychowicz et al. 2016 (arXiv:1606.04474) under the name the app imports.

The code lives in :mod:`metalearn_core.learnopt` (one module per concern); this module re-exports its
public names so ``from metalearn_core.learned_optimizer import meta_train`` works.

Example:
    >>> from metalearn_core.learned_optimizer import OptimizeeSpec
    >>> OptimizeeSpec().steps
    100
"""

from metalearn_core.learnopt import *  # noqa: F403
from metalearn_core.learnopt import __all__ as __all__  # noqa: F401
