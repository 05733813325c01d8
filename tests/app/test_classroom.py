"""Classroom mode in the pages (AppTest, with ``st.user`` seeded as a signed-in person)."""

from __future__ import annotations

from pathlib import Path

import pytest
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from dashboard.text import plain
from metalearn_core.config import RunConfig
from metalearn_core.runs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
ADA, BOB, TEACHER = "ada@school.org", "bob@school.org", "teach@school.org"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-secret",
        "client_id": "lab", "client_secret": "secret",
        "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"}


def page(path: str, email: str | None, auth: bool = True) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if path != "app.py":
        at.switch_page(path)
    if auth:
        at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email, "name": email}
    return at


@pytest.fixture
def classroom(home, monkeypatch):
    monkeypatch.setenv("METALEARN_CLASSROOM", "1")
    monkeypatch.setenv("METALEARN_TEACHERS", TEACHER)
    store = RunStore(home)
    runs = {"ada": store.create_run(RunConfig(name="ada-run"), owner=ADA),
            "bob": store.create_run(RunConfig(name="bob-run"), owner=BOB)}
    for run_id in runs.values():
        store.finish(run_id, "failed", error="stopped for the test")
    return store, runs


def table_names(at: AppTest) -> set[str]:
    return {name for frame in at.dataframe for name in frame.value.get("name", [])}


@pytest.mark.parametrize("path", ["app.py", "pages/train.py", "pages/compare.py", "pages/sweep.py", "pages/draw.py"])
def test_nothing_shows_before_sign_in(path, classroom):
    at = page(path, None).run()
    assert not at.exception, at.exception
    assert at.button(key="classroom.login").label == "Sign in"
    assert not at.dataframe and not at.get("plotly_chart")  # no run, no curve, no table leaks out


def test_without_an_auth_section_the_page_says_how_to_set_it_up(classroom):
    at = page("app.py", ADA, auth=False).run()
    assert not at.exception
    assert any("[auth]" in error.value and "docs/classroom.md" in error.value for error in at.error)
    assert not at.dataframe


@pytest.mark.parametrize("path", ["app.py", "pages/compare.py"])
def test_a_student_sees_only_their_own_runs(path, classroom):
    at = page(path, ADA).run()
    assert not at.exception, at.exception
    assert table_names(at) == {"ada-run"}
    assert any(plain(ADA) in caption.value for caption in at.sidebar.caption)  # shown as text
    assert not at.sidebar.toggle  # no whole-class switch for a student


def test_a_student_cannot_open_someone_elses_run_by_link(classroom):
    _, runs = classroom
    at = page("pages/compare.py", ADA)
    at.query_params["runs"] = f"{runs['bob']},{runs['ada']}"
    at.run()
    assert not at.exception, at.exception
    assert "bob-run" not in {name for frame in at.dataframe for name in frame.value.get("name", [])}
    assert not any("bob-run" in markdown.value for markdown in at.markdown)


def test_the_teacher_switches_to_the_whole_class(classroom):
    at = page("pages/compare.py", TEACHER).run()
    assert not at.exception and table_names(at) == set()  # the teacher's own runs: none yet
    at.toggle(key="classroom.whole_class").set_value(True).run()
    assert not at.exception, at.exception
    assert table_names(at) == {"ada-run", "bob-run"}
    frame = at.dataframe[0].value
    assert set(frame["owner"]) == {ADA, BOB}


def test_a_launch_from_the_train_page_is_filed_under_the_student(classroom, monkeypatch):
    store, _ = classroom
    launched = []

    def launch(scoped, config, mnist, **options):
        launched.append(scoped.create_run(config))  # what the executors do with the store they are given
        return launched[-1]

    monkeypatch.setattr("metalearn_core.runner.launch", launch)
    at = page("pages/train.py", BOB).run()
    at.button(key="train.launch").click().run()
    assert not at.exception, at.exception
    assert launched and store.get(launched[0]).owner == BOB
    assert [run.owner for run in store.list_runs(owner=BOB)].count(BOB) == 2


def test_classroom_mode_off_shows_everyone_and_no_sign_in(home, monkeypatch):
    monkeypatch.delenv("METALEARN_CLASSROOM", raising=False)
    store = RunStore(home)
    store.finish(store.create_run(RunConfig(name="shared")), "failed", error="x")
    at = page("app.py", None, auth=False).run()
    assert not at.exception
    assert table_names(at) == {"shared"} and not at.button
