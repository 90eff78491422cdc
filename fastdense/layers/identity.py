"""Identity: returns its input (a placeholder layer), as keras/src/layers/core/identity.py."""

from fastdense.layers.layer import Layer
from fastdense.object_registry import register_builtin


@register_builtin("layers", "keras.layers")
class Identity(Layer):
    """Returns its input unchanged; useful as a placeholder where a layer is expected.

    Input shape: any. Output shape: the same. Inside a model it adds no node at all.
    """

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def _lower(self, network, input_ids):
        if len(input_ids) != 1:
            raise NotImplementedError(f"Identity '{self.name}': inside a model fastdense supports one input tensor")
        return input_ids[0]
