"""Opening a page as a user does, for the AppTests: the app started at its home script, switched to
``path`` as a click in the sidebar would, with the link's query parameters set."""

from __future__ import annotations

from pathlib import Path

from busy_machine import APP_TIMEOUT
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def open_page(path: str, **query: str) -> AppTest:
    """The page ready to run (``.run()`` it); ``query`` becomes the link's ``?key=value``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if path != "app.py":
        at.switch_page(path)
    for key, value in query.items():
        at.query_params[key] = value
    return at
