"""Views of transfer runs: a finished run's learning curve, and the launcher under a finished base run.

A transfer run is launched from the results of the base run it starts from (:func:`launcher`), not
from the Train page's run kinds; the Train page shows its results when it watches it (``?run=ID``).
"""

from __future__ import annotations

import streamlit as st

from dashboard import common
from dashboard import results as result_views
from dashboard.text import plain
from metalearn_core import runner
from metalearn_core.config import DATASETS, ConfigError
from metalearn_core.data.domains import DOMAIN_LABELS
from metalearn_core.kinds.transfer.config import TRANSFER_MODES, TransferConfig, shots_label
from metalearn_core.kinds.transfer.source import target_domain, transfer_config
from metalearn_core.runs.run_files import DamagedFile
from metalearn_core.runs.store import Run, RunStore

PREFIX = "transfer"
SHOT_CHOICES = (1, 2, 5, 10, 20, 50, 100, 500, 0)


def key(name: str, run_id: int) -> str:
    return f"{PREFIX}.{name}.{run_id}"


def _headline(results: dict) -> None:
    """The fewest examples per class: scratch beside the best transfer mode."""
    from metalearn_core.kinds.transfer import results as transfer_results  # heavy: pandas, plotly

    frame = transfer_results.curve_frame(results)
    fewest = frame[frame["shots"] == results["shots"][0]].set_index("mode")["mean"]
    columns = st.columns(len(fewest))
    for column, mode in zip(columns, results["modes"]):
        delta = None if mode == "scratch" else f"{100 * (fewest[mode] - fewest['scratch']):+.1f} points vs scratch"
        column.metric(f"{shots_label(results['shots'][0])} per class: {transfer_results.MODE_SHORT[mode]}",
                      f"{100 * fewest[mode]:.1f}%", delta)


def results(store: RunStore, run: Run) -> None:
    """The learning curve (test accuracy against labelled examples per class, one line per mode)
    and its table."""
    from metalearn_core.kinds.transfer import results as transfer_results  # heavy: pandas, plotly

    result_views.status_line(run)
    try:
        results = transfer_results.read_results(run.folder)
    except DamagedFile as error:
        st.warning(plain(str(error)))
        return
    if results is None:
        st.info("This transfer run has no results to show: it did not complete.")
        return
    st.caption(f"Trained on {results['train_samples']:,} target images at most, scored on "
               f"{results['test_samples']:,} test images; {results['repeats']} repeat(s) per point, each on its "
               "own random sample.")
    _headline(results)
    st.plotly_chart(transfer_results.learning_curve_figure(results), key=f"transfer.curve.{run.id}", width="stretch")
    st.caption("Each line is one way of learning the new domain from the same few labelled examples; the band "
               "is the spread over repeats. Where a transfer line sits above 'from scratch', what the network "
               "learned on the first domain helps; below it, the old features get in the way. The gap usually "
               "narrows as labels become plentiful.")
    st.dataframe(transfer_results.results_table(results), hide_index=True)
    st.caption("Test accuracy in %, mean ± standard deviation over repeats. The gain is the best transfer "
               "mode minus training from scratch.")


def launcher(store: RunStore, run: Run) -> None:
    """Under a finished base run (the base kind's results call it): carry its network to another
    domain (a transfer run)."""
    from metalearn_core.kinds.transfer import results as transfer_results  # heavy: pandas, plotly

    if run.status != "completed" or run.config_error:
        return
    source = run.config.training.dataset
    other = target_domain(source)
    with st.expander(f"Transfer this network to {DOMAIN_LABELS[other]}"):
        st.caption("Re-train this network on the other domain from only a few labelled examples per class, "
                   "against the same network trained from scratch: what does its head start buy?")
        target = st.selectbox("Target domain", DATASETS, index=DATASETS.index(other), format_func=DOMAIN_LABELS.get,
                              key=key("target", run.id))
        modes = st.multiselect("Beside training from scratch", TRANSFER_MODES, default=list(TRANSFER_MODES),
                               format_func=transfer_results.MODE_LABELS.get, key=key("modes", run.id))
        shots = st.multiselect("Labelled examples per class", SHOT_CHOICES, default=[1, 5, 20, 100, 0],
                               format_func=shots_label, key=key("shots", run.id))
        repeats = st.number_input("Repeats per point", 1, 10, 2, key=key("repeats", run.id))
        if st.button("Launch transfer", key=key("launch", run.id),
                     disabled=not shots or bool(common.read_only_reason(store))):
            _launch(store, source_run=run.id, target=target, modes=tuple(modes), shots=tuple(shots),
                    repeats=int(repeats))


def _launch(store: RunStore, **settings) -> None:
    try:
        config = transfer_config(store, TransferConfig(**settings))
    except ConfigError as error:
        st.error(plain(str(error)))
        return
    run_id = runner.launch(store, config, common.mnist_path())
    st.session_state["train.run_id"] = run_id
    st.query_params["run"] = str(run_id)
    st.toast(f"Transfer run {run_id} launched")
    st.rerun()
