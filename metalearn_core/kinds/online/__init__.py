"""The ``online`` run kind: learners meet a stream one small batch at a time, scored prequentially."""

from metalearn_core.kinds.kind import RunKind
from metalearn_core.kinds.online import cli, config, results


def train(config, data, reporter, folder):
    """Run every learner over the stream (imports TensorFlow)."""
    from metalearn_core.kinds.online.run import train_online  # heavy: TensorFlow

    return train_online(config, data, reporter, folder)


KIND = RunKind(
    name="online", results_file="online.json", label="Online: learn from a stream", run=train, section="online",
    section_class=config.OnlineConfig, uses=("online",), check=config.check, describe=config.describe,
    cli=cli, results=results.read_results, x_axis="examples seen", main_series="adam", page="online",
)
