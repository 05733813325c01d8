"""The ``transfer`` run kind: carry a finished base run to the other domain, against training from scratch."""

from metalearn_core.kinds import RunKind
from metalearn_core.kinds.transfer import config

KIND = RunKind(
    name="transfer", label="Transfer a base run to the other domain",
    run="metalearn_core.kinds.transfer.run:train_transfer", section="transfer", section_class=config.TransferConfig,
    uses=("base", "training", "transfer"), check=config.check, describe=config.describe,
    cli="metalearn_core.kinds.transfer.cli", x_axis="examples per class", main_series="all",
    page="transfer",
)
