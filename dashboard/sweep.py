"""Widgets of the Sweep page: the search space beside the layer editor, the sweep's settings,
Launch, and the view of one sweep (live while it runs).

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
from metalearn_core.runs import runner
from metalearn_core.runs.store import RunStore
from metalearn_core.safe_input import try_parse_id
from metalearn_core.session import URL_KEY, assemble_config, token_to_config
from metalearn_core.sweeps import analysis
from metalearn_core.sweeps import figures as sweep_figures
from metalearn_core.sweeps.config import (
    PRUNER_LABELS,
    SAMPLER_LABELS,
    SAMPLERS,
    SweepConfig,
    objective_source,
)
from metalearn_core.sweeps.runner import RESUMABLE, cancel_sweep, launch_sweep, resume_sweep
from metalearn_core.sweeps.space import SearchSpace, Setting, hooks_of, settings_of, sweep_kinds
from metalearn_core.sweeps.store import Sweep, SweepStore

PREFIX = "sweep"
REFRESH_SECONDS = 2.0
# Plain symbols rather than emoji: every font has them, so they show even where no emoji font is installed.
STATE_ICONS = {"complete": "✓ complete", "pruned": "✂ pruned", "failed": "✗ failed", "running": "▶ running",
               "waiting": "… waiting"}
STATUS_SHOW = {"completed": st.success, "running": st.info, "queued": st.info, "cancelled": st.warning,
               "interrupted": st.warning, "failed": st.error}


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
def pick_sweep(sweeps: SweepStore) -> Sweep | None:
    """A box over the sweeps, newest first: the one just launched, else the URL's, else the newest.
    The choice goes in the URL (``?sweep=ID``), so a reload shows the same sweep."""
    listed = {sweep.id: sweep for sweep in sweeps.list()}
    if not listed:
        return None
    if st.session_state.get(key("view")) not in listed:
        wanted = str(st.query_params.get("sweep", ""))
        wanted_id = try_parse_id(wanted)
        st.session_state[key("view")] = wanted_id if wanted_id in listed else next(iter(listed))
    chosen = st.selectbox("Sweep", list(listed), key=key("view"),
                          format_func=lambda sweep_id: f"#{sweep_id} · {listed[sweep_id].name} · "
                                                       f"{listed[sweep_id].status}")
    st.query_params["sweep"] = str(chosen)
    return listed[chosen]


def watch(store: RunStore, sweeps: SweepStore, sweep: Sweep) -> None:
    """The sweep's panel, redrawn every two seconds while it is active."""

    @st.fragment(run_every=REFRESH_SECONDS)
    def live() -> None:
        current = sweeps.get(sweep.id)
        if current.is_active:
            panel(store, sweeps, current)
            st.session_state[key("was_active")] = True
        elif st.session_state.pop(key("was_active"), False):
            st.rerun()  # once, to stop the refresh and show the Resume button
        else:
            panel(store, sweeps, current)

    if sweep.is_active:
        live()
    else:
        panel(store, sweeps, sweep)


def panel(store: RunStore, sweeps: SweepStore, sweep: Sweep) -> None:
    """Status and counts, the buttons, the trials table, the figures and the importances."""
    try:
        config = sweep.config
    except ConfigError as error:
        st.error(f"Sweep {sweep.id} cannot be read: {plain(error)}")
        return
    status_line(sweep, config)
    frame = analysis.trials_frame(store, sweep)
    buttons(store, sweeps, sweep, config, frame)
    if frame.empty:
        st.info("No trial yet: the first one starts within a few seconds of the launch.")
        return
    trials_table(frame, config)
    left, right = st.columns(2, gap="large")
    with left:
        st.plotly_chart(sweep_figures.best_so_far_figure(frame, config.direction, config.objective_label),
                        key=key("best", sweep.id), width="stretch")
        st.caption("Each dot is one trial's score; the green line is the best score found so far. A line that "
                   "stops climbing means the search has settled: more trials of this space may not help.")
    with right:
        curves_view(store, sweep, frame, config)
    st.plotly_chart(sweep_figures.parallel_figure(frame, config.direction, config.objective_label, config.space),
                    key=key("parallel", sweep.id), width="stretch")
    st.caption("Each line is one trial, crossing each axis at the value it tried; bright lines scored best, grey "
               "ones were pruned. Look for the values the bright lines share: those are the good settings.")
    left, _ = st.columns(2, gap="large")
    with left:
        importances_view(sweeps, sweep, frame)


def status_line(sweep: Sweep, config: SweepConfig) -> None:
    state = sweep.state
    counts = state.get("trials", {})
    budget = state.get("trial_budget", config.trials)
    show = STATUS_SHOW.get(sweep.status, st.info)
    show(f"Sweep {sweep.id} · {plain(sweep.name)}: {sweep.status}"
         + (f" — {plain(state['error'])}" if state.get("error") else ""))
    columns = st.columns(5)
    columns[0].metric("Trials finished", f"{counts.get('complete', 0) + counts.get('pruned', 0)} / {budget}")
    columns[1].metric("Running", counts.get("running", 0))
    columns[2].metric("Pruned", counts.get("pruned", 0))
    columns[3].metric("Failed", counts.get("fail", 0))
    best = state.get("best_value")
    columns[4].metric(f"Best {config.objective_label}", "-" if best is None else f"{best:.4f}")
    st.caption(f"Sampler {SAMPLER_LABELS[config.sampler]}, pruner {PRUNER_LABELS[config.pruner]}; searching "
               + "; ".join(f"{dimension.setting.label} ({dimension.describe()})" for dimension in config.space.dimensions)
               + ".")


def buttons(store: RunStore, sweeps: SweepStore, sweep: Sweep, config: SweepConfig, frame) -> None:
    """Cancel while it runs, Resume once it stopped early, and the best trial as a full run."""
    left, middle, right = st.columns(3)
    if sweep.is_active and left.button("Cancel sweep", key=key("cancel", sweep.id)):
        cancel_sweep(store, sweeps, sweep.id)
        st.toast(f"Cancelling sweep {sweep.id}: its trials in flight stop, their curves are kept")
    if sweep.status in RESUMABLE and left.button("Resume sweep", key=key("resume", sweep.id),
                                                 help="Go on until the budget is spent; no trial is lost"):
        try:
            resume_sweep(sweeps, sweep.id, common.mnist_path())
        except ValueError as error:
            st.error(plain(error))
        else:
            st.rerun()
    best = analysis.best_trial(frame, config.direction) if not frame.empty else None
    if best is not None and middle.button(f"Re-launch the best (trial {int(best['trial'])}) as a full run",
                                          key=key("full", sweep.id),
                                          disabled=bool(common.read_only_reason(store)),
                                          help="The same settings on all of the data, as an ordinary run"):
        try:
            run_config = analysis.full_run_config(store, sweep)
        except ValueError as error:
            st.error(plain(error))
        else:
            run_id = runner.launch(store, run_config, common.mnist_path())
            st.session_state[key("full_run", sweep.id)] = run_id
            st.session_state[f"{kinds.get(run_config.kind).page}.run_id"] = run_id  # its page watches it
    full_run = st.session_state.get(key("full_run", sweep.id))
    if full_run is not None:
        right.page_link(f"pages/{kinds.get(config.base.kind).page}.py", label=f"Watch run {full_run}, the full run of the best", icon=":material/visibility:",
                        query_params={"run": str(full_run)})


def trials_table(frame, config: SweepConfig) -> None:
    """The trials, best first (click a column to sort), pruned ones marked."""
    ascending = config.direction == "minimize"
    shown = frame.sort_values("objective", ascending=ascending, na_position="last").drop(columns=["run_status"])
    shown["state"] = shown["state"].map(lambda state: STATE_ICONS.get(state, state))
    params = analysis.param_columns(frame)
    column_config = {
        "objective": st.column_config.NumberColumn(config.objective_label, format="%.4f"),
        "test_accuracy": st.column_config.NumberColumn("test accuracy (not used to choose)", format="%.4f"),
        "seconds": st.column_config.NumberColumn("seconds", format="%.1f"),
        **{column: st.column_config.NumberColumn(format="%.3g") for column in params
           if shown[column].dtype.kind == "f"},
    }
    order = ["trial", "state", "objective", *params, "steps", "seconds", "test_accuracy", "run", "outcome"]
    st.dataframe(shown[order], hide_index=True, column_config=column_config, width="stretch")
    st.caption("One row per trial, best first; click a column's name to sort by it. Pruned trials (✂) were stopped "
               "early, so their score is the last one they reached. Test accuracy is shown for information only: "
               "the sweep chooses on validation data and never looks at the test set.")


def curves_view(store: RunStore, sweep: Sweep, frame, config: SweepConfig) -> None:
    """Each trial's objective per epoch (or validation point), as the pruner saw it."""
    from metalearn_core.sweeps.controller import objective_curve  # heavy: Optuna

    series, metric = objective_source(config.base.kind, config.objective)
    runs = frame.dropna(subset=["run"])
    curves = {int(trial): objective_curve(store, int(run), series, metric) for trial, run in zip(runs["trial"], runs["run"])}
    states = dict(zip(frame["trial"].astype(int), frame["state"]))
    x_title = kinds.get(config.base.kind).x_axis
    st.plotly_chart(sweep_figures.trial_curves_figure(curves, states, config.objective_label, x_title),
                    key=key("curves", sweep.id), width="stretch")
    st.caption(f"Each trial's {config.objective_label} as it trained. Grey dashed curves were cut short by the "
               "pruner, because they were doing worse than the others at the same point.")


@st.cache_data(show_spinner="Computing the importances…", max_entries=64)
def _importances(home: str, sweep_id: int, complete: int) -> tuple[dict[str, float], str]:
    """fANOVA importances, computed again only when another trial completed."""
    return analysis.importances(SweepStore(home).get(sweep_id))


def importances_view(sweeps: SweepStore, sweep: Sweep, frame) -> None:
    complete = int((frame["state"] == "complete").sum())
    values, message = _importances(str(sweeps.home), sweep.id, complete)
    st.markdown("**Which settings mattered**")
    if not values:
        st.info(message)
        return
    st.plotly_chart(sweep_figures.importances_figure(values), key=key("importances", sweep.id), width="stretch")
    st.caption("How much of the difference between the trials' scores each setting explains (fANOVA). A long "
               "bar is worth tuning carefully; a short one hardly matters in this range.")
