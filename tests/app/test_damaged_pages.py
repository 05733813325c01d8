"""Issue 22, point 6: Compare and Train show a run with a damaged evaluation.json or a text value in
the metrics table: a warning naming the run and what is damaged, no exception, the rest of the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_pages import open_page
from damaged_runs import damaged_home
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
EVALUATION_WARNING = "run 1: evaluation.json is damaged (not valid JSON); the rest of the run is shown"
METRIC_WARNING = "run 2: 1 metric row in the run store is damaged (not a number) and is left out"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("damaged")
    damaged_home(home)
    return home


def page(path: str, home: Path, monkeypatch, **query: str) -> AppTest:
    monkeypatch.setenv("METALEARN_HOME", str(home))
    return open_page(path, **query).run()


def warnings(at: AppTest) -> list[str]:
    """The warnings as a reader sees them (the page escapes them for Markdown: backslashes, word joiners)."""
    return [str(element.value).replace("\\", "").replace("\u2060", "") for element in at.warning]


def test_compare_shows_both_runs_and_says_what_is_damaged(home, monkeypatch):
    at = page("pages/compare.py", home, monkeypatch, runs="1,2")
    assert not at.exception, at.exception
    shown = warnings(at)
    assert EVALUATION_WARNING in shown
    assert any(text.startswith(METRIC_WARNING) for text in shown)
    # The rest of the page: both curve charts, run 2's confusion matrix, the parallel coordinates.
    assert len(at.get("plotly_chart")) >= 4
    assert at.dataframe[-1].value["name"].tolist() == ["broken-evaluation", "text-metric"]


def test_train_shows_a_run_with_a_damaged_evaluation(home, monkeypatch):
    at = page("pages/train.py", home, monkeypatch, run="1")
    assert not at.exception, at.exception
    assert EVALUATION_WARNING in warnings(at)
    assert at.get("plotly_chart")  # the curves
    assert any(metric.label == "Test accuracy" for metric in at.metric)


def test_train_shows_a_run_with_a_text_metric(home, monkeypatch):
    at = page("pages/train.py", home, monkeypatch, run="2")
    assert not at.exception, at.exception
    assert any(text.startswith(METRIC_WARNING) for text in warnings(at))
    assert any(metric.label == "Test accuracy" for metric in at.metric)
    assert any("Per class" in str(element.value) for element in at.markdown)  # evaluation.json still read


def test_train_shows_a_run_whose_summary_and_points_hold_text(home, monkeypatch):
    at = page("pages/train.py", home, monkeypatch, run="3")
    assert not at.exception, at.exception
    assert any(text.startswith("run 3: 1 metric row in the run store is damaged") for text in warnings(at))
    assert at.get("plotly_chart")  # the curves, from the rows that are numbers
    assert not any(metric.label == "Test accuracy" for metric in at.metric)  # "abc" is not shown as one


def test_compare_lists_a_run_whose_summary_holds_text(home, monkeypatch):
    at = page("pages/compare.py", home, monkeypatch, runs="3")
    assert not at.exception, at.exception
    assert at.dataframe[-1].value["name"].tolist() == ["text-summary"]
