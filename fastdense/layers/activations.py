"""Activation layers: ReLU, LeakyReLU, ELU, Softmax and the learned PReLU (Keras 3 semantics).

The fixed ones run natively as an activation node (`network.add_activation`) configured like
the matching `fastdense.activations` function. A Softmax that ends a model is a softmax output
for crossentropy's logits shortcut, as in tf.keras, whose Softmax layer output carries its
logits (`_keras_logits`) just like `Activation("softmax")`.
"""

import numbers
import warnings

import numpy as np

from fastdense import activations, constraints, initializers, regularizers
from fastdense.layers.core import network_constraint, network_regularizer
from fastdense.layers.layer import Layer
from fastdense.object_registry import register_builtin


def _non_negative(value, what, layer, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{what} of a {layer} layer must be a number >= 0, got {what}={value!r}")
    return value


class _ElementwiseActivation(Layer):
    """A weightless layer computing one activation; subclasses give its native config."""

    def _native_config(self):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _lower(self, network, input_ids):
        return network.add_activation(input_ids[0], self._native_config(),
                                      activity_regularizer=network_regularizer(self.activity_regularizer))


@register_builtin("layers", "keras.layers")
class ReLU(_ElementwiseActivation):
    """`clip(x if x > threshold else 0, 0, max_value) − negative_slope·max(threshold − x, 0)`.

    Args:
        max_value: upper cap (>= 0), or None for none.
        negative_slope: slope below the threshold (>= 0).
        threshold: where the unit starts to pass its input (>= 0).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative(max_value, "max_value", "ReLU", allow_none=True)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "ReLU")
        self.threshold = _non_negative(threshold, "threshold", "ReLU")

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def _native_config(self):
        return {"name": "relu", "alpha": float(self.negative_slope),
                "max_value": None if self.max_value is None else float(self.max_value),
                "threshold": float(self.threshold)}

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


@register_builtin("layers", "keras.layers")
class LeakyReLU(_ElementwiseActivation):
    """`x` for x >= 0, `negative_slope·x` otherwise.

    Args:
        negative_slope: the slope for x < 0 (>= 0, default 0.3). `alpha` is Keras 2's name for it
            (deprecated, with a warning, as in Keras 3).
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "LeakyReLU")

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def _native_config(self):
        return {"name": "leaky_relu", "alpha": float(self.negative_slope)}

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


@register_builtin("layers", "keras.layers")
class ELU(_ElementwiseActivation):
    """`x` for x > 0, `alpha·(exp(x) − 1)` otherwise.

    Args:
        alpha: the scale of the negative part (default 1.0).
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha):
            raise ValueError(f"alpha of an ELU layer must be a finite number, got alpha={alpha!r}")
        self.alpha = alpha

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def _native_config(self):
        return {"name": "elu", "alpha": float(self.alpha)}

    def get_config(self):
        # Keras 3 derives ELU's config from its constructor arguments, hence this key order.
        base = super().get_config()
        return {"name": base.pop("name"), "alpha": self.alpha, **base}


@register_builtin("layers", "keras.layers")
class Softmax(_ElementwiseActivation):
    """`exp(x − max) / Σ exp(x − max)` along `axis` (an int or a list of ints, default -1).

    Call arguments:
        mask: optional boolean mask broadcastable to the inputs; masked positions get 0.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
            raise ValueError(f"axis of a Softmax layer must be an integer or a list of integers, got axis={axis!r}")
        self.axis = list(axis) if isinstance(axis, tuple) else axis

    def _axes(self):
        return tuple(self.axis) if isinstance(self.axis, list) else self.axis

    def call(self, inputs, mask=None):
        x = np.asarray(inputs)
        if mask is None:
            return activations.softmax(x, axis=self._axes())
        mask = np.asarray(mask)
        keep = mask if mask.dtype == np.bool_ else mask > 0.5
        # As Keras: masked logits become a large negative number, masked outputs 0.
        outputs = activations.softmax(np.where(keep, x, np.asarray(-1e9, x.dtype)), axis=self._axes())
        return np.where(keep, outputs, np.asarray(0.0, outputs.dtype))

    def _native_config(self):
        rank = len(self._build_shapes or ())
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if rank != 2 or [a % rank for a in axes if -rank <= a < rank] != [1] or len(axes) != 1:
            raise NotImplementedError(f"Softmax '{self.name}' runs natively only along the last axis of "
                                      f"(batch, features) inputs; got axis={self.axis} for input shape "
                                      f"{self._build_shapes}")
        return {"name": "softmax"}

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


@register_builtin("layers", "keras.layers")
class PReLU(Layer):
    """Parametric ReLU: `x` for x >= 0, `alpha·x` otherwise, with `alpha` learned.

    Args:
        alpha_initializer: initializer of alpha (default zeros).
        alpha_regularizer, alpha_constraint: penalty and projection of alpha.
        shared_axes: input axes along which one alpha is shared (None: one per value).
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a < 1 for a in self.shared_axes):
                raise ValueError(f"shared_axes of a PReLU layer must be input axes >= 1 (not the batch axis), "
                                 f"got shared_axes={shared_axes!r}")
        self.alpha = None

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise ValueError(f"PReLU '{self.name}': shared axis {axis} is out of bounds for an input of rank "
                                 f"{len(input_shape)}")
            shape[axis - 1] = 1
        if None in shape:
            raise ValueError(f"PReLU '{self.name}': the non-shared axes of the input must be known, "
                             f"got {tuple(input_shape)}")
        self.alpha = self.add_weight(name="alpha", shape=shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)

    def _check_input_shape(self, input_shape):
        compatible = len(input_shape) == len(self.alpha.shape) + 1 and all(
            a == 1 or d == a for d, a in zip(input_shape[1:], self.alpha.shape))
        if not compatible:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: alpha has shape "
                             f"{self.alpha.shape}, but received input with shape {tuple(input_shape)}")

    def call(self, inputs):
        x = np.asarray(inputs)
        return np.where(x > 0, x, self.alpha.value * x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _lower(self, network, input_ids):
        if len(self._build_shapes) != 2:
            raise NotImplementedError(f"PReLU '{self.name}' runs natively only on (batch, features) inputs; got "
                                      f"input shape {tuple(self._build_shapes)}")
        return network.add_prelu(input_ids[0], self.alpha.value,
                                 alpha_regularizer=network_regularizer(self.alpha_regularizer),
                                 alpha_constraint=network_constraint(self.alpha_constraint),
                                 activity_regularizer=network_regularizer(self.activity_regularizer),
                                 trainable=self.trainable)

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config
