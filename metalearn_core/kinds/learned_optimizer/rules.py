"""Update rules and the one optimizee training step they all share.

An *update rule* is anything with ``initial_state(n, dtype)`` and ``update(grads, state) ->
(delta, new_state)`` acting on a flat parameter vector of ``n`` coordinates. Two kinds:

* :func:`make_hand_optimizer`: SGD, momentum, RMSprop and Adam written as pure functions of state.
* :class:`LearnedOptimizer`: the coordinate-wise LSTM (or MLP) of Andrychowicz et al. 2016,
  "Learning to learn by gradient descent by gradient descent", arXiv:1606.04474, section 2.1.

:func:`optimizee_step` is the training step written once: loss and gradient of the optimizee on a
minibatch, then ``theta + delta``. Evaluation, baseline tuning and the meta-training unroll all call it.

Example:
    >>> spec = OptimizeeSpec(input_size=6, hidden=(4,), classes=2)
    >>> theta = tf.constant(init_optimizee(spec, seed=0))  # (34,)
    >>> rule = make_hand_optimizer("sgd", 0.1)
    >>> loss, theta, state = optimizee_step(rule, theta, rule.initial_state(34), x, y, spec)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import tensorflow as tf

from metalearn_core.kinds.learned_optimizer.specs import OptimizeeSpec, OptimizerNetSpec

State = tuple[tf.Tensor, ...]
FORMAT = "metalearn-learned-optimizer-v1"


class UpdateRule(Protocol):
    """What :func:`optimizee_step` needs from an optimizer."""

    def initial_state(self, n: int, dtype: tf.DType = tf.float32, sizes: tuple[int, ...] | None = None) -> State: ...

    def update(self, grads: tf.Tensor, state: State, params: tf.Tensor | None = None) -> tuple[tf.Tensor, State]: ...


# --------------------------------------------------------------------------- the optimizee


def init_optimizee(spec: OptimizeeSpec, seed: int, dtype: str = "float32") -> np.ndarray:
    """A flat random parameter vector, every entry normal with std ``spec.init_std`` (DeepMind's reference code).

    Example:
        >>> init_optimizee(OptimizeeSpec(), seed=0).shape
        (15910,)
    """
    rng = np.random.default_rng([int(seed), 0])
    return (rng.standard_normal(spec.num_params) * spec.init_std).astype(dtype)  # (n,)


def unflatten(theta: tf.Tensor, spec: OptimizeeSpec) -> list[tf.Tensor]:
    """Cut the flat vector (n,) into the weight matrices and biases of ``spec.param_shapes``."""
    sizes = [math.prod(shape) for shape in spec.param_shapes]
    pieces = tf.split(theta, sizes)
    return [tf.reshape(piece, shape) for piece, shape in zip(pieces, spec.param_shapes)]


def optimizee_logits(theta: tf.Tensor, x: tf.Tensor, spec: OptimizeeSpec) -> tf.Tensor:
    """The MLP's logits (batch, classes) for inputs ``x`` (batch, input_size)."""
    activation = {"sigmoid": tf.sigmoid, "relu": tf.nn.relu, "tanh": tf.tanh}[spec.activation]
    params = unflatten(theta, spec)
    hidden = tf.cast(x, theta.dtype)  # (batch, d)
    for layer in range(len(params) // 2 - 1):
        hidden = activation(hidden @ params[2 * layer] + params[2 * layer + 1])  # (batch, width)
    return hidden @ params[-2] + params[-1]  # (batch, classes)


def optimizee_loss(theta: tf.Tensor, x: tf.Tensor, y: tf.Tensor, spec: OptimizeeSpec) -> tf.Tensor:
    """Mean cross-entropy; written with ``log_softmax`` so second derivatives exist for the checks."""
    logits = optimizee_logits(theta, x, spec)  # (batch, classes)
    log_probs = tf.nn.log_softmax(logits)  # (batch, classes)
    picked = tf.gather(log_probs, tf.cast(y, tf.int32), axis=1, batch_dims=1)  # (batch,)
    return -tf.reduce_mean(picked)


def optimizee_step(rule: UpdateRule, theta: tf.Tensor, state: State, x: tf.Tensor, y: tf.Tensor,
                   spec: OptimizeeSpec, second_order: bool = False) -> tuple[tf.Tensor, tf.Tensor, State]:
    """One training step of the optimizee under any rule: ``(loss at theta, theta + delta, new state)``.

    The gradient is an *input* to the rule: ``tf.stop_gradient`` drops the second derivatives of the
    optimizee (paper section 2, "we drop the second derivatives"). ``second_order=True`` keeps them.

    Example:
        >>> loss, theta, state = optimizee_step(make_hand_optimizer("adam", 0.01), theta, state, x, y, spec)  # doctest: +SKIP
    """
    with tf.GradientTape() as tape:
        tape.watch(theta)
        loss = optimizee_loss(theta, x, y, spec)
    grads = tape.gradient(loss, theta)  # (n,)
    if not second_order:
        grads = tf.stop_gradient(grads)
    delta, state = rule.update(grads, state, params=theta)
    return loss, theta + delta, state


# --------------------------------------------------------------------------- hand-written rules


class HandOptimizer:
    """SGD, momentum (0.9), RMSprop (decay 0.9) or Adam (0.9, 0.999) as a pure function of its state.

    Example:
        >>> rule = make_hand_optimizer("momentum", 0.1)
        >>> delta, state = rule.update(tf.constant([1.0]), rule.initial_state(1))
        >>> round(float(delta[0]), 6)
        -0.1
    """

    NAMES = ("sgd", "momentum", "rmsprop", "adam")

    def __init__(self, name: str, learning_rate: float, momentum: float = 0.9, decay: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        if name not in self.NAMES:
            raise ValueError(f"unknown hand optimizer {name!r}; choose one of {self.NAMES}")
        if not isinstance(learning_rate, int | float) or not math.isfinite(learning_rate) or learning_rate <= 0:
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
        self.name, self.learning_rate = name, float(learning_rate)
        self.momentum, self.decay, self.beta_2, self.epsilon = momentum, decay, beta_2, epsilon
        self.traced: dict[Any, Any] = {}  # compiled trajectories, filled by the training module

    def __repr__(self) -> str:
        return f"HandOptimizer({self.name!r}, learning_rate={self.learning_rate:g})"

    def initial_state(self, n: int, dtype: tf.DType = tf.float32, sizes: tuple[int, ...] | None = None) -> State:
        """The state for ``n`` coordinates; ``sizes`` (the tensors' sizes) is for rules that need them."""
        zeros = tf.zeros([n], dtype)
        return {"sgd": (), "momentum": (zeros,), "rmsprop": (zeros,), "adam": (zeros, zeros, tf.zeros([], dtype))}[self.name]

    def update(self, grads: tf.Tensor, state: State, params: tf.Tensor | None = None) -> tuple[tf.Tensor, State]:
        lr = tf.constant(self.learning_rate, grads.dtype)  # tf.cast would round it to float32 first
        if self.name == "sgd":
            return -lr * grads, ()
        if self.name == "momentum":
            velocity = self.momentum * state[0] + grads  # (n,)
            return -lr * velocity, (velocity,)
        if self.name == "rmsprop":
            mean_square = self.decay * state[0] + (1 - self.decay) * tf.square(grads)  # (n,)
            return -lr * grads / (tf.sqrt(mean_square) + self.epsilon), (mean_square,)
        return self._adam(grads, state, lr)

    def _adam(self, grads: tf.Tensor, state: State, lr: tf.Tensor) -> tuple[tf.Tensor, State]:
        first, second, step = state
        step = step + 1
        first = self.momentum * first + (1 - self.momentum) * grads  # (n,)
        second = self.beta_2 * second + (1 - self.beta_2) * tf.square(grads)  # (n,)
        first_hat = first / (1 - self.momentum**step)
        second_hat = second / (1 - self.beta_2**step)
        return -lr * first_hat / (tf.sqrt(second_hat) + self.epsilon), (first, second, step)


def make_hand_optimizer(name: str, learning_rate: float) -> HandOptimizer:
    """A functional SGD / momentum / RMSprop / Adam update rule (Kingma & Ba 2015 for Adam).

    Example:
        >>> make_hand_optimizer("adam", 0.01)
        HandOptimizer('adam', learning_rate=0.01)
    """
    return HandOptimizer(name, learning_rate)


# --------------------------------------------------------------------------- the learned rule


def preprocess_gradients(g: Any, p: float = 10.0) -> tf.Tensor:
    """The gradient preprocessing of appendix A: two inputs per coordinate, shape (n, 2).

    ``(log|g| / p, sign(g))`` if ``|g| >= exp(-p)``, else ``(-1, exp(p) * g)``: magnitudes over many
    orders are squashed into a small range while small gradients stay linear.

    Example:
        >>> preprocess_gradients([1.0, 0.0], p=10.0).numpy().tolist()
        [[0.0, 1.0], [-1.0, 0.0]]
    """
    g = tf.reshape(tf.convert_to_tensor(g), [-1])  # (n,)
    if not g.dtype.is_floating:
        g = tf.cast(g, tf.float32)
    threshold = tf.cast(math.exp(-p), g.dtype)
    large = tf.abs(g) >= threshold
    # The floor keeps log finite (and its gradient defined) on the branch tf.where discards.
    log_part = tf.where(large, tf.math.log(tf.maximum(tf.abs(g), threshold)) / p, -tf.ones_like(g))
    sign_part = tf.where(large, tf.sign(g), tf.cast(math.exp(p), g.dtype) * g)
    return tf.stack([log_part, sign_part], axis=1)  # (n, 2)


def per_tensor_rescale(features: tf.Tensor, segments: tf.Tensor) -> tf.Tensor:
    """Divide every column of ``features`` (n, k) by its root mean square over each tensor (``segments`` (n,)).

    The second-moment normaliser of Metz et al. 2022, per tensor: multiplying one tensor's gradients (or
    its parameters) by a constant leaves its features unchanged.

    Example:
        >>> per_tensor_rescale(tf.constant([[1.0], [3.0], [10.0]]), tf.constant([0, 0, 1])).numpy()[:, 0].round(3)
        array([0.447, 1.342, 1.   ], dtype=float32)
    """
    count = tf.reduce_max(segments) + 1
    square = tf.math.unsorted_segment_mean(tf.square(features), segments, count)  # (tensors, k)
    return features * tf.gather(tf.math.rsqrt(square + 1e-30), segments)  # (n, k)


def _glorot(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def init_network_weights(spec: OptimizerNetSpec, seed: int = 0) -> dict[str, np.ndarray]:
    """Named float64 arrays of a fresh optimizer network (Glorot kernels, LSTM forget-gate bias 1)."""
    rng = np.random.default_rng([int(seed), 7])
    weights: dict[str, np.ndarray] = {}
    width = spec.input_width
    if spec.kind == "nominal":
        for layer, units in enumerate(spec.hidden):
            weights[f"dense{layer}_kernel"] = _glorot(rng, width, units)  # (in, h)
            weights[f"dense{layer}_bias"] = np.zeros(units)
            width = units
        # Zero output: the untrained rule is the nominal Adam step exactly.
        weights["output_kernel"] = np.zeros((width, 2))  # (h, 2): direction, log-magnitude
        weights["output_bias"] = np.zeros(2)
        weights["log_rate"] = np.array(math.log(spec.nominal_rate))
        if spec.nominal_mix:  # zero: the nominal term starts as Adam's direction exactly
            weights["mix"] = np.zeros(spec.mix_size)
        return weights
    for layer, units in enumerate(spec.hidden):
        if spec.kind == "lstm":
            weights[f"lstm{layer}_kernel"] = _glorot(rng, width + units, 4 * units)  # (in + h, 4h)
            weights[f"lstm{layer}_bias"] = np.concatenate([np.zeros(units), np.ones(units), np.zeros(2 * units)])
        else:
            weights[f"dense{layer}_kernel"] = _glorot(rng, width, units)  # (in, h)
            weights[f"dense{layer}_bias"] = np.zeros(units)
        width = units
    weights["output_kernel"] = _glorot(rng, width, 1)  # (h, 1)
    weights["output_bias"] = np.zeros(1)
    if spec.warm_starts:
        _warm_start_at_adam(weights, spec)
    return weights


def _warm_start_at_adam(weights: dict[str, np.ndarray], spec: OptimizerNetSpec) -> None:
    """Make the dense net's initial update exactly Adam's: ``-warm_start_rate * m_hat / sqrt(v_hat)``.

    The input column of the normalised momentum whose decay is nearest 0.9 (Adam's beta_1) is carried
    through every ReLU layer by units 0 and 1 as ``relu(x)`` and ``relu(-x)`` (their difference is ``x``);
    the output reads only those two units, so every other (Glorot) unit starts with zero output weight
    and meta-training grows the learned corrections from there.
    """
    decays = spec.momentum_decays
    column = (2 if spec.preprocess else 1) + 1 + min(range(len(decays)), key=lambda i: abs(decays[i] - 0.9))
    rate = spec.warm_start_rate / spec.output_scale
    output = np.zeros_like(weights["output_kernel"])  # (h, 1)
    if not spec.hidden:  # a linear net: read the column directly
        output[column] = -rate
        weights["output_kernel"] = output
        return
    pair = np.zeros((spec.input_width, 2))  # (in, 2): relu(x), relu(-x)
    pair[column] = [1.0, -1.0]
    for layer, units in enumerate(spec.hidden):
        weights[f"dense{layer}_kernel"][:, :2] = pair
        weights[f"dense{layer}_bias"][:2] = 0.0
        pair = np.zeros((units, 2))  # the next layer copies units 0 and 1
        pair[0, 0] = pair[1, 1] = 1.0
    output[:2, 0] = [-rate, rate]
    weights["output_kernel"] = output


class LearnedOptimizer:
    """The optimizer network's weights plus the coordinate-wise update they define (paper section 2.1).

    Every coordinate of the optimizee is one batch element: the same small network, with its own
    LSTM state per coordinate, reads that coordinate's (preprocessed) gradient and writes its update.

    Example:
        >>> optimizer = LearnedOptimizer(OptimizerNetSpec(), seed=0)
        >>> delta, state = optimizer.update(tf.ones([5]), optimizer.initial_state(5))
        >>> delta.shape
        TensorShape([5])
    """

    def __init__(self, spec: OptimizerNetSpec, seed: int = 0, dtype: str = "float32",
                 weights: dict[str, np.ndarray] | None = None) -> None:
        if not isinstance(spec, OptimizerNetSpec):
            raise ValueError(f"spec must be an OptimizerNetSpec, got {type(spec).__name__}")
        self.spec, self.seed, self.dtype = spec, seed, tf.as_dtype(dtype)
        initial = init_network_weights(spec, seed)
        if weights is not None:
            _check_weights(weights, initial)
            initial = weights
        self.names = list(initial)
        self.variables = [tf.Variable(np.asarray(initial[name]), dtype=self.dtype, name=name) for name in self.names]
        self.traced: dict[Any, Any] = {}  # compiled trajectories, filled by the training module

    def __repr__(self) -> str:
        return f"LearnedOptimizer({self.spec})"

    def get_weights(self) -> dict[str, np.ndarray]:
        return {name: variable.numpy() for name, variable in zip(self.names, self.variables)}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        _check_weights(weights, self.get_weights())
        for name, variable in zip(self.names, self.variables):
            variable.assign(np.asarray(weights[name], dtype=variable.dtype.as_numpy_dtype))

    def initial_state(self, n: int, dtype: tf.DType | None = None, sizes: tuple[int, ...] | None = None) -> State:
        """Zero accumulators then zero LSTM ``(h, c)`` per layer (each (n, units)).

        With ``momentum_decays`` the accumulators are one moving average (n,) per decay and the moving
        average of squared gradients (n,); with ``momentum_decays`` or ``time_scales`` a step counter ()
        follows; without either there are none. The nominal kind appends the tensor index (n,) int32 of
        every coordinate, from ``sizes`` (the sizes of the tensors of the flat vector, in order; by
        default one tensor of ``n``), which its per-tensor rescaling reads.
        """
        dtype = dtype or self.dtype
        if self.spec.kind == "nominal":
            sizes = (n,) if sizes is None else tuple(int(size) for size in sizes)
            if sum(sizes) != n or min(sizes) < 1:
                raise ValueError(f"tensor sizes {sizes} do not add up to the {n} coordinates")
            segments = tf.constant(np.repeat(np.arange(len(sizes), dtype=np.int32), sizes))  # (n,)
            moments = tuple(tf.zeros([n], dtype)
                            for _ in range(len(self.spec.momentum_decays) + 1 + len(self.spec.rms_decays)))
            return (*moments, tf.zeros([], dtype), segments)
        accumulators: State = ()
        if self.spec.momentum_decays:
            accumulators = tuple(tf.zeros([n], dtype) for _ in range(len(self.spec.momentum_decays) + 1))
        if self.spec.momentum_decays or self.spec.time_scales:
            accumulators += (tf.zeros([], dtype),)
        if self.spec.kind != "lstm":
            return accumulators
        return accumulators + tuple(tf.zeros([n, units], dtype) for units in self.spec.hidden for _ in range(2))

    def _accumulator_count(self) -> int:
        count = len(self.spec.momentum_decays) + 1 if self.spec.momentum_decays else 0
        return count + (1 if self.spec.momentum_decays or self.spec.time_scales else 0)

    def update(self, grads: tf.Tensor, state: State, params: tf.Tensor | None = None) -> tuple[tf.Tensor, State]:
        """The update (n,) for gradients (n,) (and the parameters, read by the nominal kind), and the new state."""
        if self.spec.kind == "nominal":
            return self._nominal(grads, state, params)
        count = self._accumulator_count()
        inputs, accumulators = self._inputs(grads, state[:count])  # (n, input_width)
        weights = dict(zip(self.names, self.variables))
        if self.spec.kind == "lstm":
            output, lstm_state = self._lstm(inputs, state[count:], weights)
        else:
            output, lstm_state = self._dense(inputs, weights), ()
        delta = self.spec.output_scale * tf.reshape(output, [-1])  # (n,)
        return delta, accumulators + lstm_state

    def _inputs(self, grads: tf.Tensor, accumulators: State) -> tuple[tf.Tensor, State]:
        """The paper's gradient features, plus Adam-normalised momenta when ``momentum_decays`` is set,
        plus ``tanh(step / scale)`` per ``time_scales`` entry (step = 1 at the first update)."""
        features = preprocess_gradients(grads, self.spec.p) if self.spec.preprocess else grads[:, None]  # (n, 1|2)
        if not accumulators:
            return features, ()
        decays, rms_decay = self.spec.momentum_decays, self.spec.rms_decay
        step = accumulators[-1] + 1
        columns: list[tf.Tensor] = []
        new_accumulators: State = ()
        if decays:
            *momenta, mean_square = accumulators[:-1]
            momenta = [decay * m + (1 - decay) * grads for decay, m in zip(decays, momenta)]  # (n,) each
            mean_square = rms_decay * mean_square + (1 - rms_decay) * tf.square(grads)  # (n,)
            # Bias-corrected as in Adam, so the features are scale-free from the first step on.
            scale = tf.math.rsqrt(mean_square / (1 - rms_decay**step) + 1e-16)  # (n,)
            columns += [grads * scale] + [m / (1 - decay**step) * scale for decay, m in zip(decays, momenta)]
            new_accumulators = (*momenta, mean_square)
        ones = tf.ones_like(grads)  # (n,)
        columns += [tf.tanh(step / time_scale) * ones for time_scale in self.spec.time_scales]
        inputs = tf.concat([features, tf.stack(columns, axis=1)], axis=1)  # (n, input_width)
        return inputs, (*new_accumulators, step)

    def nominal_parts(self, grads: tf.Tensor, state: State,
                      params: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, State]:
        """The nominal kind's pieces: ``(inputs (n, width), adam (n,), direction (n,), log-magnitude (n,),
        new state)``; :meth:`update` combines them (see :meth:`OptimizerNetSpec.nominal`)."""
        spec = self.spec
        decays, beta_2 = spec.momentum_decays, spec.rms_decay
        count, extra = len(decays), len(spec.rms_decays)
        momenta, mean_square = state[:count], state[count]
        squares, (step, segments) = state[count + 1: count + 1 + extra], state[count + 1 + extra:]
        params = tf.zeros_like(grads) if params is None else tf.stop_gradient(params)
        step = step + 1
        momenta = tuple(decay * m + (1 - decay) * grads for decay, m in zip(decays, momenta))  # (n,) each
        mean_square = beta_2 * mean_square + (1 - beta_2) * tf.square(grads)  # (n,)
        squares = tuple(decay * v + (1 - decay) * tf.square(grads) for decay, v in zip(spec.rms_decays, squares))
        rms_hat = tf.sqrt(mean_square / (1 - beta_2**step))  # (n,)
        adam_index = min(range(count), key=lambda index: abs(decays[index] - 0.9))
        momenta_hat = [m / (1 - d**step) for d, m in zip(decays, momenta)]  # (n,) each
        inverse = 1.0 / (rms_hat + 1e-8)
        adam = momenta_hat[adam_index] * inverse  # (n,) exactly HandOptimizer's Adam direction
        ratios = [grads * inverse, *(m * inverse for m in momenta_hat)]  # the candidate nominal directions
        raw = [grads, params, *momenta_hat, rms_hat, *ratios]
        for decay, v in zip(spec.rms_decays, squares):  # RMS at other timescales and the ratios to them
            fast = tf.sqrt(v / (1 - decay**step))  # (n,)
            pair = [grads / (fast + 1e-8), momenta_hat[adam_index] / (fast + 1e-8)]
            raw += [fast, *pair]
            ratios += pair
        features = tf.stack(raw, axis=1)  # (n, k)
        inputs = tf.concat([per_tensor_rescale(features, segments),
                            tf.tanh(step / tf.constant(spec.time_scales, grads.dtype))[None, :]
                            * tf.ones_like(grads)[:, None]], axis=1) if spec.time_scales else \
            per_tensor_rescale(features, segments)  # (n, input_width)
        weights = dict(zip(self.names, self.variables))
        if spec.nominal_mix:  # Adam's direction moved towards RMSprop's, another momentum's, another RMS's
            adam = adam + sum(weights["mix"][index] * (term - adam) for index, term in enumerate(ratios))
        output = self._dense(inputs, weights)  # (n, 2)
        return inputs, adam, output[:, 0], output[:, 1], (*momenta, mean_square, *squares, step, segments)

    def _nominal(self, grads: tf.Tensor, state: State, params: tf.Tensor | None) -> tuple[tf.Tensor, State]:
        _, adam, direction, log_magnitude, state = self.nominal_parts(grads, state, params)
        bound = self.spec.magnitude_range
        rate = tf.exp(dict(zip(self.names, self.variables))["log_rate"])
        delta = -rate * tf.exp(bound * tf.tanh(log_magnitude / bound)) * (adam + direction)  # (n,)
        return delta, state

    def _lstm(self, inputs: tf.Tensor, state: State, weights: dict[str, tf.Variable]) -> tuple[tf.Tensor, State]:
        new_state: list[tf.Tensor] = []
        hidden = inputs  # (n, input_width)
        for layer in range(len(self.spec.hidden)):
            h, c = state[2 * layer], state[2 * layer + 1]  # (n, units) each
            gates = tf.concat([hidden, h], axis=1) @ weights[f"lstm{layer}_kernel"] + weights[f"lstm{layer}_bias"]
            in_gate, forget_gate, out_gate, candidate = tf.split(gates, 4, axis=1)  # (n, units) each
            c = tf.sigmoid(forget_gate) * c + tf.sigmoid(in_gate) * tf.tanh(candidate)
            hidden = tf.sigmoid(out_gate) * tf.tanh(c)
            new_state += [hidden, c]
        return hidden @ weights["output_kernel"] + weights["output_bias"], tuple(new_state)  # (n, 1)

    def _dense(self, inputs: tf.Tensor, weights: dict[str, tf.Variable]) -> tf.Tensor:
        hidden = inputs  # (n, input_width)
        for layer in range(len(self.spec.hidden)):
            hidden = tf.nn.relu(hidden @ weights[f"dense{layer}_kernel"] + weights[f"dense{layer}_bias"])
        return hidden @ weights["output_kernel"] + weights["output_bias"]  # (n, 1), or (n, 2) for nominal

    def save(self, path: str | Path) -> Path:
        """Write one ``.npz``: every weight array by name, plus the spec as JSON under ``__spec__``.

        Example:
            >>> LearnedOptimizer(OptimizerNetSpec()).save("/tmp/opt.npz")  # doctest: +SKIP
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = json.dumps({"format": FORMAT, "spec": self.spec.to_dict(), "seed": self.seed})
        with path.open("wb") as handle:
            np.savez(handle, __spec__=np.array(header), **self.get_weights())
        return path

    @classmethod
    def load(cls, path: str | Path, dtype: str = "float32") -> LearnedOptimizer:
        """Read a file written by :meth:`save`; anything else raises ValueError naming the file."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: no such learned-optimizer file")
        try:
            with np.load(path, allow_pickle=False) as archive:
                header = json.loads(str(archive["__spec__"]))
                weights = {key: np.asarray(archive[key]) for key in archive.files if key != "__spec__"}
            if header.get("format") != FORMAT:
                raise ValueError(f"unknown format {header.get('format')!r}")
            spec = OptimizerNetSpec.from_dict(header["spec"])
            return cls(spec, seed=int(header.get("seed", 0)), dtype=dtype, weights=weights)
        except (OSError, EOFError, KeyError, TypeError, ValueError, AttributeError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path}: not a valid learned-optimizer file ({type(error).__name__}: {error})") from None


def _check_weights(weights: dict[str, Any], expected: dict[str, np.ndarray]) -> None:
    """Raise ValueError unless ``weights`` has exactly the expected names and shapes, all finite."""
    if set(weights) != set(expected):
        raise ValueError(f"weights must be named {sorted(expected)}, got {sorted(weights)}")
    for name, reference in expected.items():
        array = np.asarray(weights[name])
        if array.shape != reference.shape:
            raise ValueError(f"weight {name} must have shape {reference.shape}, got {array.shape}")
        if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)):
            raise ValueError(f"weight {name} must hold finite floats")

