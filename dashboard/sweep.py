"""Widgets of the Sweep page: the search space beside the layer editor, the sweep's settings and
Launch (light: no pandas; the trials' view is :mod:`dashboard.sweep_trials`).

The base of a sweep is the run its kind's own page sets up: the page uses that page's widgets and
session state (the kind's ``sweep_setup`` view, else the Train page's editors), so the network a
student built on Train is the one the sweep varies. What can be searched, and how trials are
scored, are the kind's sweep hooks (:mod:`metalearn_core.kinds.sweep_hooks`). Sweep state lives
under ``sweep.*``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import classroom, common, editor
from dashboard.kinds import views
from dashboard.text import plain
from metalearn_core import kinds
from metalearn_core.classroom import ScopedSweepStore
from metalearn_core.config import ConfigError, RunConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.session import URL_KEY, assemble_config, token_to_config
from metalearn_core.sweeps.config import (
    PRUNER_LABELS,
    SAMPLER_LABELS,
    SAMPLERS,
    SweepConfig,
)
from metalearn_core.sweeps.runner import launch_sweep
from metalearn_core.sweeps.space import SearchSpace, Setting, hooks_of, settings_of, sweep_kinds
from metalearn_core.sweeps.store import SweepStore

PREFIX = "sweep"


def key(*parts: object) -> str:
    return ".".join([PREFIX, *map(str, parts)])


def sweep_store() -> SweepStore:
    """The sweeps beside the runs of the app's data home (in classroom mode, the viewer's own)."""
    viewer = classroom.viewer()
    sweeps = SweepStore(common.current_store().home)
    return ScopedSweepStore(sweeps, viewer) if viewer.email else sweeps


def init_state() -> str:
    """Set up the Train page's state (from a ``?config=`` link when the session has none yet) and the
    space's defaults, once per session; returns the link's problem, if any."""
    problem = ""
    if editor.key("base") not in st.session_state and URL_KEY in st.query_params:
        try:
            editor.init_state(token_to_config(st.query_params[URL_KEY]))
        except ConfigError as error:
            problem = str(error)
    editor.init_state()
    defaults = {key("kind"): sweep_kinds()[0], key("sampler"): "tpe", key("pruner"): "none",
                key("objective"): "val_accuracy", key("trials"): 10, key("minutes"): 0, key("seed"): 0, key("name"): ""}
    defaults.update({key("search", name): True for kind in sweep_kinds() for name in hooks_of(kind).searched})
    for name, value in defaults.items():
        st.session_state.setdefault(name, value)
    return problem


def kind_picker() -> str:
    return st.radio("Runs to sweep", sweep_kinds(), key=key("kind"), horizontal=True,
                    format_func=lambda kind: kinds.get(kind).label,
                    help="A sweep varies runs of one kind, set up as on that kind's own page; each reports a "
                         "validation score as it trains.")


def base_setup(store: RunStore, kind: str) -> tuple[RunConfig | None, str]:
    """The run every trial starts from, with the widgets of its own page; (config, problem)."""
    kind_views = views(kind)
    setup = getattr(kind_views, "sweep_setup", None)
    if setup is not None:
        try:
            return setup(store), ""
        except ConfigError as error:
            return None, str(error)
    network_tab, training_tab = st.tabs(["Base network", "Fixed training settings"])
    with network_tab:
        network = editor.network_editor("base", "Base network f_θ", "the same network as on the Train page")
    with training_tab:
        st.caption("Every trial uses these, except the settings searched on the right. A small slice of MNIST "
                   "(Quick try) makes each trial fast.")
        training, sections = kind_views.training_settings(store)
    try:
        return assemble_config(kind, "", network, RunConfig().meta, training, sections), ""
    except ConfigError as error:
        return None, str(error)


def _range_widget(name: str, setting: Setting) -> dict:
    state_key = key("values", name)
    if setting.marks:  # a log scale: values a decade apart or so
        low, high = st.select_slider(setting.label, list(setting.marks), value=setting.default, key=state_key,
                                     format_func=lambda value: f"{value:g}")
    else:
        lowest, highest, step = setting.slider
        low, high = st.slider(setting.label, lowest, highest, value=setting.default, step=step, key=state_key)
    if setting.type == "float":
        return {"low": round(float(low), 8), "high": round(float(high), 8), "log": setting.log}
    return {"low": int(low), "high": int(high), "log": setting.log}


def space_widgets(kind: str) -> dict:
    """A "search this" box per setting the kind has, then for each ticked one its range or its
    choices. Returns the space as :meth:`SearchSpace.from_dict` reads it."""
    settings = settings_of(kind)
    columns = st.columns(3)
    searched = [name for index, (name, setting) in enumerate(settings.items())
                if columns[index % 3].checkbox(setting.short or name, key=key("search", name), help=setting.label)]
    space = {}
    for name in searched:
        setting = settings[name]
        if setting.type == "choice":
            space[name] = {"choices": st.multiselect(setting.label, setting.choices, default=list(setting.default),
                                                     key=key("values", name))}
        else:
            space[name] = _range_widget(name, setting)
        if name == "units":
            st.caption("Each dense hidden layer gets its own number of units from this range.")
    return space


def sweep_settings(kind: str) -> dict:
    """Sampler, pruner, objective, budget, seed and name: the keyword arguments of SweepConfig."""
    left, right = st.columns(2)
    sampler = left.selectbox("Sampler", SAMPLERS, key=key("sampler"), format_func=SAMPLER_LABELS.get)
    pruner = right.selectbox("Pruner", tuple(PRUNER_LABELS), key=key("pruner"), format_func=PRUNER_LABELS.get)
    offered = hooks_of(kind).objectives
    objectives = list(offered)
    if st.session_state[key("objective")] not in objectives:
        st.session_state[key("objective")] = objectives[0]
    objective = left.radio("Objective", objectives, key=key("objective"),
                           format_func=lambda name: offered[name].label,
                           help="Trials are scored on validation data; the test set is never used to choose.")
    trials = right.number_input("Trials", 1, 10_000, step=1, key=key("trials"))
    minutes = left.number_input("Time budget (minutes, 0 = none)", 0, 43_200, step=5, key=key("minutes"),
                                help="No new trial starts once it is spent; the trials in flight finish.")
    seed = right.number_input("Seed", 0, 2**31 - 1, step=1, key=key("seed"))
    name = st.text_input("Sweep name (optional)", key=key("name"), max_chars=200)
    return dict(sampler=sampler, pruner=pruner, objective=objective, trials=int(trials),
                time_budget=60.0 * float(minutes), seed=int(seed), name=name.strip())


def build_config(kind: str, base: RunConfig | None, base_problem: str, space: dict, settings: dict
                 ) -> tuple[SweepConfig | None, str]:
    """The sweep the widgets describe, or None and the plain message that says what is wrong."""
    if base is None:
        return None, base_problem
    if not space:
        return None, ""
    try:
        return SweepConfig(space=SearchSpace.from_dict(space, kind), base=base, **settings), ""
    except ConfigError as error:
        return None, str(error)


def launch_panel(sweeps: SweepStore, config: SweepConfig | None, problem: str) -> None:
    """The problem (Launch is disabled then) or what the sweep will do, then Launch."""
    if problem:
        st.error(f"Fix this before launching: {plain(problem)}")
    elif config is None:
        st.info("Tick at least one setting to search, then launch.")
    elif config is not None:
        grid = f" The grid has {config.space.grid_size()} points." if config.sampler == "grid" else ""
        st.caption(f"{config.trials} trials of {config.base.kind} runs, each searching "
                   + "; ".join(f"{dimension.name} over {dimension.describe()}" for dimension in config.space.dimensions)
                   + f".{grid}")
    read_only = common.read_only_reason(common.current_store())
    if read_only:
        st.info(plain(f"Launch is unavailable: {read_only}."))
    if st.button("Launch sweep", type="primary", disabled=config is None or bool(read_only), key=key("launch")):
        sweep_id = launch_sweep(sweeps, config, common.mnist_path())
        st.session_state[key("view")] = sweep_id
        st.query_params["sweep"] = str(sweep_id)
        st.toast(f"Sweep {sweep_id} launched")


# -- one sweep ------------------------------------------------------------------------------------
