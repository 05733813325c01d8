"""Hypergradient descent (Baydin et al. 2018): optimizers that learn their own learning rate.

The loss after step t depends on the learning rate alpha through the step before it, so alpha has a
gradient of its own, the *hypergradient*. With ``u_{t-1}`` the direction the parameters moved at
the previous step (``theta_{t-1} = theta_{t-2} - alpha u_{t-1}``):

    h_t     = d f(theta_{t-1}) / d alpha = g_t · (-u_{t-1})      (one dot product over ALL parameters)
    alpha_t = alpha_{t-1} - beta h_t = alpha_{t-1} + beta g_t · u_{t-1}
    theta_t = theta_{t-1} - alpha_t u_t

For SGD-HD ``u`` is the gradient itself, so alpha grows while consecutive gradients agree and
shrinks when they point against each other (the step overshot). For Adam-HD ``u`` is Adam's step
direction ``m_hat / (sqrt(v_hat) + eps)``, written as Keras' Adam writes it (epsilon added to
``sqrt(v)`` before the bias correction), so that ``beta = 0`` is exactly ``keras.optimizers.Adam``.
At the first step ``u_0 = 0``: alpha starts where it was set.

The dot product couples every variable, so it is computed once per step in
``_backend_update_step``, before the per-variable updates that use the new alpha; alpha lives in
the optimizer's ``learning_rate`` variable, so ``optimizer.learning_rate`` (and the training
callback's logged learning rate) reads the adapted value, and everything runs inside Keras'
compiled train function (``steps_per_execution`` > 1 included) with no Python-side state.

Example:
    >>> optimizer = SGDHD(learning_rate=0.01, hypergradient_rate=1e-3)  # doctest: +SKIP
    >>> model.compile(optimizer, "sparse_categorical_crossentropy")  # doctest: +SKIP
    >>> float(optimizer.learning_rate)  # after fit: the learned rate  # doctest: +SKIP
    0.0371
"""

from __future__ import annotations

import keras
from keras import ops

SGD_HD_DEFAULT_BETA = 1e-3  # the paper's hypergradient rate for SGD-HD
ADAM_HD_DEFAULT_BETA = 1e-7  # ... and for Adam-HD


def _global_dot(first: list, second: list):
    """The dot product of two lists of tensors taken as one long vector (a float32 scalar)."""
    total = ops.zeros((), dtype="float32")
    for a, b in zip(first, second):
        total = total + ops.cast(ops.sum(ops.multiply(a, ops.cast(b, a.dtype))), "float32")
    return total


def _adapt(rate_variable, change):
    """alpha_t = alpha_{t-1} + change, stored in the optimizer's learning-rate variable; returns alpha_t."""
    alpha = ops.add(ops.convert_to_tensor(rate_variable), ops.cast(change, rate_variable.dtype))
    rate_variable.assign(alpha)
    return alpha


def _check_rate(learning_rate) -> float:
    if not isinstance(learning_rate, (int, float)):
        raise ValueError("a hypergradient optimizer learns its own learning rate: give it a number, "
                         f"not a schedule ({learning_rate!r})")
    return float(learning_rate)


@keras.saving.register_keras_serializable(package="metalearn")
class SGDHD(keras.optimizers.Optimizer):
    """Plain SGD whose learning rate follows its hypergradient: alpha += beta g_t · g_{t-1}.

    Args:
        learning_rate: the starting alpha (the paper starts SGD-HD at 0.001).
        hypergradient_rate: beta, the learning rate of the learning rate; 0 is plain SGD.

    Example:
        >>> SGDHD(0.001, hypergradient_rate=1e-3).get_config()["hypergradient_rate"]  # doctest: +SKIP
        0.001
    """

    def __init__(self, learning_rate: float = 0.001, hypergradient_rate: float = SGD_HD_DEFAULT_BETA,
                 name: str = "sgd_hd", **kwargs) -> None:
        super().__init__(learning_rate=_check_rate(learning_rate), name=name, **kwargs)
        self.hypergradient_rate = float(hypergradient_rate)

    def build(self, variables) -> None:
        if self.built:
            return
        super().build(variables)
        self._previous_gradients = self.add_optimizer_variables(variables, "previous_gradient")

    def _backend_update_step(self, grads, trainable_variables, learning_rate) -> None:
        previous = [self._previous_gradients[self._get_variable_index(v)] for v in trainable_variables]
        alpha = _adapt(self._learning_rate, self.hypergradient_rate * _global_dot(grads, previous))
        super()._backend_update_step(grads, trainable_variables, alpha)

    def update_step(self, gradient, variable, learning_rate) -> None:
        gradient = ops.cast(gradient, variable.dtype)
        self.assign_sub(variable, ops.multiply(gradient, ops.cast(learning_rate, variable.dtype)))
        self.assign(self._previous_gradients[self._get_variable_index(variable)], gradient)

    def get_config(self) -> dict:
        return {**super().get_config(), "hypergradient_rate": self.hypergradient_rate}


@keras.saving.register_keras_serializable(package="metalearn")
class AdamHD(keras.optimizers.Adam):
    """Adam whose learning rate follows its hypergradient: alpha += beta g_t · u_{t-1}.

    ``u_{t-1}`` is read back from Adam's moments before they are updated, so Adam-HD keeps no
    state beyond Adam's own.

    Args:
        learning_rate: the starting alpha.
        hypergradient_rate: beta; 0 is exactly ``keras.optimizers.Adam``.
        **kwargs: Adam's own (beta_1, beta_2, epsilon, ...); amsgrad is not supported.

    Example:
        >>> AdamHD(0.001, hypergradient_rate=1e-7).get_config()["hypergradient_rate"]  # doctest: +SKIP
        1e-07
    """

    def __init__(self, learning_rate: float = 0.001, hypergradient_rate: float = ADAM_HD_DEFAULT_BETA,
                 name: str = "adam_hd", **kwargs) -> None:
        if kwargs.get("amsgrad"):
            raise ValueError("Adam-HD does not support amsgrad")
        super().__init__(learning_rate=_check_rate(learning_rate), name=name, **kwargs)
        self.hypergradient_rate = float(hypergradient_rate)

    def _previous_direction(self, variable):
        """Adam's step direction at the previous step, from its moments (zero before the first)."""
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        step = ops.cast(ops.maximum(self.iterations, 1), variable.dtype)  # m = 0 before the first step
        correction = ops.sqrt(1 - ops.power(ops.cast(self.beta_2, variable.dtype), step)) / (
            1 - ops.power(ops.cast(self.beta_1, variable.dtype), step))
        return ops.multiply(correction, ops.divide(m, ops.add(ops.sqrt(v), self.epsilon)))

    def _backend_update_step(self, grads, trainable_variables, learning_rate) -> None:
        directions = [self._previous_direction(v) for v in trainable_variables]
        alpha = _adapt(self._learning_rate, self.hypergradient_rate * _global_dot(grads, directions))
        super()._backend_update_step(grads, trainable_variables, alpha)

    def get_config(self) -> dict:
        return {**super().get_config(), "hypergradient_rate": self.hypergradient_rate}


def hypergradient_optimizer(name: str, learning_rate: float, hypergradient_rate: float = 0.0):
    """The optimizer called ``name`` ("sgd_hd" or "adam_hd"); a rate of 0 takes the paper's beta.

    Example:
        >>> hypergradient_optimizer("adam_hd", 1e-3).hypergradient_rate  # doctest: +SKIP
        1e-07
    """
    if name == "sgd_hd":
        return SGDHD(learning_rate, hypergradient_rate or SGD_HD_DEFAULT_BETA)
    if name == "adam_hd":
        return AdamHD(learning_rate, hypergradient_rate or ADAM_HD_DEFAULT_BETA)
    raise ValueError(f"not a hypergradient optimizer: {name!r} (sgd_hd, adam_hd)")
