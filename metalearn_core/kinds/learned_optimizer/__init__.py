"""The ``learned_optimizer`` run kind: a meta network learns how to update the base network's weights."""

from metalearn_core.kinds.kind import RunKind
from metalearn_core.kinds.learned_optimizer import cli, config, diagram


def load_run():
    """Its entry, ``(config, data, reporter, folder) -> RunResult``: meta-train the optimizer and test it against hand-written ones."""
    from metalearn_core.kinds.learned_optimizer.run import train_learned_optimizer  # heavy: TensorFlow

    return train_learned_optimizer


def read_results(folder):
    """Its saved results, read back (pandas and plotly load with its tables and figures)."""
    from metalearn_core.kinds.learned_optimizer.results import read_results  # heavy: pandas, plotly

    return read_results(folder)


KIND = RunKind(
    name="learned_optimizer", label="Learned optimizer: the meta network trains the base network",
    load_run=load_run, section="learned_optimizer", section_class=config.LearnedOptimizerConfig,
    uses=("base", "meta", "training", "learned_optimizer"), check=config.check, cli=cli, results=read_results,
    results_file="learned_optimizer.json", model_file="optimizer.npz", diagram=diagram.diagram,
    x_axis="meta-iteration",
)
