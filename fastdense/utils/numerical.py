"""Array helpers with the semantics of `keras.utils.to_categorical` and `keras.utils.normalize`."""

import numpy as np


def to_categorical(x, num_classes=None):
    """One-hot encodes integer class labels; the class axis is appended last.

    A trailing axis of size 1 is dropped first, so labels of shape `(N, 1)` give `(N, C)`,
    like `(N,)`. `num_classes` defaults to `max(x) + 1`. Returns a float64 array (as Keras does
    for NumPy input).
    """
    x = np.array(x, dtype="int64")
    shape = x.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = x.reshape(-1)
    if not num_classes:
        num_classes = int(np.max(flat)) + 1
    one_hot = np.zeros((flat.shape[0], num_classes))
    one_hot[np.arange(flat.shape[0]), flat] = 1
    return one_hot.reshape(tuple(shape) + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divides `x` by its `order`-norm along `axis`; slices with a zero norm are left unchanged.

    `axis=None` normalizes the flattened array as one vector. (Keras's NumPy path turns
    `axis=0` into the last axis, through `axis or -1`; here axis 0 means axis 0.)
    """
    x = np.asarray(x)
    if axis is None:
        norm = np.linalg.norm(x.reshape(-1), order)
        return x / norm if norm else x.astype(np.result_type(x, 1.0))
    norm = np.linalg.norm(x, order, axis, keepdims=True)
    norm[norm == 0] = 1
    return x / norm
