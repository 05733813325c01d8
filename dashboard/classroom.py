"""Classroom mode in the pages: sign-in with ``st.login`` and the viewer every store is scoped to.

Off unless ``METALEARN_CLASSROOM=1`` (see docs/classroom.md); the scoping itself is
:mod:`metalearn_core.classroom`.
"""

from __future__ import annotations

import streamlit as st

from dashboard.text import plain
from metalearn_core.classroom import ClassroomSettings, Viewer, classroom_settings

WHOLE_CLASS_KEY = "classroom.whole_class"


def _settings() -> ClassroomSettings:
    try:
        return classroom_settings()
    except ValueError as error:
        st.error(str(error))
        st.stop()


def enabled() -> bool:
    return _settings().enabled


def _email() -> str:
    return str(st.user.get("email") or "").strip().lower()


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def gate() -> None:
    """First thing on every page: with classroom mode on, nothing shows until the person signs in;
    then the sidebar says who they are (a teacher also gets the whole-class switch) and offers sign-out."""
    settings = _settings()
    if not settings.enabled:
        return
    if not _auth_configured():
        st.error("Classroom mode is on (METALEARN_CLASSROOM=1) but `.streamlit/secrets.toml` has no `[auth]` "
                 "section, so nobody can sign in. See docs/classroom.md for a worked example.")
        st.stop()
    if not st.user.is_logged_in:
        st.title("Meta-learning lab")
        st.info("This lab is in classroom mode: sign in to see and launch your own runs.")
        st.button("Sign in", key="classroom.login", on_click=st.login, type="primary")
        st.stop()
    email = _email()
    if not email:
        st.error("Your sign-in provider did not share an e-mail address, and the lab files each run under its "
                 "owner's e-mail. Ask your teacher to add the `email` scope (see docs/classroom.md).")
        st.button("Sign out", key="classroom.logout", on_click=st.logout)
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as **{plain(email)}**" + (" (teacher)" if settings.is_teacher(email) else ""))
        if settings.is_teacher(email):
            st.toggle("Whole class", key=WHOLE_CLASS_KEY,
                      help="See, compare and manage every student's runs and sweeps, not only your own.")
        st.button("Sign out", key="classroom.logout", on_click=st.logout)


def viewer() -> Viewer:
    """Who is looking: an anonymous viewer (sees everything) unless classroom mode is on."""
    settings = _settings()
    if not settings.enabled:
        return Viewer()
    if not st.user.is_logged_in or not _email():
        st.stop()  # gate() has said why; no page reads a store for nobody
    email = _email()
    teacher = settings.is_teacher(email)
    return Viewer(email=email, teacher=teacher, whole_class=teacher and bool(st.session_state.get(WHOLE_CLASS_KEY)))
