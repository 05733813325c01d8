"""Train page, learned-optimizer runs: the comparison with hand-tuned optimizers and the
generalisation checks, each one click that launches a run reusing this run's optimizer."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import common, editor
from dashboard import results as result_views
from dashboard.text import plain
from metalearn_core import runner
from metalearn_core.kinds.learned_optimizer.inside import run_inside
from metalearn_core.kinds.learned_optimizer.run import CHECKS, OPTIMIZER_FILE, check_config
from metalearn_core.runs.run_files import DamagedFile
from metalearn_core.runs.store import Run, RunStore
from metalearn_core.session import format_seconds

KIND = "learned_optimizer"


def finished_optimizers(store: RunStore) -> dict[int, str]:
    """Finished learned-optimizer runs that trained an optimizer (not checks), newest first."""
    return {run.id: f"#{run.id} · {run.name}" for run in result_views.runs_of(store, KIND, statuses=("completed",))
            if not run.config_error and not run.config.settings.reuse_optimizer_of
            and (run.folder / OPTIMIZER_FILE).exists()}


def results_panel(store: RunStore, run: Run) -> None:
    from metalearn_core.kinds.learned_optimizer import results as learnopt_results  # heavy: pandas, plotly

    try:
        results = learnopt_results.read_results(run.folder)
    except DamagedFile as error:  # its curves above still show
        st.warning(plain(str(error)))
        return
    if results is None:
        st.info("This run left no comparison (it did not finish).")
        return
    wins, sentence = learnopt_results.verdict(results)
    (st.success if wins else st.warning)(sentence[0].upper() + sentence[1:] + ".")
    training = results.get("meta_training")
    if training:
        st.caption(f"Meta-trained on {training['iterations']:,} trajectories ({training['truncations']:,} meta-gradient "
                   f"steps) in {format_seconds(training['seconds'])}. Hand optimizers' learning rates were tuned on "
                   "meta-training trajectories, never on the held-out ones below.")
    elif results.get("reused_from"):
        st.caption(f"The optimizer of run {results['reused_from']}, applied unchanged to this set-up; the hand "
                   "optimizers were re-tuned for it.")
    st.dataframe(learnopt_results.optimizer_table(results), hide_index=True, width="stretch")
    st.plotly_chart(learnopt_results.loss_curves_figure(results), key=f"lo.curves.{run.id}", width="stretch")
    inside_section(run)
    if not results.get("reused_from"):
        checks_section(store, run)


@st.cache_data(show_spinner="Drawing the optimizer's rule and replaying a held-out trajectory…", max_entries=8)
def _inside(folder: str, seed: int, sweep: str, stamp: float, _data):
    from metalearn_core.kinds.learned_optimizer.results import read_results  # heavy: pandas, plotly

    return run_inside(Path(folder), read_results(Path(folder)), _data, seed, sweep)


def inside_section(run: Run) -> None:
    """The learned update rule as a function of the gradient, and the update sizes along a trajectory."""
    from metalearn_core.kinds.learned_optimizer import inside_figures as optimizer_figures  # heavy: plotly

    st.markdown("**Inside the learned optimizer**")
    path = run.folder / OPTIMIZER_FILE
    if not path.is_file():
        st.info("This run's optimizer file (optimizer.npz) is missing, so its rule cannot be drawn.")
        return
    sweep = st.radio("Gradients to probe", ["log", "linear"], horizontal=True, key=f"lo.inside.sweep.{run.id}",
                     format_func={"log": "from 0.0001 to 10, both signs (log scale)",
                                  "linear": "a linear range around typical gradients"}.get)
    try:
        curves, magnitudes = _inside(str(run.folder), run.config.settings.seed, sweep,
                                     path.stat().st_mtime, common.current_mnist())
    except (ValueError, KeyError) as error:
        st.info(f"The optimizer's rule cannot be drawn for this run: {error}")
        return
    scale = "symlog" if sweep == "log" else "linear"
    st.plotly_chart(optimizer_figures.rule_figure(curves, scale=scale), key=f"lo.inside.rule.{run.id}",
                    width="stretch")
    size = curves.histories[1].gradient
    st.caption(f"The step one weight takes for each gradient, under each rule at its tuned learning rate: SGD's "
               f"grows with the gradient, Adam's first step is about its learning rate whatever the gradient. The "
               f"rules remember past gradients, so the lower panels first feed {curves.histories[1].steps} steps of "
               f"a constant gradient ±{size:.2g} (typical here): look for a rule that keeps its remembered direction.")
    if _net_kind(run) == "nominal":
        st.caption("This optimizer divides each input by its root mean square over the weight's tensor, so here the "
                   "probed gradients are read as one tensor, at parameter value 0; untrained it is Adam exactly.")
    st.plotly_chart(optimizer_figures.magnitudes_figure(magnitudes), key=f"lo.inside.sizes.{run.id}",
                    width="stretch")
    st.caption("The average distance each optimizer moves a weight at every step, all from the same held-out start "
               "and minibatches (bands: middle 80% of the weights that moved). Does the learned optimizer take big "
               "steps early and smaller ones later, like a learning-rate schedule?")


def _net_kind(run: Run) -> str:
    """The design of the run's optimizer network ("nominal", "dense", ...); "" when unknown."""
    from metalearn_core.kinds.learned_optimizer.results import read_results  # heavy: pandas, plotly

    try:
        net = (read_results(run.folder) or {}).get("net")
    except DamagedFile:  # the results panel above says so
        return ""
    return str(net.get("kind", "")) if isinstance(net, dict) else ""


def checks_section(store: RunStore, run: Run) -> None:
    """One button per generalisation check, then the checks already run with their verdicts."""
    from metalearn_core.kinds.learned_optimizer import results as learnopt_results  # heavy: pandas, plotly

    st.markdown("**Does it generalise?** The paper's checks, each evaluating this optimizer unchanged on a "
                "changed base network (it reported wins for all but ReLU).")
    done = {child.name: child for child in result_views.runs_of(store, KIND)
            if child.config.settings.reuse_optimizer_of == run.id}
    columns = st.columns(len(CHECKS))
    for column, (check, label) in zip(columns, CHECKS.items()):
        config = check_config(run.config, run.id, check)
        if column.button(label.capitalize(), key=f"lo.check.{run.id}.{check}", width="stretch",
                         disabled=config.name in done or bool(common.read_only_reason(store))):
            runner.launch(store, config, common.mnist_path())
            st.toast(f"Check launched: {check}")
            st.rerun()
    for name, child in sorted(done.items()):
        with st.expander(f"{name}: {child.status}", expanded=child.status == "completed"):
            try:
                results = learnopt_results.read_results(child.folder) if child.status == "completed" else None
            except DamagedFile as error:
                st.warning(plain(str(error)))
                continue
            if results is None:
                st.caption(plain(child.error) if child.error
                           else "running… the result appears here when it is done (reload the page).")
                continue
            wins, sentence = learnopt_results.verdict(results)
            (st.success if wins else st.warning)(sentence[0].upper() + sentence[1:] + ".")
            st.dataframe(learnopt_results.optimizer_table(results), hide_index=True, width="stretch")
            st.plotly_chart(learnopt_results.loss_curves_figure(results, title=name), key=f"lo.check.curves.{child.id}",
                            width="stretch")


def meta_settings(store: RunStore) -> dict[str, dict]:
    return {}  # the meta network tab's layers are the optimizer; its settings are on the Training tab


DESIGNS = {"nominal": "Adam corrected by a per-parameter MLP (default)", "dense": "MLP on gradient and momenta (earlier)"}
METHODS = {"es": "evolution strategies on whole trajectories", "backprop": "back-propagation through 20-step unrolls"}


def budget_widgets() -> dict:
    """The budget in trajectories, the dense optimizer's design and the meta-gradient estimator."""
    left, right = st.columns(2)
    trajectories = left.number_input("Meta-training budget (trajectories)", 1, 1_000_000, step=50,
                                     key=editor.key("lo_iterations"),
                                     help="The same seed and budget give the same optimizer on any machine; the "
                                          "seconds above only cap the wall time")
    design = right.selectbox("Design of a dense optimizer", list(DESIGNS), format_func=DESIGNS.get,
                             key=editor.key("lo_design"), help="LSTM layers are always the paper's LSTM")
    method = right.radio("Meta-gradient", list(METHODS), format_func=METHODS.get, key=editor.key("lo_method"),
                         horizontal=True)
    return {"iterations": int(trajectories), "design": design, "method": method}


def training_settings(store: RunStore) -> tuple[dict, dict[str, dict]]:
    """Meta-training settings; the base network's own training settings are not used by this kind."""
    return editor.training_values(), {"learned_optimizer": {**editor.learned_optimizer_widgets(), **budget_widgets()}}


def results(store: RunStore, run: Run) -> None:
    result_views.status_line(run)
    result_views.curves(store, run)
    results_panel(store, run)
