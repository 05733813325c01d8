"""The ``transfer`` run kind: carry a finished base run to the other domain, against training from scratch."""

from metalearn_core.kinds.kind import RunKind
from metalearn_core.kinds.transfer import cli, config


def train(config, data, reporter, folder):
    """Fine-tune the source run on the other domain beside a network from scratch (imports TensorFlow)."""
    from metalearn_core.kinds.transfer.run import train_transfer  # heavy: TensorFlow

    return train_transfer(config, data, reporter, folder)


def read_results(folder):
    """Its saved results, read back (pandas and plotly load with its tables and figures)."""
    from metalearn_core.kinds.transfer.results import read_results  # heavy: pandas, plotly

    return read_results(folder)


KIND = RunKind(
    name="transfer", results_file="transfer.json", label="Transfer a base run to the other domain", run=train, section="transfer",
    section_class=config.TransferConfig, uses=("base", "training", "transfer"), check=config.check,
    describe=config.describe, cli=cli, results=read_results, x_axis="examples per class", main_series="all",
    page="transfer",
)
