"""Widgets for the Train page: the layer editors and the training settings.

State is set up in one place (``init_state``); layer widgets are keyed by a stable id per layer,
so a layer's values move with it when it is reordered. Each layer is one row (its summary, which
opens a popover with its type and settings, and move and remove buttons), so a 13-layer network
fits on one screen.
"""

from __future__ import annotations

import dataclasses
import itertools

import streamlit as st

from dashboard.common import fashion_line
from metalearn_core.config import (
    ACTIVATIONS,
    DATASETS,
    HYPERGRADIENT_OPTIMIZERS,
    IMAGE_SIZE,
    LAYER_TYPES,
    MAX_FILTERS,
    MAX_UNITS,
    OPTIMIZERS,
    LayerConfig,
    NetworkConfig,
    RunConfig,
    TrainingConfig,
)
from metalearn_core.kinds.learned_optimizer.config import LearnedOptimizerConfig
from metalearn_core.kinds.stacked.config import LEARNER_KINDS, META_INPUTS, LearnerConfig, StackingConfig
from metalearn_core.presets import DEFAULT_PRESET, PRESETS, preset_config
from metalearn_core.session import add_layer, move_layer, remove_layer

PREFIX = "train"
_ids = itertools.count(1)
BATCH_SIZES = [8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048]
PADDINGS = ("valid", "same")
HYPERGRADIENT_RATES = [0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2]
DATASET_LABELS = {"mnist": "MNIST digits", "fashion_mnist": "Fashion-MNIST clothes"}
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 4e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0]


def key(*parts: object) -> str:
    return ".".join([PREFIX, *map(str, parts)])


def _with_ids(layers) -> list[dict]:
    return [{"id": next(_ids), "layer": layer} for layer in layers]


def load_config(config: RunConfig) -> None:
    """Put a whole config into the widgets' state (a preset, a shared link, a run to re-launch); the
    stacking and learned-optimizer widgets take the config's section when it is theirs, else their
    defaults."""
    for name in ("base", "meta"):
        st.session_state[key(name)] = _with_ids(getattr(config, name).layers)
    training = config.training
    stacking = config.settings if isinstance(config.settings, StackingConfig) else StackingConfig()
    optimizer = config.settings if isinstance(config.settings, LearnedOptimizerConfig) else LearnedOptimizerConfig()
    values = {
        "kind": config.kind, "name": config.name, "epochs": training.epochs,
        "batch_size": training.batch_size, "optimizer": training.optimizer,
        "learning_rate": training.learning_rate, "lr_schedule": training.lr_schedule,
        "validation_split": training.validation_split, "seed": training.seed, "dataset": training.dataset,
        "hypergradient_rate": training.hypergradient_rate,
        "scale_pixels": training.scale_pixels, "train_limit": training.train_limit,
        "test_limit": training.test_limit, "learners": [learner.kind for learner in stacking.learners],
        "meta_input": stacking.meta_input, "folds": stacking.folds, "meta_epochs": stacking.meta_epochs,
        "holdout_fraction": stacking.holdout_fraction,
        **{f"lo_{name}": value for name, value in dataclasses.asdict(optimizer).items()},
    }
    for name, value in values.items():
        st.session_state[key(name)] = value
    if training.learned_optimizer_run:
        st.session_state[key("learned_optimizer_run")] = training.learned_optimizer_run
    if training.batch_size not in BATCH_SIZES:
        BATCH_SIZES.append(training.batch_size)
        BATCH_SIZES.sort()
    if training.hypergradient_rate not in HYPERGRADIENT_RATES:
        HYPERGRADIENT_RATES.append(training.hypergradient_rate)
        HYPERGRADIENT_RATES.sort()
    for rate in (training.learning_rate, optimizer.meta_learning_rate):
        if rate not in LEARNING_RATES:
            LEARNING_RATES.append(rate)
            LEARNING_RATES.sort()


def init_state(initial: RunConfig | None = None) -> None:
    """Set up the page's state once per session."""
    if key("base") not in st.session_state:
        load_config(initial or preset_config(DEFAULT_PRESET))


# Widget names of each LayerConfig field, under key(network, layer id, name).
WIDGETS = {"type": "type", "units": "units", "filters": "filters", "kernel_size": "kernel", "padding": "padding",
           "pool_size": "pool", "rate": "rate", "activation": "activation"}


def _number(label: str, low: float, high: float, value: float, widget_key: str, step: float = 1) -> float:
    value = min(max(value, low), high)
    return st.number_input(label, low, high, value, step, key=widget_key,
                           format="%.2f" if isinstance(step, float) else None)


def _layer_parameters(network: str, uid: int, kind: str, layer: LayerConfig) -> dict:
    """The number boxes and choices that a layer of ``kind`` has."""
    values: dict = {}
    if kind in ("dense", "lstm"):
        values["units"] = _number("units", 1, MAX_UNITS, layer.units, key(network, uid, "units"))
    elif kind == "conv2d":
        values["filters"] = _number("filters", 1, MAX_FILTERS, layer.filters, key(network, uid, "filters"))
        values["kernel_size"] = _number("kernel size", 1, IMAGE_SIZE, layer.kernel_size, key(network, uid, "kernel"))
        values["padding"] = st.selectbox("padding", PADDINGS, index=PADDINGS.index(layer.padding),
                                         key=key(network, uid, "padding"),
                                         help="valid: the kernel stays inside the image, which shrinks by "
                                              "kernel - 1; same: zeros around the border keep its size")
    elif kind == "max_pool":
        values["pool_size"] = _number("pool size", 1, IMAGE_SIZE, layer.pool_size, key(network, uid, "pool"))
    elif kind == "dropout":
        values["rate"] = _number("dropout rate", 0.0, 0.9, float(layer.rate), key(network, uid, "rate"), step=0.05)
    if kind in ("dense", "conv2d"):
        current = ACTIVATIONS.index(layer.activation) if layer.activation in ACTIVATIONS else 0
        values["activation"] = st.selectbox("activation", ACTIVATIONS, index=current,
                                            key=key(network, uid, "activation"))
    return values


def _as_last_drawn(network: str, uid: int, layer: LayerConfig) -> LayerConfig:
    """The layer with the values its widgets kept from the last run (read before they are drawn again,
    so that the row's summary already shows an edit)."""
    state = st.session_state
    values = {field: state[key(network, uid, name)] for field, name in WIDGETS.items()
              if key(network, uid, name) in state}
    return LayerConfig(**{**layer.__dict__, **values})


def summary(layer: LayerConfig) -> str:
    """A layer in a few words, for its row: ``Conv2D 32 · 3×3 same · relu``.

    Example:
        >>> summary(LayerConfig("dense", units=64, activation="tanh"))
        'Dense 64 · tanh'
    """
    if layer.type == "dense":
        return f"Dense {layer.units} · {layer.activation}"
    if layer.type == "conv2d":
        side = layer.kernel_size
        return f"Conv2D {layer.filters} · {side}×{side} {layer.padding} · {layer.activation}"
    if layer.type == "max_pool":
        return f"MaxPool {layer.pool_size}×{layer.pool_size}"
    if layer.type == "dropout":
        return f"Dropout {layer.rate:.2f}"
    if layer.type == "lstm":
        return f"LSTM {layer.units}"
    return {"batch_norm": "BatchNorm", "flatten": "Flatten"}[layer.type]


def _layer_widgets(network: str, item: dict, index: int, count: int) -> LayerConfig:
    """One layer, one row: its number, its summary (click it to change the type and parameters), and
    move up, move down and remove buttons."""
    layer: LayerConfig = item["layer"]
    uid = item["id"]
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    row.markdown(f"**{index + 1}**", width="content")
    with row.popover(summary(_as_last_drawn(network, uid, layer)), key=key(network, uid, "edit"),
                     width="stretch"):
        kind = st.selectbox(f"Layer {index + 1}: type", LAYER_TYPES, index=LAYER_TYPES.index(layer.type),
                            key=key(network, uid, "type"))
        values = {"type": kind, **_layer_parameters(network, uid, kind, layer)}
    row.button(":material/arrow_upward:", key=key(network, uid, "up"), help="move up", on_click=_move,
               args=(network, index, -1), disabled=index == 0, type="tertiary")
    row.button(":material/arrow_downward:", key=key(network, uid, "down"), help="move down", on_click=_move,
               args=(network, index, 1), disabled=index == count - 1, type="tertiary")
    row.button(":material/close:", key=key(network, uid, "remove"), help="remove", on_click=_remove,
               args=(network, index), type="tertiary")
    return LayerConfig(**{**layer.__dict__, **values})


def _move(network: str, index: int, offset: int) -> None:
    items = st.session_state[key(network)]
    order = move_layer(list(range(len(items))), index, offset)
    st.session_state[key(network)] = [items[position] for position in order]


def _remove(network: str, index: int) -> None:
    items = st.session_state[key(network)]
    kept = remove_layer(list(range(len(items))), index)
    st.session_state[key(network)] = [items[position] for position in kept]


def _add(network: str) -> None:
    layer_type = st.session_state[key(network, "new_type")]
    layer = add_layer([], layer_type)[0]
    st.session_state[key(network)] = [*st.session_state[key(network)], *_with_ids([layer])]


def _apply_preset() -> None:
    name = st.session_state[key("preset")]
    current_kind = st.session_state[key("kind")]
    load_config(preset_config(name, kind=current_kind))


def network_editor(network: str, title: str, help_text: str) -> NetworkConfig:
    """An ordered, editable list of layers; returns the network as the widgets show it."""
    st.markdown(f"**{title}** · {help_text}")
    items = st.session_state[key(network)]
    layers = []
    with st.container(gap="xsmall"):  # rows close together: a 13-layer network fits on one screen
        for index, item in enumerate(items):
            layer = _layer_widgets(network, item, index, len(items))
            item["layer"] = layer
            layers.append(layer)
    if not items:
        st.caption("No hidden layers: the output layer alone (a linear softmax classifier).")
    columns = st.columns([3, 2], vertical_alignment="center")
    columns[0].selectbox("new layer", LAYER_TYPES, key=key(network, "new_type"), label_visibility="collapsed")
    columns[1].button("Add layer", key=key(network, "add"), on_click=_add, args=(network,))
    st.caption("Output layer, added automatically: Dense(one unit per class, softmax). "
               + ("Click a layer to change its type and settings." if items else ""))
    st.session_state[key(network, "below")] = st.container()
    return NetworkConfig(tuple(layers))


def below(network: str):
    """The container under the latest editor of ``network`` in this run: a page draws there what
    belongs with the layers (the network diagram) without the editor's caller having to."""
    return st.session_state[key(network, "below")]


def preset_picker() -> None:
    names = list(PRESETS)
    st.selectbox("Preset", names, index=names.index(DEFAULT_PRESET), key=key("preset"),
                 format_func=lambda name: f"{name}: {PRESETS[name][0]}", on_change=_apply_preset)


def training_widgets(learned_runs: dict[int, str] | None = None) -> dict:
    """Epochs, batch size, optimizer, learning rate, split, seed and the data limits.

    ``learned_runs`` (run id -> label) are the finished learned-optimizer runs the "learned"
    optimizer can take its weights' update rule from."""
    dataset = st.radio("Data", DATASETS, key=key("dataset"), horizontal=True, format_func=DATASET_LABELS.get,
                       help="Fashion-MNIST: 28x28 pictures of 10 kinds of clothing, the same shapes as MNIST")
    if dataset == "fashion_mnist":
        level, line = fashion_line()
        (st.warning if level == "warning" else st.caption)(line)
    left, right = st.columns(2)
    epochs = left.slider("Epochs", 1, 50, key=key("epochs"))
    batch_size = left.select_slider("Batch size", BATCH_SIZES, key=key("batch_size"))
    optimizer = left.selectbox("Optimizer", OPTIMIZERS, key=key("optimizer"),
                               help="learned: the optimizer meta-trained by a learned-optimizer run")
    learned_run = 0
    if optimizer == "learned":
        runs = learned_runs or {}
        if not runs:
            left.warning("No finished learned-optimizer run yet: launch one (run kind 'learned optimizer') first.")
        else:
            if st.session_state.get(key("learned_optimizer_run")) not in runs:
                st.session_state.pop(key("learned_optimizer_run"), None)  # a deleted run, or none chosen yet
            learned_run = left.selectbox("Learned optimizer from run", list(runs), format_func=runs.get,
                                         key=key("learned_optimizer_run"))
    learning_rate = left.select_slider("Learning rate" + (" (initial)" if optimizer in HYPERGRADIENT_OPTIMIZERS else ""),
                                       LEARNING_RATES, key=key("learning_rate"), format_func=lambda value: f"{value:g}")
    hypergradient_rate = 0.0
    if optimizer in HYPERGRADIENT_OPTIMIZERS:
        hypergradient_rate = left.select_slider(
            "Hypergradient rate β (0 = the paper's)", HYPERGRADIENT_RATES, key=key("hypergradient_rate"),
            format_func=lambda value: f"{value:g}",
            help="How fast the learning rate itself learns (Baydin et al. 2018: 1e-3 for SGD-HD, 1e-7 for Adam-HD)")
    lr_schedule = right.selectbox("Learning-rate schedule", ("constant", "cosine"), key=key("lr_schedule"),
                                  disabled=optimizer in HYPERGRADIENT_OPTIMIZERS,
                                  help="A hypergradient optimizer sets its own rate, so it takes no schedule")
    validation_split = right.slider("Validation split", 0.0, 0.5, step=0.05, key=key("validation_split"))
    seed = right.number_input("Seed", 0, 2**31 - 1, step=1, key=key("seed"))
    scale = right.checkbox("Scale pixels to [0, 1]", key=key("scale_pixels"),
                           help="The seed forgot this and lost 3.5 points of accuracy.")
    with st.expander("Quick try: use part of MNIST"):
        train_limit = st.number_input("Training images (0 = all)", 0, 60000, step=1000, key=key("train_limit"))
        test_limit = st.number_input("Test images (0 = all)", 0, 10000, step=1000, key=key("test_limit"))
    return dict(
        epochs=int(epochs), batch_size=int(batch_size), optimizer=optimizer, learning_rate=float(learning_rate),
        lr_schedule=lr_schedule, validation_split=float(validation_split), seed=int(seed), scale_pixels=bool(scale),
        train_limit=int(train_limit), test_limit=int(test_limit), learned_optimizer_run=int(learned_run or 0),
        dataset=dataset, hypergradient_rate=float(hypergradient_rate),
    )


def training_values() -> dict:
    """The training settings as they stand, without widgets (a learned-optimizer run does not use them)."""
    defaults = dataclasses.asdict(TrainingConfig())
    names = ("epochs", "batch_size", "optimizer", "learning_rate", "lr_schedule", "validation_split", "seed",
             "scale_pixels", "train_limit", "test_limit", "learned_optimizer_run", "dataset", "hypergradient_rate")
    # Streamlit forgets the state of widgets a run did not draw, so fall back to the defaults.
    return {name: st.session_state.get(key(name), defaults[name]) for name in names}


def stacking_widgets() -> dict:
    """Base learners and what the meta network sees."""
    left, right = st.columns(2)
    kinds = left.multiselect("Base learners", LEARNER_KINDS, key=key("learners"),
                             help="network uses the base network above; the SVM trains on at most 10,000 images")
    meta_input = left.selectbox("Meta network sees", META_INPUTS, key=key("meta_input"))
    folds = right.slider("Cross-fitting folds (1 = a held-out split)", 1, 5, key=key("folds"))
    holdout = right.slider("Held-out fraction", 0.05, 0.5, step=0.05, key=key("holdout_fraction"),
                           disabled=folds > 1)
    meta_epochs = right.slider("Meta epochs", 1, 100, key=key("meta_epochs"))
    return dict(learners=tuple(LearnerConfig(kind) for kind in kinds), meta_input=meta_input,
                folds=int(folds), holdout_fraction=float(holdout), meta_epochs=int(meta_epochs))


def learned_optimizer_widgets() -> dict:
    """Meta-training of a learned optimizer (Andrychowicz et al. 2016) and its evaluation."""
    left, right = st.columns(2)
    steps = left.slider("Base-network steps per trajectory", 20, 400, step=10, key=key("lo_steps"))
    unroll = left.slider("Unroll (truncated back-propagation)", 5, 50, step=5, key=key("lo_unroll"),
                         help="The paper: 20-step unrolls over a 100-step trajectory")
    batch_size = left.select_slider("Base-network batch size", BATCH_SIZES, key=key("lo_batch_size"))
    budget = left.slider("Wall-clock cap on meta-training (seconds)", 10, 3600, step=10, key=key("lo_budget_seconds"),
                         help="Only a safety cap: the budget is the number of trajectories below, so that the "
                              "same seed gives the same optimizer on any machine")
    meta_lr = right.select_slider("Meta learning rate (Adam)", LEARNING_RATES, key=key("lo_meta_learning_rate"),
                                  format_func=lambda value: f"{value:g}")
    scale = right.select_slider("Output scale", [0.01, 0.03, 0.1, 0.3, 1.0], key=key("lo_output_scale"),
                                help="The optimizer's output times this is the update (the paper: 0.1)")
    preprocess = right.checkbox("Log-magnitude and sign preprocessing of gradients (p = 10)",
                                key=key("lo_preprocess"))
    momentum = right.checkbox("Also read momenta of the gradient (Adam-normalised, 3 timescales)",
                              key=key("lo_momentum_inputs"), help="Off in the paper's recipe")
    inits = right.slider("Held-out initialisations for the comparison", 5, 100, step=5, key=key("lo_eval_inits"))
    seed = right.number_input("Seed", 0, 2**31 - 1, step=1, key=key("lo_seed"))
    return dict(steps=int(steps), unroll=int(unroll), batch_size=int(batch_size), budget_seconds=float(budget),
                meta_learning_rate=float(meta_lr), output_scale=float(scale), preprocess=bool(preprocess),
                momentum_inputs=bool(momentum),
                eval_inits=int(inits), seed=int(seed))
