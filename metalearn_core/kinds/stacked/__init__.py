"""The ``stacked`` run kind: a meta network on the base learners' outputs, m_φ(f_θ(x))."""

from metalearn_core.kinds.kind import RunKind
from metalearn_core.kinds.stacked import cli, config, diagram, results


def load_run():
    """Its entry, ``(config, data, reporter, folder) -> RunResult``: train the base learners, then the meta network on their outputs."""
    from metalearn_core.kinds.stacked.run import train_stacked  # heavy: TensorFlow

    return train_stacked


def load_predictor(folder, config):
    """The saved learners and meta network as one Predictor (imports Keras)."""
    from metalearn_core.kinds.stacked.predictor import load_predictor  # heavy: Keras

    return load_predictor(folder, config)


KIND = RunKind(
    name="stacked", label="Stacked: meta network on base outputs", load_run=load_run, section="stacking",
    section_class=config.StackingConfig, uses=("base", "meta", "training", "stacking"),
    describe=config.describe, series_plan=config.series_plan, flatten_settings=config.flatten, cli=cli,
    predictor=load_predictor, results=results.read_results, results_file="evaluation.json",
    model_file="meta.keras", diagram=diagram.diagram, main_series="meta", meta_reads_base_outputs=True,
)
