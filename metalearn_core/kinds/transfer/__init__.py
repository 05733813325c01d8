"""The ``transfer`` run kind: carry a finished base run to the other domain, against training from scratch."""

from metalearn_core.kinds.kind import RunKind
from metalearn_core.kinds.transfer import cli, config


def load_run():
    """Its entry, ``(config, data, reporter, folder) -> RunResult``: fine-tune the source run on the other domain beside a network from scratch."""
    from metalearn_core.kinds.transfer.run import train_transfer  # heavy: TensorFlow

    return train_transfer


def read_results(folder):
    """Its saved results, read back (pandas and plotly load with its tables and figures)."""
    from metalearn_core.kinds.transfer.results import read_results  # heavy: pandas, plotly

    return read_results(folder)


KIND = RunKind(
    name="transfer", label="Transfer a base run to the other domain", load_run=load_run, section="transfer",
    section_class=config.TransferConfig, uses=("base", "training", "transfer"), check=config.check,
    describe=config.describe, cli=cli, results=read_results, results_file="transfer.json",
    x_axis="examples per class", main_series="all", page="transfer",
)
