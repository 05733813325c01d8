"""The pages do not change on PostgreSQL: every page renders the same runs from a PostgreSQL store
(METALEARN_DB) as from the embedded SQLite one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["app.py", "pages/train.py", "pages/compare.py", "pages/sweep.py", "pages/fewshot.py", "pages/draw.py"]


@pytest.fixture(scope="module")
def postgres_home(tmp_path_factory, postgres_server, mnist, record_run):
    from tools import services

    url = services.create_database(postgres_server, f"app_pages_{os.getpid()}")
    home = tmp_path_factory.mktemp("pg-home")
    store = RunStore(home, database=url)
    tiny = NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=32)))
    for seed in (0, 1):
        record_run(store, RunConfig(name=f"pg-small-{seed}", base=tiny, training=TrainingConfig(
            epochs=2, train_limit=1500, test_limit=300, seed=seed)), mnist)
    store.db.close()
    return home, url


@pytest.mark.parametrize("path", PAGES)
def test_pages_show_the_runs_of_a_postgres_store(path, postgres_home, monkeypatch):
    home, url = postgres_home
    monkeypatch.setenv("METALEARN_HOME", str(home))
    monkeypatch.setenv("METALEARN_DB", url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if path != "app.py":
        at.switch_page(path)
    if path.endswith("compare.py"):
        at.query_params["runs"] = "1,2"
    at.run()
    assert not at.exception, at.exception
    assert not (home / "runs.sqlite").exists(), "nothing was written to an SQLite file beside the app"
    if path == "app.py":
        assert at.dataframe[0].value["name"].tolist() == ["pg-small-1", "pg-small-0"]
    if path.endswith("compare.py"):
        assert len(at.get("plotly_chart")) >= 4  # curves and confusion matrices of both runs
