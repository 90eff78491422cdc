"""RepeatVector and Permute (Keras 3, keras/src/layers/reshaping/).

Both only move values within each sample, so each lowers to one native column gather
(src/engine/layer/ColumnGather.h) with the source of every output value computed here once:
the engine stores each sample flat and row-major, as NumPy does.
"""

import numpy as np

from fastdense.layers.layer import Layer
from fastdense.object_registry import register_builtin


def _sample_shape(layer, input_shape):
    shape = tuple(input_shape[1:])
    if any(d is None for d in shape):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': every non-batch axis of the input must be known "
                         f"to run natively, got {tuple(input_shape)}")
    return shape


@register_builtin("layers", "keras.layers")
class RepeatVector(Layer):
    """Repeats a (batch, features) input n times: output (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = int(n)

    def _check_input_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected ndim=2, "
                             f"found ndim={len(input_shape)}. Full shape received: {tuple(input_shape)}")

    def call(self, inputs):
        return np.repeat(np.asarray(inputs)[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def _lower(self, network, input_ids):
        (features,) = _sample_shape(self, self._inbound_nodes[0].inputs[0].shape)
        return network.add_column_gather(input_ids[0], "RepeatVector", np.tile(np.arange(features), self.n).tolist())

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


@register_builtin("layers", "keras.layers")
class Permute(Layer):
    """Permutes the non-batch axes: `Permute((2, 1))` turns (batch, a, b) into (batch, b, a).

    Args:
        dims: a permutation of 1..rank-1 (the batch axis 0 stays first).
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             f"must be consecutive and start from 1. Received dims={tuple(dims)}")

    def _check_input_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                             f"ndim={len(self.dims) + 1}, found ndim={len(input_shape)}. Full shape received: "
                             f"{tuple(input_shape)}")

    def call(self, inputs):
        return np.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def _lower(self, network, input_ids):
        shape = _sample_shape(self, self._inbound_nodes[0].inputs[0].shape)
        source = np.arange(int(np.prod(shape))).reshape(shape).transpose([d - 1 for d in self.dims]).ravel()
        return network.add_column_gather(input_ids[0], "Permute", source.tolist())

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims  # a tuple, as Keras returns it (JSON writes a list)
        return config
