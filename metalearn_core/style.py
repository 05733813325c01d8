"""The figure style every chart of the lab shares: the plotly template, the series colours, the
highlight and diverging colours, and the chart that says why it is empty.

The figures over runs (:mod:`metalearn_core.figures`), the kinds' results and Inside figures and
the sweeps' figures all draw with these, so a series keeps its colour from page to page.

Example:
    >>> series_colour(0), series_colour(len(PALETTE))
    ('#636EFA', '#636EFA')
    >>> rgba("#EF553B", 0.15)
    'rgba(239, 85, 59, 0.15)'
"""

from __future__ import annotations

import plotly.graph_objects as go

TEMPLATE = "plotly_white"
# Plotly's default qualitative colours, spelled out so the series colours stay stable.
PALETTE = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A",
           "#19D3F3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52")
HIGHLIGHT = "#EF553B"
PLAIN = "#9DB4D8"
# White in the middle so "no difference" reads as empty; blue where A has more, red where B has.
DIVERGING = [[0.0, "#B2182B"], [0.5, "#F7F7F7"], [1.0, "#2166AC"]]


def series_colour(index: int) -> str:
    """The colour of series number ``index`` (the palette repeats after ten)."""
    return PALETTE[index % len(PALETTE)]


def rgba(hex_colour: str, alpha: float) -> str:
    """``"#RRGGBB"`` with opacity ``alpha``, as plotly's ``"rgba(r, g, b, a)"`` (bands behind a curve).

    Example:
        >>> rgba("#000000", 0.5)
        'rgba(0, 0, 0, 0.5)'
    """
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def message_figure(message: str, title: str = "", height: int = 300) -> go.Figure:
    """An empty chart that says why it is empty, instead of blank axes.

    Example:
        >>> message_figure("no runs yet").layout.annotations[0].text
        'no runs yet'
    """
    figure = go.Figure()
    figure.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                          font={"size": 16})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(template=TEMPLATE, title=title or None, height=height)
    return figure
