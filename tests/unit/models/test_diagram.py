"""The diagram's shapes and parameter counts, worked out without TensorFlow, against the real builders:
the shared parts (:mod:`metalearn_core.models.diagram`), each kind's diagram and the pages' path to it."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from busy_machine import scaled

from dashboard.diagram import of_kind
from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig
from metalearn_core.kinds.fewshot.diagram import fewshot_diagram
from metalearn_core.kinds.fewshot.setup import fewshot_network
from metalearn_core.kinds.learned_optimizer.diagram import learned_optimizer_diagram
from metalearn_core.kinds.stacked.config import LearnerConfig
from metalearn_core.kinds.stacked.diagram import learner_width, stacked_diagram
from metalearn_core.models.diagram import network_chain

flatten = LayerConfig("flatten")


def dense(units: int, **fields) -> LayerConfig:
    return LayerConfig("dense", units=units, **fields)


def conv(filters: int, kernel: int = 3, padding: str = "valid") -> LayerConfig:
    return LayerConfig("conv2d", filters=filters, kernel_size=kernel, padding=padding)


def pool(size: int = 2) -> LayerConfig:
    return LayerConfig("max_pool", pool_size=size)


NETWORKS = {
    "empty": (),
    "seed": (flatten, dense(128)),
    "dense stack with batch norm and dropout": (flatten, dense(64, activation="tanh"), LayerConfig("batch_norm"),
                                                LayerConfig("dropout", rate=0.3), dense(17)),
    "conv same": (conv(8, 3, "same"), pool(), flatten, dense(20)),
    "conv valid, no flatten": (conv(6, 5), LayerConfig("batch_norm"), pool(3), LayerConfig("dropout"),
                               conv(4, 3, "same")),
    "three pools": (conv(4, 3, "same"), pool(), conv(4, 3, "same"), pool(), pool()),
    "kernel as large as the image": (conv(3, 28), flatten),
    "dense on the image rows (Keras allows it, the config does not)": (dense(12),),
    "the few-shot conv network": fewshot_network("conv", filters=8).layers,
}


def keras_facts(model) -> dict[str, tuple]:
    """Each named layer's (output shape without the batch axis, stored weights, trainable weights)."""
    return {layer.name: (tuple(layer.output.shape[1:]), layer.count_params(),
                         sum(math.prod(w.shape) for w in layer.trainable_weights)) for layer in model.layers}


def diagram_facts(chain) -> dict[str, tuple]:
    return {box.name: (box.shape, box.params, box.trainable) for box in chain.boxes}


@pytest.mark.parametrize("classes", [10, 5])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_shapes_and_counts_match_keras_build_network(name, classes):
    from metalearn_core.models.networks import build_network

    network = NetworkConfig(NETWORKS[name])
    model = build_network(network, num_classes=classes)
    chain = network_chain(network, classes=classes)
    expected = {name: facts for name, facts in keras_facts(model).items() if name != "inputs"}
    assert diagram_facts(chain) == expected
    assert chain.params == model.count_params()
    assert chain.trainable == sum(math.prod(w.shape) for w in model.trainable_weights)


def test_batch_norm_counts_four_numbers_per_channel_two_of_them_trained():
    chain = network_chain(NetworkConfig((conv(8, 3, "same"), LayerConfig("batch_norm"), flatten)))
    norm = next(box for box in chain.boxes if box.name == "batch_norm_2")
    assert (norm.trainable, norm.frozen) == (16, 16)
    assert chain.frozen == 16


@pytest.mark.parametrize("layers", [(dense(16), LayerConfig("dropout"), LayerConfig("batch_norm"), dense(8)), ()])
def test_a_network_on_a_vector_matches_keras(layers):
    from metalearn_core.models.networks import build_network

    network = NetworkConfig(layers)
    model = build_network(network, input_shape=(30,))
    chain = network_chain(network, input_shape=(30,))
    assert diagram_facts(chain) == {k: v for k, v in keras_facts(model).items() if k != "inputs"}
    assert not chain.problem


@pytest.mark.parametrize("name", ["seed", "conv valid, no flatten", "empty"])
def test_the_embedding_matches_protonets_keras_embedding(name):
    from metalearn_core.kinds.fewshot.algorithms.protonet import build_embedding

    network = NetworkConfig(NETWORKS[name])
    model = build_embedding(network)
    diagram = fewshot_diagram(network, "protonet")
    chain = diagram.chains[0]
    assert chain.params == model.count_params()
    assert chain.boxes[-1].shape == tuple(model.output.shape[1:])
    assert f"{chain.boxes[-1].shape[0]:,} features" in diagram.note


@pytest.mark.parametrize("meta_input", ["probabilities", "logits", "logits+features"])
@pytest.mark.parametrize("name", ["seed", "conv same", "empty"])
def test_a_network_learners_meta_input_width_is_its_feature_model_width(name, meta_input):
    from metalearn_core.models.networks import build_network, feature_model

    base = NetworkConfig(NETWORKS[name])
    model = feature_model(build_network(base), meta_input)
    assert learner_width(LearnerConfig("network"), base, meta_input) == model.output.shape[-1]


@pytest.mark.parametrize("meta_input", ["probabilities", "logits", "logits+features"])
@pytest.mark.parametrize("kind", ["random_forest", "svm"])
def test_a_scikit_learn_learner_gives_ten_numbers(kind, meta_input):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.svm import SVC

    from metalearn_core.kinds.stacked.run import FittedLearner

    rng = np.random.default_rng(0)
    x, y = rng.random((60, 28, 28)).astype(np.float32), np.arange(60) % 10
    estimator = SVC() if kind == "svm" else RandomForestClassifier(n_estimators=5, random_state=0)
    estimator.fit(x.reshape(60, -1), y)
    learner = LearnerConfig(kind)
    features = FittedLearner(learner, estimator, meta_input).features(x[:4])
    assert learner_width(learner, NetworkConfig(NETWORKS["seed"]), meta_input) == features.shape[1]


def test_the_stacked_meta_network_matches_build_meta_model():
    from metalearn_core.kinds.stacked.run import build_meta_model

    base, meta = NetworkConfig(NETWORKS["seed"]), NetworkConfig((dense(32), LayerConfig("dropout")))
    learners = (LearnerConfig("network"), LearnerConfig("random_forest"), LearnerConfig("svm"))
    diagram = stacked_diagram(base, meta, learners, "logits+features")
    width = (10 + 128) + 10 + 10
    model = build_meta_model(RunConfig(meta=meta), np.zeros(width), np.ones(width))
    meta_chain = diagram.chains[-1]
    assert meta_chain.boxes[0].shape == (width,) and meta_chain.params == model.count_params()
    assert [chain.title for chain in diagram.chains[:3]] == ["Base 1 (network)", "Base 2 (random forest)",
                                                             "Base 3 (svm)"]
    assert "138 + 10 + 10 = 158" in diagram.link
    assert diagram.params == meta_chain.params + diagram.chains[0].params  # trees and SVMs count no weights


def test_the_pages_diagram_is_the_kinds_own_reading_its_section():
    base = NetworkConfig(NETWORKS["seed"])
    sections = {"stacking": {"learners": (LearnerConfig("network"),) * 2, "meta_input": "logits"}}
    diagram = of_kind("stacked", base, NetworkConfig(), sections)
    assert diagram.layout == "stacked" and diagram.chains[-1].boxes[0].shape == (20,)
    other = {"learned_optimizer": {"learners": (LearnerConfig("network"),) * 5}}  # not its section: its defaults
    assert of_kind("stacked", base, NetworkConfig(), other) == of_kind("stacked", base, NetworkConfig())
    assert of_kind("base", base, NetworkConfig()).chains[0].params == 101_770
    assert of_kind("online", base, NetworkConfig()).chains[0].params == 101_770  # no hook: the base network
    fewshot = of_kind("fewshot", base, NetworkConfig(), {"fewshot": {"algorithm": "maml", "ways": 3}})
    assert fewshot.chains[0].boxes[-2].shape == (3,)


@pytest.mark.parametrize("algorithm", ["maml", "metasgd", "reptile"])
@pytest.mark.parametrize("network", [fewshot_network("conv", filters=8), fewshot_network("conv", blocks=2),
                                     fewshot_network("dense", hidden=(32, 16)),
                                     NetworkConfig((dense(24),))])
def test_the_gradient_learners_match_the_functional_network(network, algorithm):
    from metalearn_core.kinds.fewshot.algorithms.functional import init_params
    from metalearn_core.kinds.fewshot.run import network_spec

    spec, ways = network_spec(network), 3
    params = init_params(spec, ways=ways)
    diagram = fewshot_diagram(network, algorithm, ways=ways)
    chain = diagram.chains[0]
    head = next(box for box in chain.boxes if box.name == "logits")
    reads = chain.boxes[chain.boxes.index(head) - 1].shape
    assert chain.params == sum(math.prod(p.shape) for p in params)
    assert reads == (spec.feature_size,) and head.shape == (ways,)
    assert ("Meta-SGD" in diagram.note) == (algorithm == "metasgd")


def test_the_functional_conv_pools_round_up():
    boxes = fewshot_diagram(fewshot_network("conv"), "maml").chains[0].boxes
    assert [box.shape[:2] for box in boxes if box.name.startswith("max_pool")] == [(14, 14), (7, 7), (4, 4), (2, 2)]


@pytest.mark.parametrize("kind, preprocess, momentum", [("lstm", True, False), ("dense", True, True),
                                                        ("dense", False, False), ("lstm", False, True)])
def test_the_learned_optimizer_matches_its_weights(kind, preprocess, momentum):
    from metalearn_core.kinds.learned_optimizer.rules import init_network_weights
    from metalearn_core.kinds.learned_optimizer.specs import OptimizeeSpec, OptimizerNetSpec

    base = NetworkConfig((flatten, dense(20, activation="sigmoid"), dense(7, activation="sigmoid")))
    meta = NetworkConfig((LayerConfig(kind, units=20), LayerConfig(kind, units=12)))
    diagram = learned_optimizer_diagram(base, meta, preprocess, momentum)
    optimizee, optimizer = diagram.chains
    spec = OptimizerNetSpec.dense(kind=kind, hidden=(20, 12), preprocess=preprocess,
                                  momentum_decays=OptimizerNetSpec.dense().momentum_decays if momentum else ())
    assert optimizer.params == sum(array.size for array in init_network_weights(spec).values())
    assert optimizer.input_label.startswith(f"{spec.input_width} numbers")
    assert optimizee.params == OptimizeeSpec(hidden=(20, 7)).num_params
    assert f"{optimizee.params:,} weights" in diagram.link


@pytest.mark.parametrize("hidden", [(32,), (16, 8)])
def test_the_nominal_optimizer_is_drawn_as_the_run_builds_it(hidden):
    from metalearn_core.kinds.learned_optimizer.config import LearnedOptimizerConfig
    from metalearn_core.kinds.learned_optimizer.rules import init_network_weights
    from metalearn_core.kinds.learned_optimizer.run import specs

    base = NetworkConfig((flatten, dense(20, activation="sigmoid")))
    meta = NetworkConfig(tuple(dense(units) for units in hidden))
    config = RunConfig(kind="learned_optimizer", base=base, meta=meta,
                       settings=LearnedOptimizerConfig(design="nominal"))
    spec = specs(config)[1]
    assert spec.kind == "nominal"
    drawn = [learned_optimizer_diagram(base, meta, design="nominal"),
             of_kind("learned_optimizer", base, meta, {"learned_optimizer": {"design": "nominal"}}),
             of_kind("learned_optimizer", base, meta)]  # the run kind's default design
    for diagram in drawn:
        optimizer = diagram.chains[1]
        assert not optimizer.problem
        assert optimizer.params == sum(array.size for array in init_network_weights(spec).values())
        assert optimizer.input_label.startswith(f"{spec.input_width} numbers")
        assert [box.label for box in optimizer.boxes[:len(hidden)]] == [f"Dense({units}, relu)" for units in hidden]
        output = next(box for box in optimizer.boxes if box.shape == (2,))
        assert "direction" in output.label and "log-magnitude" in output.label
        assert "Adam" in optimizer.note and f"{len(spec.momentum_decays)} momenta" in optimizer.note
        assert "Dense(1)" not in " ".join(box.label for box in optimizer.boxes)
        assert f"{optimizer.params:,} parameters" in diagram.link


@pytest.mark.parametrize("kind, design", [("dense", "dense"), ("lstm", "dense"), ("lstm", "nominal")])
def test_lstm_and_the_earlier_dense_design_draw_as_before(kind, design):
    """LSTM layers are always the paper's LSTM, whatever the design; design "dense" is the earlier MLP."""
    base, meta = NetworkConfig((flatten, dense(20, activation="sigmoid"))), NetworkConfig((LayerConfig(kind, units=20),))
    for diagram in (learned_optimizer_diagram(base, meta, design=design),
                    of_kind("learned_optimizer", base, meta, {"learned_optimizer": {"design": design}})):
        optimizer = diagram.chains[1]
        assert optimizer.boxes[-1].label == "Dense(1): update" and "Adam-normalised momenta" in optimizer.note


def test_the_nominal_diagram_counts_extra_rms_and_mix_weights():
    from dataclasses import replace

    from metalearn_core.kinds.learned_optimizer.diagram import nominal_chain
    from metalearn_core.kinds.learned_optimizer.rules import init_network_weights
    from metalearn_core.kinds.learned_optimizer.specs import OptimizerNetSpec

    spec = replace(OptimizerNetSpec.nominal((12,)), rms_decays=(0.9, 0.99), nominal_mix=True)
    chain = nominal_chain("Optimizer (meta network)", spec)
    assert chain.params == sum(array.size for array in init_network_weights(spec).values())
    assert chain.input_label.startswith(f"{spec.input_width} numbers")
    assert "2 more RMS" in chain.note and "mix weights" in chain.note


def test_an_unknown_design_says_why():
    meta = NetworkConfig((dense(32),))
    optimizer = learned_optimizer_diagram(NetworkConfig((flatten, dense(20, activation="sigmoid"))), meta,
                                          design="fancy").chains[1]
    assert "design must be one of" in optimizer.problem and "fancy" in optimizer.problem


@pytest.mark.parametrize("layers, message", [
    ((conv(4, 3, "same"), pool(4), pool(4), pool(4)), "smaller than 1×1"),
    ((pool(2), conv(4, 15)), "larger than its 14×14 input"),
    ((flatten, conv(4)), "needs an image"),
    ((flatten, LayerConfig("lstm", units=4)), "LSTM"),
])
def test_impossible_networks_say_why(layers, message):
    chain = network_chain(NetworkConfig(layers))
    assert message in chain.problem
    assert not any(box.name == "logits" for box in chain.boxes)  # the boxes stop at the problem


def test_configs_that_cannot_run_say_why():
    dense_first = network_chain(NetworkConfig((dense(12),)))
    assert "put a flatten layer before it" in dense_first.problem
    stacked = stacked_diagram(NetworkConfig(NETWORKS["seed"]), NetworkConfig(), (), "probabilities")
    assert "at least one base learner" in " ".join(stacked.problems)
    learned = learned_optimizer_diagram(NetworkConfig(NETWORKS["conv same"]), NetworkConfig())
    assert {chain.problem.split(":")[0] for chain in learned.chains} == {"base network", "meta network"}
    maml = fewshot_diagram(NetworkConfig((flatten, dense(8), LayerConfig("dropout"))), "maml")
    assert "conv blocks" in maml.chains[0].problem


def test_drawing_every_diagram_imports_no_tensorflow():
    """The Train page redraws the diagram on every change: neither building it nor its lazy imports may
    pull in TensorFlow (the light-module test checks only the import)."""
    code = ("import sys\nfrom metalearn_core import kinds\n"
            "from metalearn_core.kinds.fewshot.diagram import fewshot_diagram\n"
            "from metalearn_core.kinds.fewshot.setup import fewshot_network\n"
            "from metalearn_core.presets import preset_config\n"
            "for kind in kinds.all_kinds():\n"
            "    config = preset_config('learned-optimizer' if kind.name == 'learned_optimizer' else 'dense')\n"
            "    if kind.diagram:\n"
            "        kind.diagram(config.base, config.meta, {})\n"
            "for algorithm in ('protonet', 'maml'):\n"
            "    fewshot_diagram(fewshot_network('conv'), algorithm)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=scaled(120))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
