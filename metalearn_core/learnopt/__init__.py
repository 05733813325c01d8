"""A learned optimizer: Andrychowicz et al. 2016, "Learning to learn by gradient descent by gradient
descent" (arXiv:1606.04474), on the paper's MNIST problem.

* :mod:`~metalearn_core.learnopt.specs`: the three specs and the data split.
* :mod:`~metalearn_core.learnopt.rules`: the optimizee, hand-written update rules, the learned
  (coordinate-wise LSTM) rule and the one training step they share.
* :mod:`~metalearn_core.learnopt.training`: trajectories, meta-training, baseline tuning, evaluation.

Example:
    >>> from metalearn_core.learnopt import MetaTrainSpec, OptimizeeSpec, OptimizerNetSpec, meta_train
    >>> optimizer, history = meta_train(data, OptimizeeSpec(), OptimizerNetSpec(), MetaTrainSpec())  # doctest: +SKIP
"""

from metalearn_core.learnopt.rules import HandOptimizer as HandOptimizer
from metalearn_core.learnopt.rules import LearnedOptimizer as LearnedOptimizer
from metalearn_core.learnopt.rules import UpdateRule as UpdateRule
from metalearn_core.learnopt.rules import init_optimizee as init_optimizee
from metalearn_core.learnopt.rules import make_hand_optimizer as make_hand_optimizer
from metalearn_core.learnopt.rules import optimizee_loss as optimizee_loss
from metalearn_core.learnopt.rules import optimizee_step as optimizee_step
from metalearn_core.learnopt.rules import preprocess_gradients as preprocess_gradients
from metalearn_core.learnopt.specs import LearnOptData as LearnOptData
from metalearn_core.learnopt.specs import MetaTrainSpec as MetaTrainSpec
from metalearn_core.learnopt.specs import OptimizeeSpec as OptimizeeSpec
from metalearn_core.learnopt.specs import OptimizerNetSpec as OptimizerNetSpec
from metalearn_core.learnopt.training import EVAL_SEED_BASE as EVAL_SEED_BASE
from metalearn_core.learnopt.training import GENERALISATION_CHECKS as GENERALISATION_CHECKS
from metalearn_core.learnopt.training import batch_indices as batch_indices
from metalearn_core.learnopt.training import evaluate_optimizers as evaluate_optimizers
from metalearn_core.learnopt.training import meta_gradient as meta_gradient
from metalearn_core.learnopt.training import meta_train as meta_train
from metalearn_core.learnopt.training import run_learned_optimizer as run_learned_optimizer
from metalearn_core.learnopt.training import train_optimizee as train_optimizee
from metalearn_core.learnopt.training import tune_baselines as tune_baselines
from metalearn_core.learnopt.training import unroll_meta_loss as unroll_meta_loss

__all__ = [
    "EVAL_SEED_BASE", "GENERALISATION_CHECKS", "HandOptimizer", "LearnOptData", "LearnedOptimizer", "MetaTrainSpec",
    "OptimizeeSpec", "OptimizerNetSpec", "UpdateRule", "batch_indices", "evaluate_optimizers", "init_optimizee",
    "make_hand_optimizer", "meta_gradient", "meta_train", "optimizee_loss", "optimizee_step", "preprocess_gradients",
    "run_learned_optimizer", "train_optimizee", "tune_baselines", "unroll_meta_loss",
]
