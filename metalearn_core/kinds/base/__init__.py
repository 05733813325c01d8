"""The ``base`` run kind: train the base network f_θ on MNIST, evaluate it on the test set."""

from metalearn_core.kinds import RunKind
from metalearn_core.kinds.base import config

KIND = RunKind(
    name="base", label="Base network only", run="metalearn_core.kinds.base.run:train_base",
    uses=("base", "training"), check=config.check, describe=config.describe,
    cli="metalearn_core.kinds.base.cli", predictor="metalearn_core.kinds.base.report:load_predictor",
    model_file="model.keras", accepts_learned_optimizer=True,
)
