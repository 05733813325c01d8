"""The network at a glance, drawn as plain HTML boxes (no plotly, so Train's first paint stays light).

The shapes and counts come from :mod:`metalearn_core.inside.diagram`; this module only lays them out.
"""

from __future__ import annotations

from html import escape

import streamlit as st

from metalearn_core.inside.diagram import Box, Chain, Diagram, format_shape

CAPTION = ("Each box is a layer, left to right as an image flows through it: its name, the shape of what it "
           "passes on, and how many numbers (parameters) it learns; the bar is its share of all of them. Dashed "
           "boxes are added automatically. Look for the longest bars: that is where the parameters are, usually "
           "the first dense layer after a flatten. Change a layer and the boxes follow.")

STYLE = """<style>
.nd {font-size: 0.78rem; line-height: 1.25;}
.nd-total {margin-bottom: 0.35rem;}
.nd-chain {margin: 0.2rem 0 0.4rem 0;}
.nd-title {font-weight: 600; margin-bottom: 0.15rem;}
.nd-row {display: flex; flex-wrap: wrap; align-items: stretch; gap: 0.25rem;}
.nd-box, .nd-in {border: 1px solid rgba(128,128,128,0.55); border-radius: 0.35rem; padding: 0.2rem 0.35rem;
  background: rgba(128,128,128,0.07); min-width: 4.6rem;}
.nd-in {border-style: none; background: rgba(80,140,240,0.14); display: flex; align-items: center;}
.nd-box.nd-implicit {border-style: dashed; opacity: 0.85;}
.nd-label {font-weight: 600; white-space: nowrap;}
.nd-shape {opacity: 0.8;}
.nd-bar {height: 4px; background: rgba(128,128,128,0.2); border-radius: 2px; margin-top: 0.15rem;}
.nd-bar i {display: block; height: 4px; background: #ff4b4b; border-radius: 2px;}
.nd-arrow {align-self: center; opacity: 0.6;}
.nd-link {margin: 0.15rem 0 0.25rem 0.3rem; opacity: 0.85;}
.nd-problem {margin-top: 0.25rem; padding: 0.25rem 0.4rem; border-radius: 0.3rem; color: #d33;
  background: rgba(255,75,75,0.10);}
.nd-note {margin-top: 0.15rem; opacity: 0.8;}
</style>"""


def _count(box: Box) -> str:
    if not box.params:
        return "no weights"
    text = f"{box.params:,} params"
    return f"{text} ({box.frozen:,} not trained)" if box.frozen else text


def _box_html(box: Box, total: int) -> str:
    share = 100 * box.params / total if total else 0
    bar = f'<div class="nd-bar"><i style="width:{share:.1f}%"></i></div>' if box.params else ""
    percent = f" · {share:.0f}%" if box.params and total else ""
    kind = "nd-box nd-implicit" if box.implicit else "nd-box"
    return (f'<div class="{kind}" title="{escape(box.note)}"><div class="nd-label">{escape(box.label)}</div>'
            f'<div class="nd-shape">{format_shape(box.shape)}</div><div>{_count(box)}{percent}</div>{bar}</div>')


def _chain_html(chain: Chain, total: int) -> str:
    pieces = [f'<div class="nd-in">{escape(chain.input_label)}</div>']
    pieces += [_box_html(box, total) for box in chain.boxes]
    row = '<span class="nd-arrow">→</span>'.join(pieces)
    parts = [f'<div class="nd-title">{escape(chain.title)} · {chain.params:,} parameters</div>',
             f'<div class="nd-row">{row}</div>']
    if chain.note:
        parts.append(f'<div class="nd-note">{escape(chain.note)}</div>')
    if chain.problem:
        parts.append(f'<div class="nd-problem">⚠ {escape(chain.problem)}</div>')
    return f'<div class="nd-chain">{"".join(parts)}</div>'


def _total_html(diagram: Diagram) -> str:
    frozen = diagram.params - diagram.trainable
    extra = f", of which {frozen:,} are batch-norm running statistics, not trained" if frozen else ""
    return f'<div class="nd-total">Total: <b>{diagram.params:,}</b> parameters{extra}.</div>'


def diagram_html(diagram: Diagram) -> str:
    """The diagram as one HTML fragment: the total, then each network as a row of boxes.

    Stacked runs list their base learners, then the meta network that reads them; learned-optimizer
    runs the base network, then the optimizer that updates each of its weights."""
    total = diagram.params
    chains = [_chain_html(chain, total) for chain in diagram.chains]
    if diagram.link and len(chains) > 1:
        arrow = "⇅" if diagram.layout == "optimizer" else "↓"
        chains.insert(len(chains) - 1, f'<div class="nd-link">{arrow} {escape(diagram.link)}</div>')
    note = f'<div class="nd-note">{escape(diagram.note)}</div>' if diagram.note else ""
    return f'{STYLE}<div class="nd">{_total_html(diagram)}{"".join(chains)}{note}</div>'


def show(diagram: Diagram, caption: str = CAPTION) -> None:
    """The heading, the boxes and a caption saying how to read them."""
    st.markdown("**The network at a glance**")
    st.html(diagram_html(diagram))
    st.caption(caption)
