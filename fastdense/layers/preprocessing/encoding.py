"""Integer indices to one-hot / multi-hot / count vectors, as Keras encodes categorical outputs
(keras/src/utils/numerical_utils.py `encode_categorical_inputs`; on TensorFlow, inputs of rank
<= 2 go through `tf.math.bincount` over the last axis, which drops indices >= depth)."""

import numpy as np

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def encode(indices, output_mode, depth, dtype, count_weights=None):
    indices = np.asarray(indices)
    if output_mode == "int":
        return indices.astype(dtype)
    if indices.ndim == 0:
        indices = indices.reshape(1)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices.reshape(indices.shape[:-1])
        return _one_hot(indices, depth, dtype)
    if count_weights is None and indices.ndim > 1 and indices.shape[-1] == 1:
        # one value per sample (a table's column): multi-hot and count are its one-hot row
        return _one_hot(indices.reshape(indices.shape[:-1]), depth, dtype)
    hot = _one_hot(indices, depth, np.float64 if count_weights is not None else dtype)
    if output_mode == "count":
        if count_weights is not None:
            hot = hot * np.asarray(count_weights)[..., None]
        return hot.sum(axis=-2).astype(dtype)
    if output_mode == "multi_hot":
        return hot.max(axis=-2).astype(dtype) if hot.shape[-2] else np.zeros(hot.shape[:-2] + (depth,), dtype)
    raise ValueError(f"Unknown output_mode: {output_mode}")


def _one_hot(indices, depth, dtype):
    """One-hot rows; indices outside [0, depth) give all-zero rows (tf.one_hot's rule)."""
    flat = indices.reshape(-1).astype(np.int64)
    out = np.zeros((flat.size, depth), dtype=dtype)
    valid = (flat >= 0) & (flat < depth)
    out[np.nonzero(valid)[0], flat[valid]] = 1
    return out.reshape(indices.shape + (depth,))


def encoded_shape(input_shape, output_mode, depth):
    """Keras's output shape of `encode` for an input shape (batch axis included)."""
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)
