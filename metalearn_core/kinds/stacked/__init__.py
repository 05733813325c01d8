"""The ``stacked`` run kind: a meta network on the base learners' outputs, m_φ(f_θ(x))."""

from metalearn_core.kinds.kind import RunKind
from metalearn_core.kinds.stacked import cli, config, diagram, results


def train(config, data, reporter, folder):
    """Train the base learners, then the meta network on their outputs (imports TensorFlow)."""
    from metalearn_core.kinds.stacked.run import train_stacked  # heavy: TensorFlow

    return train_stacked(config, data, reporter, folder)


def load_predictor(folder, config):
    """The saved learners and meta network as one Predictor (imports Keras)."""
    from metalearn_core.kinds.stacked.predictor import load_predictor  # heavy: Keras

    return load_predictor(folder, config)


KIND = RunKind(
    name="stacked", results_file="evaluation.json", label="Stacked: meta network on base outputs", run=train,
    section="stacking", section_class=config.StackingConfig, uses=("base", "meta", "training", "stacking"),
    describe=config.describe, series_plan=config.series_plan, flatten_settings=config.flatten, cli=cli,
    predictor=load_predictor, results=results.read_results, model_file="meta.keras", main_series="meta",
    meta_reads_base_outputs=True, diagram=diagram.diagram,
)
