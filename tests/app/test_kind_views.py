"""The kinds' views in the dashboard: one module per registered kind, and the Draw page's tabs and
"Learn as you draw" starts asked of each kind's module instead of its name."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dashboard.kinds import VIEWS, draw_tabs, learns_from_drawings, views
from metalearn_core import kinds


def fake_run(kind: str, algorithm: str = "", config_error: str = "") -> SimpleNamespace:
    """What ``learns_from_drawings`` reads of a run: its kind, whether its config reads, its section."""
    return SimpleNamespace(kind=kind, config_error=config_error,
                           config=SimpleNamespace(settings=SimpleNamespace(algorithm=algorithm)))


def test_every_registered_kind_has_its_views_and_nothing_else():
    assert tuple(VIEWS) == kinds.names()
    for name in kinds.names():
        assert views(name).__name__ == f"dashboard.kinds.{name}"
        assert callable(views(name).results)
    with pytest.raises(KeyError):
        views("bogus")


def test_the_draw_page_gets_the_teach_and_the_online_tab_in_registry_order():
    tabs = draw_tabs()
    assert [label for label, _ in tabs] == ["Teach it your handwriting (few-shot)", "Learn as you draw (online)"]
    assert [show.__module__ for _, show in tabs] == ["dashboard.kinds.fewshot", "dashboard.kinds.online"]


@pytest.mark.parametrize(("run", "learns"), [
    (fake_run("base"), True),
    (fake_run("fewshot", "maml"), True),
    (fake_run("fewshot", "reptile"), True),
    (fake_run("fewshot", "protonet"), False),  # no initialisation to adapt
    (fake_run("stacked"), False),
    (fake_run("online"), False),
    (fake_run("base", config_error="run 3 config: not JSON"), False),
    (fake_run("distill"), False),  # a kind this lab does not know
])
def test_learn_as_you_draw_starts_from_the_runs_their_kind_allows(run, learns):
    assert learns_from_drawings(run) is learns
