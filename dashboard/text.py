r"""User text (run, sweep and owner names, tags, error notes that quote them) shown as text.

Streamlit renders Markdown nearly everywhere it shows text: ``st.markdown``, ``st.write``,
captions, alerts, toasts, headers, progress texts, metrics, and the labels of widgets, tabs,
expanders, radio options and page links. A run named ``![t](http://host/t.png)`` would make every
browser that shows it fetch that image. :func:`plain` makes a piece of text render literally
there; :func:`chart_text` does the same for Plotly, whose titles, legends and hover labels read
a little HTML (``<a href>``, ``<b>``).

Use :func:`plain` on the user's part only, where it meets a Markdown-rendering call::

    st.success(f"Run {run.id} · {plain(run.name)}: {run.status}")

Not for what Streamlit shows as plain text: ``st.text``, ``st.dataframe`` cells, the options of
``st.selectbox`` and ``st.multiselect`` (their ``format_func`` texts), text inputs' values. There the
escapes would show.

What :func:`plain` does, and why (Streamlit 1.67, checked in Chromium):

- every ASCII punctuation character gets a backslash (CommonMark lets any of them be escaped): no
  link, image, emphasis, code, heading, list, table, raw HTML, ``$`` LaTeX, ``:colour[...]``
  directive or ``:material/...:`` icon starts in user text, and Streamlit's check for emoji
  shortcodes (``:smile:``) finds none;
- an invisible word joiner (U+2060) goes after ``:`` and ``@``, between ``www`` and ``.``, and
  inside ``->``-like pairs: Streamlit turns ``http://...``, ``www.`` and e-mail addresses into links,
  ``:streamlit:`` into its logo and ``->`` into an arrow *after* Markdown's escapes are resolved,
  so escapes alone cannot stop those;
- line breaks, tabs and other control characters become spaces (a name is one line).

Light: imports no TensorFlow, Keras or pandas.

Example:
    >>> print(plain("*hi* [x](y) #1"))
    \*hi\* \[x\]\(y\) \#1
    >>> chart_text("<a href='x'>y</a>")
    "&lt;a href='x'&gt;y&lt;/a&gt;"
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Where an invisible joiner breaks what Streamlit finds in text after Markdown is parsed: links
# (scheme://, www., e-mail addresses), :shortcodes: and arrows or dashes made of two characters.
_JOINS = re.compile(r"(?<=[:@])|(?<=www)(?=\.)|(?<=[-<>~])(?=[-<>=])", re.IGNORECASE)
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # all of ASCII's punctuation


def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it character for character."""
    value = _CONTROL.sub(" ", str(text))
    return _PUNCTUATION.sub(r"\\\1", _JOINS.sub(WORD_JOINER, value))


def chart_text(text: object) -> str:
    """``text`` for a Plotly title, legend or hover label: ``&``, ``<`` and ``>`` as entities, which
    Plotly shows as the characters (so ``<a href=...>`` in a name is no link)."""
    return _CONTROL.sub(" ", str(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
