"""Keras models from network configs.

The builder appends the output head itself, as two named layers: ``logits`` (a Dense layer with
one unit per class) and ``probabilities`` (its softmax). Stacking reads either of them, or the
layer before the head (the penultimate features).
"""

from __future__ import annotations

import keras
from keras import layers

from metalearn_core.config import HYPERGRADIENT_OPTIMIZERS, IMAGE_SIZE, NetworkConfig, TrainingConfig
from metalearn_core.models.hypergradient import hypergradient_optimizer


def _needs_image(network: NetworkConfig) -> bool:
    return any(layer.type in ("conv2d", "max_pool") for layer in network.layers)


def _keras_layer(spec, index: int) -> layers.Layer:
    name = f"{spec.type}_{index + 1}"
    if spec.type == "dense":
        return layers.Dense(spec.units, activation=spec.activation, name=name)
    if spec.type == "conv2d":
        return layers.Conv2D(
            spec.filters, spec.kernel_size, padding=spec.padding, activation=spec.activation, name=name
        )
    if spec.type == "max_pool":
        return layers.MaxPooling2D(spec.pool_size, name=name)
    if spec.type == "dropout":
        return layers.Dropout(spec.rate, name=name)
    if spec.type == "batch_norm":
        return layers.BatchNormalization(name=name)
    return layers.Flatten(name=name)


def feature_layers(network: NetworkConfig, input_shape: tuple[int, ...]):
    """The configured layers on a new input, flattened: (inputs, features of shape (batch, d)).

    Shared by the classifier (which puts its head on the features) and the few-shot embedding
    networks (which compare the features directly).
    """
    inputs = keras.Input(input_shape, name="inputs")
    x = inputs
    if _needs_image(network) and len(input_shape) == 2:
        x = layers.Reshape((*input_shape, 1), name="add_channel")(x)  # (batch, 28, 28, 1)
    for index, spec in enumerate(network.layers):
        x = _keras_layer(spec, index)(x)
    if len(x.shape) > 2:
        x = layers.Flatten(name="flatten_head")(x)  # (batch, features)
    return inputs, x


def build_network(
    network: NetworkConfig,
    input_shape: tuple[int, ...] = (IMAGE_SIZE, IMAGE_SIZE),
    num_classes: int = 10,
    name: str = "network",
) -> keras.Model:
    """Build a functional Keras model: the configured layers, then logits and softmax.

    Args:
        network: the hidden layers.
        input_shape: (28, 28) for images, (d,) for a vector such as base-learner outputs.
        num_classes: units of the output layer.

    Returns:
        An uncompiled ``keras.Model`` whose output is the class probabilities.

    Example:
        >>> build_network(seed_network()).count_params()  # doctest: +SKIP
        101770
    """
    inputs, x = feature_layers(network, input_shape)
    logits = layers.Dense(num_classes, name="logits")(x)
    probabilities = layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name=name)


def make_optimizer(training: TrainingConfig, total_steps: int) -> keras.optimizers.Optimizer:
    """The configured optimizer, with a cosine-decayed learning rate when asked for.

    A hypergradient optimizer ("sgd_hd", "adam_hd") starts at the configured learning rate and
    adapts it itself, so it takes no schedule.

    Example:
        >>> make_optimizer(TrainingConfig(optimizer="sgd_hd"), 100).hypergradient_rate  # doctest: +SKIP
        0.001
    """
    if training.optimizer in HYPERGRADIENT_OPTIMIZERS:
        return hypergradient_optimizer(training.optimizer, training.learning_rate, training.hypergradient_rate)
    rate = training.learning_rate
    if training.lr_schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(training.learning_rate, max(total_steps, 1))
    if training.optimizer == "adam":
        return keras.optimizers.Adam(rate)
    if training.optimizer == "adamw":
        return keras.optimizers.AdamW(rate)
    if training.optimizer == "sgd":
        return keras.optimizers.SGD(rate)
    if training.optimizer == "momentum":
        return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True)
    return keras.optimizers.RMSprop(rate)


def compile_network(
    model: keras.Model, training: TrainingConfig, total_steps: int, steps_per_execution: int = 1
) -> keras.Model:
    """Compile with sparse categorical cross-entropy and accuracy, as the seed did."""
    model.compile(
        optimizer=make_optimizer(training, total_steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=training.jit_compile,
    )
    return model


def feature_model(model: keras.Model, meta_input: str) -> keras.Model:
    """A model giving what the meta network sees: probabilities, logits, or logits + features."""
    logits = model.get_layer("logits")
    if meta_input == "probabilities":
        return model
    if meta_input == "logits":
        return keras.Model(model.inputs, logits.output)
    features = logits.input  # the penultimate representation
    return keras.Model(model.inputs, layers.Concatenate()([logits.output, features]))


def matmul_flops_per_sample(model: keras.Model) -> int:
    """Floating-point operations of one training step's matrix multiplies, per sample.

    For each Dense layer with ``n_in`` inputs and ``n_out`` units: ``2 n_in n_out`` forward,
    the same for the weight gradient and, except for the first layer (whose input gradient nobody
    needs), the same again for the input gradient. Biases, activations and the optimizer update
    are left out, so this is the useful work a matrix-multiply rate can be compared with.
    """
    total, first = 0, True
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            n_in, n_out = int(layer.kernel.shape[0]), int(layer.kernel.shape[1])
            total += (4 if first else 6) * n_in * n_out
            first = False
    return total
