"""The ``learned_optimizer`` run kind: a meta network learns how to update the base network's weights."""

from metalearn_core.kinds import RunKind
from metalearn_core.kinds.learned_optimizer import config

KIND = RunKind(
    name="learned_optimizer", label="Learned optimizer: the meta network trains the base network",
    run="metalearn_core.kinds.learned_optimizer.run:train_learned_optimizer", section="learned_optimizer",
    section_class=config.LearnedOptimizerConfig, uses=("base", "meta", "training", "learned_optimizer"),
    check=config.check, cli="metalearn_core.kinds.learned_optimizer.cli", model_file="optimizer.npz",
    x_axis="meta-iteration",
)
