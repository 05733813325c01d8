"""The ``fewshot`` run kind: meta-learn on digits 0-4, adapt to digits 5-9 from a few examples."""

from metalearn_core.kinds.fewshot import cli, config, diagram, setup, sweep
from metalearn_core.kinds.kind import RunKind


def load_run():
    """Its entry, ``(config, data, reporter, folder) -> RunResult``: meta-train and evaluate the few-shot learner."""
    from metalearn_core.kinds.fewshot.run import train_fewshot  # heavy: TensorFlow

    return train_fewshot


def read_results(folder):
    """Its saved results, read back (pandas and plotly load with its tables and figures)."""
    from metalearn_core.kinds.fewshot.results import read_results  # heavy: pandas, plotly

    return read_results(folder)


KIND = RunKind(
    name="fewshot", label="Few-shot: learn new digits from a few examples", load_run=load_run,
    section="fewshot", section_class=config.FewShotConfig, uses=("base", "fewshot"),
    check=setup.check_fewshot, describe=config.describe, cli=cli, results=read_results,
    results_file="fewshot.json", diagram=diagram.diagram, sweep=sweep.SWEEP, x_axis="meta-iteration",
    main_series="meta-train", page="fewshot",
)
