"""Links a visitor may be sent (AppTest): every page that reads its address survives a hostile one
with no traceback, and a damaged ``?config=`` says so in one clear line. And should a page still
raise, the visitor sees no traceback, message or server path (``client.showErrorDetails``).

The cases: JSON nested 100,000 deep (295 characters of link, a ``RecursionError`` in Python's
parser), a 119 KB link that unpacks to 92 MB, a Unicode digit (``"²".isdigit()`` is true but
``int("²")`` fails) and an id beyond SQLite's integer range (``OverflowError``)."""

from __future__ import annotations

import base64
import tomllib
import zlib
from pathlib import Path

import pytest
from app_pages import open_page
from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

from metalearn_core.config import LayerConfig, NetworkConfig, RunConfig, TrainingConfig
from metalearn_core.runs.store import RunStore
from metalearn_core.sweeps.config import SweepConfig
from metalearn_core.sweeps.space import SearchSpace
from metalearn_core.sweeps.store import SweepStore

ROOT = Path(__file__).resolve().parents[2]
HUGE_ID = "99999999999999999999999"


def token(data: bytes) -> str:
    """``data`` as the pages pack a configuration into a link (deflated, base64url)."""
    return base64.urlsafe_b64encode(zlib.compress(data, 9)).decode().rstrip("=")


DEEP = token(b"[" * 100_000)
BOMB = token(b'{"name": "' + b"a" * 92_000_000 + b'"}')  # about 120 KB of link


def page(path: str, **params: str) -> AppTest:
    return open_page(path, **params).run()


@pytest.fixture(scope="module")
def store_home(tmp_path_factory):
    """A home with one finished run and one finished sweep, so that the pages look the ids up."""
    home = tmp_path_factory.mktemp("links")
    tiny = RunConfig(name="tiny", base=NetworkConfig((LayerConfig("flatten"), LayerConfig("dense", units=8))),
                     training=TrainingConfig(epochs=1, train_limit=500, test_limit=100))
    store = RunStore(home)
    store.finish(store.create_run(tiny), "failed", error="stopped for the test")
    sweeps = SweepStore(home)
    sweep_id = sweeps.create(SweepConfig(space=SearchSpace.from_dict({"learning_rate": {"low": 1e-4, "high": 1e-2}}),
                                         base=tiny, trials=2, name="a sweep"))
    sweeps.update_state(sweep_id, status="cancelled")
    return home


@pytest.fixture()
def links_home(store_home, monkeypatch):
    monkeypatch.setenv("METALEARN_HOME", str(store_home))
    return store_home


def test_the_bomb_is_a_small_link_to_a_large_text():
    assert len(DEEP) < 400 and 100_000 < len(BOMB) < 200_000


@pytest.mark.parametrize("path", ["pages/train.py", "pages/sweep.py"])
@pytest.mark.parametrize(("link", "reason"), [(DEEP, "nested too deeply"), (BOMB, "too large")],
                         ids=["deep", "bomb"])
def test_a_damaged_config_link_is_one_clear_line(path, link, reason, links_home):
    at = page(path, config=link)
    assert not at.exception, at.exception
    errors = [error.value for error in at.error]
    assert any("could not be used" in error and reason in error for error in errors), errors
    assert not any("Traceback" in error for error in errors)


@pytest.mark.parametrize(("path", "name"), [
    ("pages/train.py", "run"), ("pages/compare.py", "runs"), ("pages/sweep.py", "sweep"),
    ("pages/fewshot.py", "run"), ("pages/online.py", "run"), ("pages/draw.py", "run"),
])
@pytest.mark.parametrize("value", ["²", HUGE_ID], ids=["unicode-digit", "huge"])
def test_a_bad_id_in_a_link_is_ignored(path, name, value, links_home):
    at = page(path, **{name: value})
    assert not at.exception, at.exception
    if name == "runs":
        assert any("Select runs in the table" in info.value for info in at.info)


def test_compare_keeps_the_good_ids_of_a_list(links_home):
    at = page("pages/compare.py", runs=f"²,{HUGE_ID},1,x")
    assert not at.exception, at.exception
    assert at.selectbox(key="compare.manage.run").options == ["#1 tiny"]


def test_the_app_hides_error_details():
    with (ROOT / ".streamlit" / "config.toml").open("rb") as handle:
        assert tomllib.load(handle)["client"]["showErrorDetails"] == "none"


def test_a_page_that_raises_shows_no_traceback_or_path(tmp_path):
    """AppTest reads .streamlit/config.toml as the server does (from the repository root, where the
    tests run); the browser's view of the same is tests/e2e/test_no_foreign_requests.py."""
    at = AppTest.from_string(f"raise RuntimeError('crashed in {tmp_path}')", default_timeout=APP_TIMEOUT).run()
    (shown,) = at.exception
    assert "This app has encountered an error" in shown.value
    assert str(tmp_path) not in shown.value and not shown.stack_trace and not shown.proto.type
