"""The ``base`` run kind: train the base network f_θ on MNIST, evaluate it on the test set."""

from metalearn_core.kinds.base import cli, config, diagram, results, sweep
from metalearn_core.kinds.kind import RunKind


def train(config, data, reporter, folder):
    """Train the base network (imports TensorFlow)."""
    from metalearn_core.kinds.base.run import train_base  # heavy: TensorFlow

    return train_base(config, data, reporter, folder)


def load_predictor(folder, config):
    """The saved ``model.keras`` as a Predictor (imports Keras)."""
    from metalearn_core.kinds.base.predictor import load_predictor  # heavy: Keras

    return load_predictor(folder, config)


KIND = RunKind(
    name="base", results_file="evaluation.json", label="Base network only", run=train, uses=("base", "training"), check=config.check,
    describe=config.describe, cli=cli, predictor=load_predictor, results=results.read_results,
    model_file="model.keras", accepts_learned_optimizer=True, diagram=diagram.diagram, sweep=sweep.SWEEP,
)
