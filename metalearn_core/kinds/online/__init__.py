"""The ``online`` run kind: learners meet a stream one small batch at a time, scored prequentially."""

from metalearn_core.kinds.kind import RunKind
from metalearn_core.kinds.online import cli, config, results


def load_run():
    """Its entry, ``(config, data, reporter, folder) -> RunResult``: run every learner over the stream."""
    from metalearn_core.kinds.online.run import train_online  # heavy: TensorFlow

    return train_online


KIND = RunKind(
    name="online", label="Online: learn from a stream", load_run=load_run, section="online",
    section_class=config.OnlineConfig, uses=("online",), check=config.check, describe=config.describe,
    cli=cli, results=results.read_results, results_file="online.json", x_axis="examples seen",
    main_series="adam", page="online",
)
