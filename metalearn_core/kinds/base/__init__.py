"""The ``base`` run kind: train the base network f_θ on MNIST, evaluate it on the test set."""

from metalearn_core.kinds.base import cli, config, diagram, results, sweep
from metalearn_core.kinds.kind import RunKind


def load_run():
    """Its entry, ``(config, data, reporter, folder) -> RunResult``: train the base network."""
    from metalearn_core.kinds.base.run import train_base  # heavy: TensorFlow

    return train_base


def load_predictor(folder, config):
    """The saved ``model.keras`` as a Predictor (imports Keras)."""
    from metalearn_core.kinds.base.predictor import load_predictor  # heavy: Keras

    return load_predictor(folder, config)


KIND = RunKind(
    name="base", label="Base network only", load_run=load_run, uses=("base", "training"), check=config.check,
    describe=config.describe, cli=cli, predictor=load_predictor, results=results.read_results,
    results_file="evaluation.json", model_file="model.keras", diagram=diagram.diagram, sweep=sweep.SWEEP,
    accepts_learned_optimizer=True,
)
