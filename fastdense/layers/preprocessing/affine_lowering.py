"""Normalization and Rescaling inside the native engine: one per-feature affine node
(src/engine/layer/Affine.h) over the flattened sample, `x * a + b` or `(x - a) / b`.

The node reads `a` and `b` in place from arrays owned by the layer, one pair per network the
layer was lowered into; `refresh` copies new statistics into every pair (a Normalization
adapted again after a model was built), so the engine always sees the layer's current state
without rebuilding anything.
"""

import math

import numpy as np


def lower(layer, network, input_id, kind, a, b):
    """Adds the affine node of `layer` reading `input_id`; a and b broadcast to one sample
    (the layer's input shape without the batch axis). Returns the node id."""
    sample_shape = tuple(layer._build_shapes)[1:]
    width = math.prod(sample_shape)
    # Copies the layer owns (np.array always copies): the engine keeps pointers to them.
    a_values, b_values = (np.array(np.broadcast_to(_sample_part(v, sample_shape), sample_shape).reshape(width),
                                   dtype=network.dtype, order="C") for v in (a, b))
    coefficients = layer.__dict__.setdefault("_engine_coefficients", [])
    coefficients.append((sample_shape, a_values, b_values))
    return network.add_affine(input_id, kind, a_values, b_values)


def can_lower(layer, *values):
    """Whether every value broadcasts to one sample of the layer's input (a value with its own
    entry per batch row, such as statistics kept along the batch axis, needs the Python node)."""
    if layer._build_shapes is None or any(d is None for d in tuple(layer._build_shapes)[1:]):
        return False
    sample_ndim = len(layer._build_shapes) - 1
    for value in values:
        shape = np.shape(value)
        if len(shape) > sample_ndim and any(d != 1 for d in shape[:len(shape) - sample_ndim]):
            return False
        try:
            np.broadcast_shapes(shape[max(0, len(shape) - sample_ndim):], tuple(layer._build_shapes)[1:])
        except ValueError:
            return False
    return True


def refresh(layer, a, b):
    """Copies new coefficients into the arrays every engine node of `layer` reads."""
    for sample_shape, a_values, b_values in layer.__dict__.get("_engine_coefficients", ()):
        np.copyto(a_values, np.broadcast_to(_sample_part(a, sample_shape), sample_shape).reshape(a_values.shape))
        np.copyto(b_values, np.broadcast_to(_sample_part(b, sample_shape), sample_shape).reshape(b_values.shape))


def sample_part(value, sample_ndim):
    """`value` without leading axes of size 1 beyond a sample's rank (the batch axis of
    Normalization's broadcast statistics)."""
    array = np.asarray(value)
    while array.ndim > sample_ndim and array.shape[0] == 1:
        array = array[0]
    return array


def _sample_part(value, sample_shape):
    return sample_part(value, len(sample_shape))
