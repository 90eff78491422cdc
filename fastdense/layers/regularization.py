"""GaussianDropout, AlphaDropout and ActivityRegularization (keras/src/layers/regularization/).

The two noise layers change their input only while training (fit, train_on_batch): predict and
evaluate pass it through. They run as Python nodes inside a model (the engine has no
multiplicative-noise node); the noise is drawn with NumPy, from the layer's own generator when it
was given a seed, else from fastdense's global one (fastdense.random.set_seed).
ActivityRegularization is an identity node carrying the engine's activity penalty.
"""

import math

import numpy as np

from fastdense import random as fd_random
from fastdense import regularizers
from fastdense.layers.layer import Layer
from fastdense.native.python_nodes import network_regularizer
from fastdense.object_registry import register_builtin

# SELU's constants (keras/src/layers/regularization/alpha_dropout.py): dropped units take SELU's
# negative saturation value -alpha * scale.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_rate(rate):
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)) or not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                         f"Received: rate={rate}")
    return float(rate)


class _NoiseLayer(Layer):
    """A training-only noise layer with Keras's optional `seed`."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        self.seed = seed
        self._generator = np.random.default_rng(seed) if seed is not None else None

    def _random(self):
        return self._generator if self._generator is not None else fd_random.global_generator()

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@register_builtin("layers", "keras.layers")
class GaussianDropout(_NoiseLayer):
    """Multiplies the input by 1-centred Gaussian noise of standard deviation sqrt(rate / (1 - rate))
    while training.

    Args:
        rate: drop probability (as with Dropout), in [0, 1].
        seed: optional integer seed of the noise.
    """

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = self._random().normal(1.0, stddev, np.shape(inputs)).astype(self.dtype)
        return inputs * noise

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


@register_builtin("layers", "keras.layers")
class AlphaDropout(_NoiseLayer):
    """Dropout that keeps the mean and variance of its inputs (for SELU networks): while training,
    dropped units are set to SELU's negative saturation value, then an affine map restores the
    moments.

    Args:
        rate: drop probability, in [0, 1].
        noise_shape: shape of the keep mask (None entries take the input's size, 1 broadcasts).
        seed: optional integer seed of the mask.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"AlphaDropout '{self.name}': noise_shape {self.noise_shape} must have one entry per "
                             f"axis of the input, whose shape is {shape}")
        return tuple(size if wanted is None else wanted for size, wanted in zip(shape, self.noise_shape))

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        kept = (self._random().random(self._mask_shape(np.shape(inputs))) >= self.rate).astype(self.dtype)
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * kept + alpha_p * (1.0 - kept)) + b

    def get_config(self):
        config = super().get_config()
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": noise_shape})
        return config


@register_builtin("layers", "keras.layers")
class ActivityRegularization(Layer):
    """Passes its input through and adds `l1 * sum(|x|) + l2 * sum(x^2)` of it to the training loss.

    Args:
        l1, l2: the penalty factors (non-negative floats).

    Inside a model it is a native linear node with the engine's activity penalty (the one Dense's
    activity_regularizer uses).
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # the penalty is l1/l2's, as in Keras
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _lower(self, network, input_ids):
        return network.add_activation(input_ids[0], {"name": "linear"},
                                      activity_regularizer=network_regularizer(self.activity_regularizer))

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update({"l1": self.l1, "l2": self.l2})
        return config
