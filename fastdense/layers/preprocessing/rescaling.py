"""Rescaling: x * scale + offset (keras/src/layers/preprocessing/rescaling.py)."""

import numpy as np

from fastdense.layers.preprocessing import affine_lowering
from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer
from fastdense.object_registry import register_builtin


@register_builtin("layers", "keras.layers")
class Rescaling(PreprocessingLayer):
    """Multiplies inputs by `scale` and adds `offset` (e.g. scale=1/255 for pixel values)."""

    numeric_in_engine = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs):
        scale = np.asarray(self.scale, dtype=self.dtype)
        offset = np.asarray(self.offset, dtype=self.dtype)
        if isinstance(inputs, np.ndarray):
            inputs = inputs.astype(self.dtype, copy=False)
        return inputs * scale + offset

    def _lower(self, network, input_ids):
        """A native affine node, x * scale + offset as call() computes it."""
        scale = np.asarray(self.scale, dtype=self.dtype)
        offset = np.asarray(self.offset, dtype=self.dtype)
        if not affine_lowering.can_lower(self, scale, offset):
            return super()._lower(network, input_ids)
        return affine_lowering.lower(self, network, input_ids[0], "multiply_add", scale, offset)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": _plain(self.scale), "offset": _plain(self.offset)})
        return config


def _plain(value):
    """Keras serializes a float as itself and an array as a list."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
