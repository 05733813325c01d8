"""The Draw page's "Inside the model" view: for one drawing, every layer's output, the first
layer's weights and which pixels decided (saliency), as cheap numpy pictures.

The computing is in :mod:`metalearn_core.inside.layers` and the pictures in
:mod:`metalearn_core.inside.layer_images`; this module only lays them out. Everything is computed
first (:func:`inside_views`) and then shown (:func:`show_inside`) as one HTML element per network,
its pictures inside it (data URIs): the browser gets the whole view in one message and fetches
nothing afterwards. The other half of being quick is :func:`keep_collections_quick`.

Light: imports no TensorFlow, Keras or pandas, so the Draw page shows its placeholder before any
model is loaded; :func:`inside_views`, called once there is a drawing and a model, loads Keras.
"""

from __future__ import annotations

import base64
import gc
import html
import io
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from PIL import Image

from metalearn_core.inside import layer_images as images

if TYPE_CHECKING:
    from metalearn_core.inside.layers import FirstLayerWeights, LayerOutput, NetworkInput, Saliency

# The saliency captions start with these, and nothing else on the page does; the saliency pictures
# are inside an element of these classes. The view is complete once the first caption and pictures
# are shown (bench/bench_app.py and the browser test wait for them).
DONE_TEXT = "Which pixels decided"
META_DONE_TEXT = "Which base outputs decided"
SALIENCY_CLASS = "inside-saliency"
META_SALIENCY_CLASS = "inside-meta-saliency"
ORDER_KEY = "draw.inside.order"
ORDERS = ("sorted", "in order")
WEIGHT_TILES = 16  # Dense units shown in the first-layer weights view
PIXELATED = "image-rendering:pixelated;max-width:100%;height:auto"  # enlarged without smoothing
CAPTION = "font-size:0.875rem;opacity:0.65;margin:0.25rem 0 0.75rem 0"  # like st.caption, in both themes
CODE = "font-size:0.85em;padding:0.1em 0.3em;border-radius:0.25rem;background:rgba(128,128,128,0.15)"


def _data_uri(picture: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pictures(pictures: list[np.ndarray], scale: int, alt: str, captions: list[str] | None = None) -> str:
    """Pictures side by side, each pixel shown as ``scale`` x ``scale`` crisp screen pixels (one
    pixel per value keeps them small to encode and to send)."""
    figures = []
    for index, picture in enumerate(pictures):
        height, width = picture.shape[:2]
        caption = f"<figcaption style='{CAPTION};text-align:center'>{captions[index]}</figcaption>" if captions else ""
        figures.append(f"<figure style='margin:0'><img src='{_data_uri(picture)}' alt='{html.escape(alt)}' "
                       f"width='{width * scale}' height='{height * scale}' style='{PIXELATED}'>{caption}</figure>")
    return f"<div style='display:flex;flex-wrap:wrap;gap:0.75rem;margin:0.25rem 0'>{''.join(figures)}</div>"


def _text(text: str) -> str:
    return f"<p style='margin:0.75rem 0 0.25rem 0'>{text}</p>"


def _caption(text: str) -> str:
    return f"<p style='{CAPTION}'>{text}</p>"


def _code(name: str) -> str:
    return f"<code style='{CODE}'>{html.escape(name)}</code>"


@dataclass
class InsideViews:
    """The whole view, computed: a message instead when the model cannot be looked inside."""

    problem: str = ""
    note: str = ""  # on a stacked run's learners that have no layers to show
    titles: list[str] = field(default_factory=list)  # one per network, shown when there are several
    bodies: list[str] = field(default_factory=list)  # each network's HTML ("" when it has a problem)
    problems: list[str] = field(default_factory=list)  # why a network cannot be shown ("" when it can)


def inside_views(predictor, image28: np.ndarray, order: str = "sorted") -> InsideViews:
    """Compute the inside of ``predictor`` (a :class:`metalearn_core.models.predictor.Predictor`) for
    the (28, 28) drawing, Dense units in ``order`` ("sorted" or "in order"); nothing is shown yet.

    The one function here that needs Keras (the predictor has loaded it already)."""
    from metalearn_core.inside import layers  # heavy: Keras, TensorFlow

    try:
        networks = layers.networks_inside(predictor, image28)
    except layers.InsideError as error:
        return InsideViews(problem=f"The inside of this model cannot be shown: {error}")
    views = InsideViews(note=_stacked_note(predictor, networks) if predictor.learners else "")
    for network in networks:
        body, problem = "", ""
        try:
            outputs = layers.layer_outputs(network.model, network.x, network.scale_pixels)
            if network.reads_image:
                weights = layers.first_layer_weights(network.model, outputs, k=WEIGHT_TILES)
                decided = layers.saliency(network.model, network.x, network.scale_pixels)
            else:  # a meta network: what decided is among the base learners' outputs
                weights, decided = None, layers.saliency(network.model, network.x)
            body = _network_html(network, outputs, weights, decided, order)
        except layers.InsideError as error:
            problem = f"The inside of the {network.title} cannot be shown: {error}"
        views.titles.append(network.title.capitalize())
        views.bodies.append(body)
        views.problems.append(problem)
    return views


def show_inside(views: InsideViews) -> None:
    """Lay out computed views: a caption, the sorted / in order toggle, then each network's view."""
    if views.problem:
        st.info(views.problem)
        return
    st.caption("How the model turns your drawing into its answer: each layer's output from the input "
               "(top) to the answer (bottom), what the first layer looks for, and which pixels decided.")
    st.radio("Dense layers' units", ORDERS, horizontal=True, key=ORDER_KEY,
             help="sorted: the most active units first; in order: each unit keeps its place, "
                  "so you can compare two drawings")
    if views.note:
        st.caption(views.note)
    for title, body, problem in zip(views.titles, views.bodies, views.problems):
        if len(views.titles) > 1:
            st.markdown(f"#### {title}")
        if problem:
            st.info(problem)
        else:
            st.html(body)


def keep_collections_quick() -> None:
    """Once TensorFlow is loaded, take the objects alive then (TensorFlow's and Keras's, about
    450,000) out of the garbage collector's scans, once per server process; before, do nothing.

    After every script run Streamlit collects garbage fully, twice (its ``runner.postScriptGC`` and
    ``keras.backend.clear_session()``), on the thread that would send the page's remaining messages
    to the browser. With TensorFlow loaded each collection takes about 0.17 s, which would hold the
    end of the page (this view) 0.34 s behind the prediction; with those objects frozen
    (:func:`gc.freeze`, CPython's tool for long-lived objects) a collection takes milliseconds. The
    Draw page calls this last, after whichever of its views loaded TensorFlow."""
    if "tensorflow" in sys.modules and gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def show_placeholder() -> None:
    """What the view says before there is a drawing."""
    st.html(_caption("Draw a digit (or upload one) to see inside the model: each layer's output, what the "
                     "first layer looks for, and which pixels decided its answer."))


def inside_panel(predictor, image28: np.ndarray) -> None:
    """Compute, then lay out, the inside of ``predictor`` for the (28, 28) drawing: a base run's
    network, or a stacked run's Keras base learner and meta network."""
    show_inside(inside_views(predictor, image28, current_order()))


def current_order() -> str:
    """The toggle's value, read before the toggle is drawn (so the views can be computed first)."""
    return st.session_state.get(ORDER_KEY, ORDERS[0])


def _stacked_note(predictor, networks: list[NetworkInput]) -> str:
    others = [learner.config.label(index) for index, learner in enumerate(predictor.learners)
              if not any(network.model is learner.model for network in networks)]
    if not others:
        return ""
    shown = "its Keras network base learner" if networks[0].reads_image else "no layers of a base learner"
    return (f"This stacked run has {len(predictor.learners)} base learners: shown below are {shown} and "
            f"the meta network. {', '.join(others)} has no layers to show (a random forest is a set of "
            "decision trees, an SVM a set of support vectors).")


def _network_html(network: NetworkInput, outputs: list[LayerOutput], weights: FirstLayerWeights | None,
                  decided: Saliency, order: str) -> str:
    """One network's whole view as HTML: layer by layer, the first layer's weights, then saliency."""
    parts = [_text("<strong>Layer by layer</strong>"),
             _caption("Each square is one unit of a layer and each small picture one feature map; brighter "
                      "means more active for your drawing (blue/red: below/above zero).")]
    if not network.reads_image:
        parts.append(_meta_input_html(network))
    parts += [_layer_html(output, order) for output in outputs]
    if network.reads_image:
        parts += [_weights_html(weights), f"<div class='{SALIENCY_CLASS}'>{_saliency_html(network, decided)}</div>"]
    else:
        parts.append(f"<div class='{META_SALIENCY_CLASS}'>{_meta_saliency_html(network, decided)}</div>")
    return "".join(parts)


def _describe(output: LayerOutput) -> str | None:
    """A plain-language line on what this layer does; None for layers not worth a row."""
    if output.name == "logits":
        return "one score per digit, 0 to 9 from left to right: the highest score is the answer"
    if output.name == "probabilities":
        return "the scores turned into probabilities (softmax): they add up to 100%"
    if len(output.shape) == 3:
        maps = f"{output.shape[2]} feature maps of {output.shape[0]} x {output.shape[1]}"
        return {"Conv2D": f"{maps}: each shows where one filter found its pattern",
                "MaxPooling2D": f"{maps}: the maps before, shrunk, each keeping the strongest value of every "
                                "small square",
                "BatchNormalization": f"{maps}, rescaled to the mean and spread they had in training"
                }.get(output.layer_type)
    return {
        "Dense": f"{output.shape[-1]} units, each a weighted sum of the layer before, then its activation",
        "BatchNormalization": "the layer before, rescaled to the mean and spread it had in training",
        "Normalization": "the base outputs standardised (mean 0, spread 1 over the training images)",
        "Dropout": "switched off when predicting: it passes its input on unchanged",
        "Flatten": f"the layer before laid out in one row of {int(np.prod(output.shape)):,} numbers",
    }.get(output.layer_type)


def _layer_html(output: LayerOutput, order: str) -> str:
    description = _describe(output)
    if description is None:  # Reshape (adds the grey channel) and any other bookkeeping layer
        return ""
    line = _text(f"{_code(output.name)} · {output.layer_type} · {description}")
    values = output.values
    if output.layer_type in ("Flatten", "Dropout"):
        return line
    if values.ndim == 3:
        picture = _pictures([images.feature_map_grid(values, columns=16)], max(1, 40 // values.shape[0]),
                            f"{output.name} feature maps")
    elif output.name in ("logits", "probabilities") or output.layer_type == "Normalization":
        picture = _pictures([images.activation_strip(values, order="in order")], 28, f"{output.name} values")
    else:
        picture = _pictures([images.activation_strip(values, order=order)], 10, f"{output.name} units")
    return line + picture


def _weights_html(weights: FirstLayerWeights | None) -> str:
    if weights is None:
        return ""
    title = _text("<strong>What the first layer looks for</strong>")
    if weights.layer_type == "Dense":
        values = ", ".join(f"{value:.2f}" for value in weights.activations[:5])
        return title + _pictures([images.weight_tiles(weights.tiles, columns=8)], 3, "first-layer weights") + _caption(
            f"Each tile is the 784 weights of one unit of {_code(weights.layer)} drawn as a 28x28 picture: ink "
            f"on red pixels raises the unit's value, ink on blue pixels lowers it. These are the "
            f"{len(weights.units)} units your drawing excites most, most active first ({values}, …).")
    height, width = weights.tiles.shape[1:]
    return title + _pictures([images.weight_tiles(weights.tiles, columns=16)], max(1, 40 // height),
                             "first-layer filters") + _caption(
        f"Each tile is one {height}x{width} filter of {_code(weights.layer)}, in the order of its feature maps "
        "above: a map lights up where the picture looks like the filter's red-minus-blue pattern.")


def _saliency_html(network: NetworkInput, result: Saliency) -> str:
    pictures = _pictures([images.saliency_overlay(network.x, result.gradient),
                          images.saliency_overlay(network.x, result.gradient_x_input)],
                         7, "saliency", captions=["Gradient", "Gradient × input"])
    return _text("<strong>Saliency</strong>") + pictures + _caption(
        f"{DONE_TEXT} the {result.digit}: red pixels would raise the score for {result.digit} if drawn brighter, "
        "blue ones would lower it (left). Gradient × input (right) keeps only the pixels you actually drew.")


def _groups(network: NetworkInput) -> str:
    return ", then ".join(f"{count} from {html.escape(label)}" for label, count in network.input_groups)


def _meta_input_html(network: NetworkInput) -> str:
    strip = images.activation_strip(network.x, order="in order", columns=len(network.x))
    return (_text(f"{_code('input')} · what the meta network reads: {len(network.x)} numbers, the base "
                  "learners' outputs") + _pictures([strip], 24, "meta network input")
            + _caption(f"Left to right: {_groups(network)} (digits 0 to 9 within each learner)."))


def _meta_saliency_html(network: NetworkInput, result: Saliency) -> str:
    strip = images.activation_strip(result.gradient_x_input, order="in order", columns=len(network.x))
    return _text("<strong>Saliency of the base outputs</strong>") + _pictures(
        [strip], 24, "saliency of the base outputs") + _caption(
        f"{META_DONE_TEXT} the meta network's {result.digit}: gradient × input of its score for {result.digit}; "
        f"red outputs raised it, blue ones lowered it. Left to right: {_groups(network)}.")
