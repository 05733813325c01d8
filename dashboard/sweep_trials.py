"""The Sweep page's view of one sweep, live while it runs: status, buttons, the trials' table, their
curves and the settings' importances. Heavy: loads pandas and plotly (the trials' tables and figures),
so the page imports it after its form is drawn."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from dashboard.sweep import key
from dashboard.text import plain
from metalearn_core import kinds, runner
from metalearn_core.config import ConfigError
from metalearn_core.runs.store import RunStore
from metalearn_core.safe_input import try_parse_id
from metalearn_core.sweeps import analysis
from metalearn_core.sweeps import figures as sweep_figures
from metalearn_core.sweeps.config import (
    PRUNER_LABELS,
    SAMPLER_LABELS,
    SweepConfig,
    objective_source,
)
from metalearn_core.sweeps.runner import RESUMABLE, cancel_sweep, resume_sweep
from metalearn_core.sweeps.store import Sweep, SweepStore

REFRESH_SECONDS = 2.0
# Plain symbols rather than emoji: every font has them, so they show even where no emoji font is installed.
STATE_ICONS = {"complete": "✓ complete", "pruned": "✂ pruned", "failed": "✗ failed", "running": "▶ running",
               "waiting": "… waiting"}
STATUS_SHOW = {"completed": st.success, "running": st.info, "queued": st.info, "cancelled": st.warning,
               "interrupted": st.warning, "failed": st.error}


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
