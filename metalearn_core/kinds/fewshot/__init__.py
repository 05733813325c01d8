"""The ``fewshot`` run kind: meta-learn on digits 0-4, adapt to digits 5-9 from a few examples."""

from metalearn_core.kinds import RunKind
from metalearn_core.kinds.fewshot import config, setup

KIND = RunKind(
    name="fewshot", label="Few-shot: learn new digits from a few examples",
    run="metalearn_core.kinds.fewshot.run:train_fewshot", section="fewshot", section_class=config.FewShotConfig,
    uses=("base", "fewshot"), check=setup.check_fewshot, describe=config.describe,
    cli="metalearn_core.kinds.fewshot.cli", x_axis="meta-iteration", main_series="meta-train", page="fewshot",
)
