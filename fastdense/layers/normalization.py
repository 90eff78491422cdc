"""BatchNormalization and LayerNormalization (Keras 3 semantics).

Both normalize x to x̂ = (x − μ) / √(σ² + ε) with the biased variance σ², then compute
γ·x̂ + β in TensorFlow's rounding order: `x·s + (β − μ·s)` with `s = γ / √(σ² + ε)`.
The NumPy `call`s below are what a model runs when it cannot run natively; the native
layers (src/engine/layer/*Normalization.h) do the same arithmetic.
"""

import math
import numbers

import numpy as np

from fastdense import constraints, initializers, regularizers
from fastdense.layers.core import network_constraint, network_regularizer
from fastdense.layers.layer import Layer
from fastdense.object_registry import register_builtin


def real_number(value, what, layer, minimum=None):
    """value as a float; ValueError naming the argument unless it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{layer}: {what} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{layer}: {what} must be >= {minimum}, got {value!r}")
    return float(value)


def integer_axis(axis, layer):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{layer}: axis must be an integer, got {axis!r}")
    return int(axis)


def normalized_axis(axis, rank, layer):
    if not -rank <= axis < rank:
        raise ValueError(f"{layer}: axis {axis} is out of bounds for an input of rank {rank}")
    return axis % rank


def feature_broadcast(vector, rank, axes):
    """A weight over `axes` reshaped to broadcast against an input of `rank` dimensions."""
    shape = [1] * rank
    for axis, size in zip(axes, np.shape(vector)):
        shape[axis] = size
    return np.reshape(vector, shape)


def normalize(x, mean, variance, gamma, beta, epsilon):
    """γ·(x − μ)/√(σ² + ε) + β computed as x·s + (β − μ·s), s = γ/√(σ² + ε) (TensorFlow's order)."""
    dtype = x.dtype
    scale = np.asarray(1.0, dtype) / np.sqrt(variance + np.asarray(epsilon, dtype))
    if gamma is not None:
        scale = scale * gamma
    shift = -mean * scale
    if beta is not None:
        shift = beta + shift
    return x * scale + shift


class _Normalization(Layer):
    """Arguments and weights shared by the two normalizations: center/scale with β/γ."""

    def __init__(self, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                 gamma_regularizer, beta_constraint, gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = real_number(epsilon, "epsilon", type(self).__name__, minimum=0.0)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = self.beta = None

    def _add_gamma_and_beta(self, shape):
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)

    def _gamma_beta(self, rank, axes):
        gamma = feature_broadcast(self.gamma.value, rank, axes) if self.scale else None
        beta = feature_broadcast(self.beta.value, rank, axes) if self.center else None
        return gamma, beta

    def _native_gamma_beta_args(self):
        return dict(gamma=self.gamma.value if self.scale else None, beta=self.beta.value if self.center else None,
                    gamma_regularizer=network_regularizer(self.gamma_regularizer),
                    beta_regularizer=network_regularizer(self.beta_regularizer),
                    gamma_constraint=network_constraint(self.gamma_constraint),
                    beta_constraint=network_constraint(self.beta_constraint),
                    activity_regularizer=network_regularizer(self.activity_regularizer))

    def _lowerable_rank(self, axes):
        """Raises NotImplementedError unless the layer normalizes the features of 2-D inputs."""
        shape = self._build_shapes
        if len(shape) != 2 or list(axes) != [1]:
            raise NotImplementedError(f"{type(self).__name__} '{self.name}' runs natively only on (batch, features) "
                                      f"inputs along the last axis; got input shape {tuple(shape)}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _gamma_beta_config(self):
        return {
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


@register_builtin("layers", "keras.layers")
class BatchNormalization(_Normalization):
    """Normalizes each feature with the statistics of the batch while training, and with their
    moving averages at inference.

    While training (and only if the layer is trainable): output = γ·(x − mean(x))/√(var(x) + ε) + β
    over the batch axes, with the biased variance, and
    `moving_mean ← moving_mean·momentum + mean(x)·(1 − momentum)` (likewise moving_variance).
    At inference, or when the layer is frozen (trainable=False) even while training:
    output = γ·(x − moving_mean)/√(moving_variance + ε) + β.

    Args:
        axis: the features axis (default -1).
        momentum: momentum of the moving averages (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center, scale: whether to learn β and γ.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint.
        synchronized: accepted for Keras compatibility (one device: no effect).
        renorm, renorm_clipping, renorm_momentum: batch renormalization is not supported (renorm
            must be False).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if renorm:
            raise ValueError("BatchNormalization: renorm=True (batch renormalization) is not supported by fastdense")
        if isinstance(axis, (list, tuple)) and len(axis) == 1:  # Keras 2 configs write the axis as [1]
            axis = axis[0]
        self.axis = integer_axis(axis, "BatchNormalization")
        self.momentum = real_number(momentum, "momentum", "BatchNormalization")
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = bool(synchronized)
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        axis = normalized_axis(self.axis, len(input_shape), f"BatchNormalization '{self.name}'")
        features = input_shape[axis]
        if features is None:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} of the input must be known, "
                             f"got {tuple(input_shape)}")
        self._add_gamma_and_beta((features,))
        self.moving_mean = self.add_weight(name="moving_mean", shape=(features,),
                                           initializer=self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(features,),
                                               initializer=self.moving_variance_initializer, trainable=False)

    def _check_input_shape(self, input_shape):
        axis = normalized_axis(self.axis, len(input_shape), f"BatchNormalization '{self.name}'")
        expected = self.moving_mean.shape[0]
        if len(input_shape) != len(self._build_shapes) or input_shape[axis] != expected:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected axis "
                             f"{self.axis} of input shape to have value {expected}, but received input with shape "
                             f"{tuple(input_shape)}")

    def call(self, inputs, training=False):
        x = np.asarray(inputs)
        rank = x.ndim
        axis = self.axis % rank
        batch_axes = tuple(a for a in range(rank) if a != axis)
        if training and self.trainable:
            mean = x.mean(axis=batch_axes, keepdims=True)
            variance = np.square(x - mean).mean(axis=batch_axes, keepdims=True)
            self._update_moving_statistics(mean.ravel(), variance.ravel())
        else:
            mean = feature_broadcast(self.moving_mean.value, rank, [axis])
            variance = feature_broadcast(self.moving_variance.value, rank, [axis])
        gamma, beta = self._gamma_beta(rank, [axis])
        return normalize(x, mean, variance, gamma, beta, self.epsilon)

    def _update_moving_statistics(self, mean, variance):
        dtype = self.moving_mean.value.dtype
        keep, take = np.asarray(self.momentum, dtype), np.asarray(1.0 - self.momentum, dtype)
        self.moving_mean.assign(self.moving_mean.value * keep + mean.astype(dtype) * take)
        self.moving_variance.assign(self.moving_variance.value * keep + variance.astype(dtype) * take)

    def _lower(self, network, input_ids):
        self._lowerable_rank([self.axis % len(self._build_shapes)])
        return network.add_batch_normalization(
            input_ids[0], moving_mean=self.moving_mean.value, moving_variance=self.moving_variance.value,
            momentum=self.momentum, epsilon=self.epsilon, trainable=self.trainable, **self._native_gamma_beta_args())

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        })
        return config


@register_builtin("layers", "keras.layers")
class LayerNormalization(_Normalization):
    """Normalizes each sample over its features: γ·(x − mean)/√(var + ε) + β, with the mean and
    the biased variance taken over `axis` of that sample.

    Args:
        axis: the axis or list of axes to normalize over (default -1).
        epsilon: added to the variance (default 1e-3).
        center, scale: whether to learn β and γ (of the shape of the normalized axes).
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint.
        rms_scaling: Keras's deprecated variance-only scaling; must be False.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        if kwargs.pop("rms_scaling", False):
            raise ValueError("LayerNormalization: rms_scaling=True is deprecated in Keras and not supported by "
                             "fastdense")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [integer_axis(a, "LayerNormalization") for a in axis]
            if not self.axis:
                raise ValueError("LayerNormalization: axis must name at least one axis")
        else:
            self.axis = integer_axis(axis, "LayerNormalization")
        self.rms_scaling = False

    def _axes(self, rank):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        normalized = sorted(normalized_axis(a, rank, f"LayerNormalization '{self.name}'") for a in axes)
        if 0 in normalized or len(set(normalized)) != len(normalized):
            raise ValueError(f"LayerNormalization '{self.name}': axis {self.axis} must name distinct non-batch axes "
                             f"of an input of rank {rank}")
        return normalized

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f"LayerNormalization '{self.name}': the normalized axes of the input must be known, "
                             f"got {tuple(input_shape)}")
        # As Keras: the axes are kept as a sorted list once built (get_config then shows [-1]).
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        self._add_gamma_and_beta(shape)
        self._weight_shape = shape

    def _check_input_shape(self, input_shape):
        axes = self._axes(len(input_shape))
        if len(input_shape) != len(self._build_shapes) or tuple(input_shape[a] for a in axes) != self._weight_shape:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: it was built for input "
                             f"shape {tuple(self._build_shapes)}, but received input with shape "
                             f"{tuple(input_shape)}")

    def call(self, inputs):
        x = np.asarray(inputs)
        axes = self._axes(x.ndim)
        mean = x.mean(axis=tuple(axes), keepdims=True)
        variance = np.square(x - mean).mean(axis=tuple(axes), keepdims=True)
        gamma, beta = self._gamma_beta(x.ndim, axes)
        return normalize(x, mean, variance, gamma, beta, self.epsilon)

    def _lower(self, network, input_ids):
        self._lowerable_rank(self._axes(len(self._build_shapes)))
        return network.add_layer_normalization(input_ids[0], epsilon=self.epsilon, trainable=self.trainable,
                                               **self._native_gamma_beta_args())

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                       "rms_scaling": self.rms_scaling})
        config.update(self._gamma_beta_config())
        return config
