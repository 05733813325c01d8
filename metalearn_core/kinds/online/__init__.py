"""The ``online`` run kind: learners meet a stream one small batch at a time, scored prequentially."""

from metalearn_core.kinds import RunKind
from metalearn_core.kinds.online import config

KIND = RunKind(
    name="online", label="Online: learn from a stream", run="metalearn_core.kinds.online.run:train_online",
    section="online", section_class=config.OnlineConfig, uses=("online",), check=config.check,
    describe=config.describe, cli="metalearn_core.kinds.online.cli", x_axis="examples seen",
    main_series="adam", page="online",
)
