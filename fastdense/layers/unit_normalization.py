"""UnitNormalization: scales each sample to unit L2 norm, as keras/src/layers/normalization/unit_normalization.py."""

import numpy as np

from fastdense.layers.layer import Layer
from fastdense.object_registry import register_builtin

# keras.ops.normalize(x, order=2, epsilon=1e-12) computes x * min(rsqrt(sum(x^2)), 1/epsilon); the
# same value as x * rsqrt(max(sum(x^2), epsilon^2)), the form whose gradient stays finite at x = 0.
_EPSILON = 1e-12


@register_builtin("layers", "keras.layers")
class UnitNormalization(Layer):
    """Normalizes each input to L2 norm 1 across `axis`.

    Args:
        axis: int or list/tuple of ints, the axis or axes to normalize across (-1: the features).

    Runs as a Python node inside a model (the engine has no such node); its gradient comes from
    fastdense.autodiff.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
                raise TypeError(f"Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                                f"Received: axis={axis}")
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                            f"Received: axis={axis}")

    def _axes(self):
        return tuple(self.axis) if isinstance(self.axis, list) else self.axis

    def call(self, inputs):
        square_sum = np.sum(np.square(inputs), axis=self._axes(), keepdims=True)
        return inputs / np.sqrt(np.maximum(square_sum, _EPSILON * _EPSILON))

    def compute_output_shape(self, input_shape):
        for axis in (self.axis if isinstance(self.axis, list) else [self.axis]):
            if axis >= len(input_shape) or axis < -len(input_shape):
                raise ValueError(f"Axis {self.axis} is out of bounds for input shape {tuple(input_shape)}.")
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
