"""The Draw page's "Inside the model" view: for one drawing, every layer's output, the first
layer's weights and which pixels decided (saliency), as cheap numpy pictures.

The computing is in :mod:`metalearn_core.inside.layers` and the pictures in
:mod:`metalearn_core.inside.layer_images`; this module only lays them out.
"""

from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from metalearn_core.inside import layer_images as images
from metalearn_core.inside import layers
from metalearn_core.inside.layers import InsideError, LayerOutput, NetworkInput

# The saliency captions start with these, and nothing else on the page does: the view is complete
# once the first is shown (bench/bench_app.py and the browser test wait for it).
DONE_TEXT = "Which pixels decided"
META_DONE_TEXT = "Which base outputs decided"
WEIGHT_TILES = 16  # Dense units shown in the first-layer weights view


def _png(picture: np.ndarray) -> bytes:
    """PNG bytes, compressed lightly: a third of the time of the default level, for a few more bytes."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _image(picture: np.ndarray | list[np.ndarray], caption: list[str] | None = None) -> None:
    """A picture (or a list shown side by side) as PNG: JPEG would blur the crisp squares."""
    st.image([_png(item) for item in picture] if isinstance(picture, list) else _png(picture), caption=caption)


def inside_panel(predictor, image28: np.ndarray) -> None:
    """Lay out the inside of ``predictor`` (a :class:`metalearn_core.predictor.Predictor`) for the
    (28, 28) drawing: a base run's network, or a stacked run's Keras base learner and meta network."""
    try:
        networks = layers.networks_inside(predictor, image28)
    except InsideError as error:
        st.info(f"The inside of this model cannot be shown: {error}")
        return
    st.caption("How the model turns your drawing into its answer: each layer's output from the input "
               "(top) to the answer (bottom), what the first layer looks for, and which pixels decided.")
    order = st.radio("Dense layers' units", ("sorted", "in order"), horizontal=True, key="draw.inside.order",
                     help="sorted: the most active units first; in order: each unit keeps its place, "
                          "so you can compare two drawings")
    if predictor.learners:
        _stacked_note(predictor, networks)
    for network in networks:
        if len(networks) > 1:
            st.markdown(f"#### {network.title.capitalize()}")
        try:
            _network_views(network, order)
        except InsideError as error:
            st.info(f"The inside of the {network.title} cannot be shown: {error}")


def _stacked_note(predictor, networks: list[NetworkInput]) -> None:
    others = [learner.config.label(index) for index, learner in enumerate(predictor.learners)
              if not any(network.model is learner.model for network in networks)]
    if not others:
        return
    shown = "its Keras network base learner" if networks[0].reads_image else "no layers of a base learner"
    st.caption(f"This stacked run has {len(predictor.learners)} base learners: shown below are {shown} and "
               f"the meta network. {', '.join(others)} has no layers to show (a random forest is a set of "
               "decision trees, an SVM a set of support vectors).")


def _network_views(network: NetworkInput, order: str) -> None:
    outputs = layers.layer_outputs(network.model, network.x, network.scale_pixels)
    st.markdown("**Layer by layer**")
    st.caption("Each square is one unit of a layer and each small picture one feature map; brighter means "
               "more active for your drawing (blue/red: below/above zero).")
    if not network.reads_image:
        _meta_input_view(network)
    for output in outputs:
        _layer_view(output, order)
    if network.reads_image:
        _weights_view(network, outputs)
        _saliency_view(network)
    else:
        _meta_saliency_view(network)


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


def _layer_view(output: LayerOutput, order: str) -> None:
    description = _describe(output)
    if description is None:  # Reshape (adds the grey channel) and any other bookkeeping layer
        return
    st.markdown(f"`{output.name}` · {output.layer_type} · {description}")
    values = output.values
    if output.layer_type in ("Flatten", "Dropout"):
        return
    if values.ndim == 3:
        _image(images.feature_map_grid(values, columns=16, target=40))
    elif output.name in ("logits", "probabilities") or output.layer_type == "Normalization":
        _image(images.activation_strip(values, order="in order", cell=28))
    else:
        _image(images.activation_strip(values, order=order))


def _weights_view(network: NetworkInput, outputs: list[LayerOutput]) -> None:
    weights = layers.first_layer_weights(network.model, outputs, k=WEIGHT_TILES)
    if weights is None:
        return
    st.markdown("**What the first layer looks for**")
    if weights.layer_type == "Dense":
        _image(images.weight_tiles(weights.tiles, columns=8, target=84))
        values = ", ".join(f"{value:.2f}" for value in weights.activations[:5])
        st.caption(f"Each tile is the 784 weights of one unit of `{weights.layer}` drawn as a 28x28 picture: ink on "
                   f"red pixels raises the unit's value, ink on blue pixels lowers it. These are the "
                   f"{len(weights.units)} units your drawing excites most, most active first ({values}, …).")
    else:
        height, width = weights.tiles.shape[1:]
        _image(images.weight_tiles(weights.tiles, columns=16, target=40))
        st.caption(f"Each tile is one {height}x{width} filter of `{weights.layer}`, in the order of its feature maps "
                   "above: a map lights up where the picture looks like the filter's red-minus-blue pattern.")


def _saliency_view(network: NetworkInput) -> None:
    result = layers.saliency(network.model, network.x, network.scale_pixels)
    with st.container(key="draw-inside-saliency"):
        st.markdown("**Saliency**")
        _image([images.saliency_overlay(network.x, result.gradient),
                  images.saliency_overlay(network.x, result.gradient_x_input)],
                 caption=["Gradient", "Gradient × input"])
        st.caption(f"{DONE_TEXT} the {result.digit}: red pixels would raise the score for {result.digit} if drawn "
                   "brighter, blue ones would lower it (left). Gradient × input (right) keeps only the pixels "
                   "you actually drew.")


def _groups(network: NetworkInput) -> str:
    return ", then ".join(f"{count} from {label}" for label, count in network.input_groups)


def _meta_input_view(network: NetworkInput) -> None:
    st.markdown(f"`input` · what the meta network reads: {len(network.x)} numbers, the base learners' outputs")
    _image(images.activation_strip(network.x, order="in order", columns=len(network.x), cell=24))
    st.caption(f"Left to right: {_groups(network)} (digits 0 to 9 within each learner).")


def _meta_saliency_view(network: NetworkInput) -> None:
    result = layers.saliency(network.model, network.x)
    with st.container(key="draw-inside-meta-saliency"):
        st.markdown("**Saliency of the base outputs**")
        _image(images.activation_strip(result.gradient_x_input, order="in order", columns=len(network.x),
                                         cell=24))
        st.caption(f"{META_DONE_TEXT} the meta network's {result.digit}: gradient × input of its score for "
                   f"{result.digit}; red outputs raised it, blue ones lowered it. Left to right: {_groups(network)}.")
