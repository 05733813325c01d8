"""The ``stacked`` run kind: a meta network on the base learners' outputs, m_φ(f_θ(x))."""

from metalearn_core.kinds import RunKind
from metalearn_core.kinds.stacked import config

KIND = RunKind(
    name="stacked", label="Stacked: meta network on base outputs", run="metalearn_core.kinds.stacked.run:train_stacked",
    section="stacking", section_class=config.StackingConfig, uses=("base", "meta", "training", "stacking"),
    describe=config.describe, series_plan=config.series_plan, cli="metalearn_core.kinds.stacked.cli",
    predictor="metalearn_core.kinds.stacked.report:load_predictor", model_file="meta.keras", main_series="meta",
    meta_reads_base_outputs=True,
)
