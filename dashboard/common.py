"""Cached resources shared by the pages: each is a one-line wrapper over an uncached core call.

Light: imports no TensorFlow, Keras or pandas (every page imports it before drawing); the model
loader, :func:`predictor`, loads TensorFlow when first called.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import classroom
from dashboard.text import plain
from metalearn_core import runner
from metalearn_core.classroom import ScopedRunStore
from metalearn_core.config import RunConfig
from metalearn_core.data.domains import DOMAIN_LABELS, load_domain
from metalearn_core.data.mnist import DataError, MnistData, load_mnist
from metalearn_core.runs.database import RECOVER_COMMAND, CorruptDatabase, DatabaseError
from metalearn_core.runs.settings import Settings, get_settings
from metalearn_core.runs.shared_reads import SharedReads
from metalearn_core.runs.store import Run, RunNotFound, RunStore


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner=False)
def store(home: str | None = None) -> RunStore:
    return RunStore(home or settings().home)


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist(path: str | None = None) -> MnistData:
    return load_mnist(path)


def mnist_path() -> str | None:
    path = settings().mnist_path
    return str(path) if path else None


@st.cache_resource(show_spinner="Loading the data…", max_entries=4)
def domain(name: str, path: str | None = None) -> MnistData:
    return load_domain(name, path)


def fashion() -> MnistData:
    """Fashion-MNIST from the configured source (raises DataError, with how to get it, when absent)."""
    path = settings().fashion_path
    return domain("fashion_mnist", str(path) if path else None)


def run_data(dataset: str) -> MnistData:
    """The data a run of ``dataset`` learned and was tested on (MNIST or Fashion-MNIST)."""
    return fashion() if dataset == "fashion_mnist" else current_mnist()


def fashion_line() -> tuple[str, str]:
    """Fashion-MNIST's availability in one line: ("caption", where it comes from) or ("warning",
    why it is missing and how to get it)."""
    try:
        return "caption", fashion().describe()
    except DataError as error:
        return "warning", f"{DOMAIN_LABELS['fashion_mnist']} runs are unavailable: {error}"


def current_store() -> RunStore:
    """The run store as the person looking sees it (in classroom mode, scoped to their runs).

    A database that cannot be opened or read (damaged, unreachable) stops the page with one message
    naming it and what to do (the cached store is not kept when opening fails, so the next page
    load tries again, say after ``store recover``)."""
    viewer = classroom.viewer()
    try:
        base = store(str(settings().home))
        base.check_database()
    except DatabaseError as error:
        st.error(plain(f"The run store cannot be used: {error}"))
        if isinstance(error, CorruptDatabase):
            st.code(RECOVER_COMMAND, language="bash")
        st.stop()
    return ScopedRunStore(base, viewer) if viewer.email else base


def read_only_reason(store: RunStore) -> str:
    """Why nothing can be launched or changed (the data home is read-only here); empty when it can."""
    return _base(store).read_only_reason


def frozen(figure):
    """``figure``, with its dictionary form computed once and kept: st.plotly_chart calls
    ``figure.to_dict()`` on every draw, a deep copy of every trace with its arrays re-encoded, which
    for a figure shared by thirty sessions was half of what the server did for each refresh. Only
    for figures that are never changed again (the returned dictionary is the same object each time,
    and st.plotly_chart only reads it)."""
    as_dict = figure.to_dict()
    figure.to_dict = lambda: as_dict
    return figure


@st.cache_resource(max_entries=64, show_spinner=False)
def _shared_figure(name: str, home: str, run_id: int, version: str, _build):
    return frozen(_build())


def shared_figure(name: str, run_id: int, data: tuple[list, ...], build):
    """``build()``'s figure of a run's ``data`` (lists of stored rows, which only grow), built once per
    server for each state of that data: every session watching the same live run shares it, so
    thirty students on one run cost one figure build per new point, not thirty. Figures are never
    changed after they are built (st.plotly_chart only reads them)."""
    version = "|".join(f"{len(rows)}:{rows[-1]!r}" if rows else "0" for rows in data)
    return _shared_figure(name, str(settings().home), run_id, version, build)


# One per server: every session's live panel reads through it (see metalearn_core/runs/shared_reads.py).
# A quarter of a second: a live curve is at most that much older than the store, against a refresh a second.
LIVE_READS = SharedReads(ttl=0.25)


def _base(store: RunStore) -> RunStore:
    return store.store if isinstance(store, ScopedRunStore) else store


def live_run(store: RunStore, run_id: int) -> Run:
    """``store.get(run_id)`` as the live panel reads it once a second: shared by the sessions of
    this server for a quarter of a second. Scoping still holds: in classroom mode a run the
    viewer may not see answers as missing (RunNotFound), as ``store.get`` would."""
    base = _base(store)
    run = LIVE_READS.get((str(base.home), "run", run_id), lambda: base.get(run_id))
    if isinstance(store, ScopedRunStore) and not store.viewer.can_see(run.owner):
        raise RunNotFound(run_id)
    return run


def live_rows(store: RunStore, run: Run, what: str) -> list:
    """``store.<what>(run.id)`` (metrics, points, layer_stats) for a run got from ``store``,
    shared by the sessions of this server for a quarter of a second. The lists are never changed."""
    base = _base(store)
    return LIVE_READS.get((str(base.home), what, run.id), lambda: getattr(base, what)(run.id))


def current_mnist() -> MnistData:
    return mnist(mnist_path())


PAGES = [("app.py", "Home", ":material/home:"), ("pages/train.py", "Train", ":material/model_training:"),
         ("pages/compare.py", "Compare", ":material/compare_arrows:"),
         ("pages/sweep.py", "Sweep", ":material/tune:"),
         ("pages/fewshot.py", "Few-shot", ":material/school:"),
         ("pages/online.py", "Online", ":material/stream:"),
         ("pages/draw.py", "Draw", ":material/draw:")]


def keep_warm_worker() -> None:
    """Have a warm worker (TensorFlow imported, MNIST loaded) waiting for the next launch.

    Called by every page as it starts, so the first page a new user opens on a fresh server
    starts one and a Launch seconds later finds it (it waits for that worker to finish warming up
    rather than starting a second process). None starts while a run trains, nor in a read-only
    data home (which the sidebar then says)."""
    store = current_store()
    reason = read_only_reason(store)
    if reason:
        st.sidebar.warning(plain(reason[0].upper() + reason[1:] + "."))
        return
    runner.ensure_spare(_base(store), mnist_path())  # the whole store: another person's run may be training


def sidebar(data: bool = True) -> None:
    """The page list with readable names, then (unless the page shows it itself) the data source.

    In classroom mode it first asks for sign-in (:func:`dashboard.classroom.gate`). Also keeps a
    warm worker ready (:func:`keep_warm_worker`)."""
    classroom.gate()
    keep_warm_worker()
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
    if data:
        data_notice()


def data_notice() -> None:
    """One line in the sidebar on each data source: MNIST (a warning when it is only the offline
    sample), then Fashion-MNIST (a warning with how to get it when it is missing)."""
    try:
        data = current_mnist()
    except Exception as error:  # noqa: BLE001 - shown to the user, not raised
        st.sidebar.error(f"MNIST could not be loaded: {error}")
        return
    if data.is_sample:
        st.sidebar.warning(data.notice)
    else:
        st.sidebar.caption(data.describe())
    level, line = fashion_line()
    getattr(st.sidebar, level)(line)


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _predictor(run_id: int, folder: str, config_json: str):
    from metalearn_core.predictor import load_predictor  # heavy: TensorFlow

    return load_predictor(Path(folder), RunConfig.from_json(config_json))


def predictor(run_id: int):
    """A finished run's predictor, loaded once per server (keyed by the run's folder and config)."""
    run = current_store().get(run_id)
    return _predictor(run_id, str(run.folder), run.config_json)
