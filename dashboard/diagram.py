"""The network at a glance, drawn as plain HTML boxes (no plotly, so Train's first paint stays light).

The shapes and counts come from the run kind's ``diagram`` hook (its ``diagram.py``, made of the
parts in :mod:`metalearn_core.models.diagram`); this module only lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import streamlit as st

from metalearn_core import kinds
from metalearn_core.config import NetworkConfig
from metalearn_core.models.diagram import Box, Chain, Diagram, format_shape, network_chain

CAPTION = ("Each row is a layer, top to bottom as an image flows through: the shape it passes on and how many "
           "numbers (parameters) it learns, the bar its share; dashed rows are added automatically. The longest "
           "bars show where the parameters are, usually in the first dense layer after a flatten.")

STYLE = """<style>
.nd {font-size: 0.78rem; line-height: 1.3;}
.nd-total {margin-bottom: 0.3rem;}
.nd-chain {margin: 0.15rem 0 0.45rem 0;}
.nd-title {font-weight: 600; margin-bottom: 0.1rem;}
.nd-box, .nd-in {display: grid; grid-template-columns: 2.1fr 1.1fr 1fr 3.2rem; column-gap: 0.4rem;
  align-items: center; border: 1px solid rgba(128,128,128,0.45); border-radius: 0.3rem;
  padding: 0.05rem 0.4rem; margin-bottom: 2px; background: rgba(128,128,128,0.06);}
.nd-in {border-color: transparent; background: rgba(80,140,240,0.15);}
.nd-box.nd-implicit {border-style: dashed; background: transparent;}
.nd-box.nd-implicit .nd-label {font-weight: 400; font-style: italic;}
.nd-label {font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;}
.nd-shape, .nd-params {white-space: nowrap; font-variant-numeric: tabular-nums;}
.nd-params {text-align: right;}
.nd-bar {height: 6px; background: rgba(128,128,128,0.18); border-radius: 3px;}
.nd-bar i {display: block; height: 6px; background: #ff4b4b; border-radius: 3px; min-width: 1px;}
.nd-head {opacity: 0.65; border: none; background: none; margin-bottom: 0;}
.nd-link {margin: 0.1rem 0 0.3rem 0.2rem; opacity: 0.85;}
.nd-problem {margin-top: 0.2rem; padding: 0.25rem 0.4rem; border-radius: 0.3rem; color: #d33;
  background: rgba(255,75,75,0.10);}
.nd-note {margin-top: 0.1rem; opacity: 0.8;}
</style>"""
HEADER = ('<div class="nd-box nd-head"><span>layer</span><span>output</span><span class="nd-params">parameters</span>'
          '<span>share</span></div>')


def of_kind(kind: str, base: NetworkConfig, meta: NetworkConfig,
            sections: Mapping[str, Mapping[str, Any]] | None = None) -> Diagram:
    """The diagram of a run of ``kind`` from a page's editors (a run config need not exist yet: the
    diagram also shows why one cannot be built): the kind's ``diagram`` hook, given its own section's
    values out of ``sections`` (by section name, as the Train page gathers them), else the base
    network alone.

    Example:
        >>> of_kind("stacked", NetworkConfig(()), NetworkConfig(()), {"stacking": {}}).layout
        'stacked'
    """
    run_kind = kinds.get(kind)
    if run_kind.diagram is None:
        return Diagram((network_chain(base),))
    return run_kind.diagram(base, meta, (sections or {}).get(run_kind.section) or {})


def _count(box: Box) -> str:
    if not box.params:
        return "–"
    return f"{box.params:,}*" if box.frozen else f"{box.params:,}"


def _box_html(box: Box, total: int) -> str:
    share = 100 * box.params / total if total else 0
    bar = f'<div class="nd-bar" title="{share:.1f}% of all parameters"><i style="width:{share:.1f}%"></i></div>'
    kind = "nd-box nd-implicit" if box.implicit else "nd-box"
    return (f'<div class="{kind}" title="{escape(box.note)}"><span class="nd-label">{escape(box.label)}</span>'
            f'<span class="nd-shape">{format_shape(box.shape)}</span><span class="nd-params">{_count(box)}</span>'
            f'{bar if box.params else "<span></span>"}</div>')


def _chain_html(chain: Chain, total: int) -> str:
    parts = [f'<div class="nd-title">{escape(chain.title)} · {chain.params:,} parameters</div>',
             f'<div class="nd-in"><span>{escape(chain.input_label)}</span><span>input</span></div>',
             *(_box_html(box, total) for box in chain.boxes)]
    if chain.note:
        parts.append(f'<div class="nd-note">{escape(chain.note)}</div>')
    if chain.problem:
        parts.append(f'<div class="nd-problem">⚠ {escape(chain.problem)}</div>')
    return f'<div class="nd-chain">{"".join(parts)}</div>'


def _total_html(diagram: Diagram) -> str:
    frozen = diagram.params - diagram.trainable
    extra = f" (* {frozen:,} of them are batch-norm running statistics, not trained)" if frozen else ""
    return f'<div class="nd-total">Total: <b>{diagram.params:,}</b> parameters{extra}.</div>'


def diagram_html(diagram: Diagram) -> str:
    """The diagram as one HTML fragment: the total, then each network as a column of layers.

    Stacked runs list their base learners, then the meta network that reads them; learned-optimizer
    runs the base network, then the optimizer that updates each of its weights."""
    total = diagram.params
    chains = [_chain_html(chain, total) for chain in diagram.chains]
    if diagram.link and len(chains) > 1:
        arrow = "⇅" if diagram.layout == "optimizer" else "↓"
        chains.insert(len(chains) - 1, f'<div class="nd-link">{arrow} {escape(diagram.link)}</div>')
    note = f'<div class="nd-note">{escape(diagram.note)}</div>' if diagram.note else ""
    return f'{STYLE}<div class="nd">{_total_html(diagram)}{HEADER}{"".join(chains)}{note}</div>'


def show(diagram: Diagram, caption: str = CAPTION) -> None:
    """The heading, the boxes and a caption saying how to read them."""
    st.markdown("**The network at a glance**")
    st.html(diagram_html(diagram))
    st.caption(caption)
