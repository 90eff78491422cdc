"""What `adapt()` accepts, as a stream of NumPy batches.

Keras's layers adapt on arrays, tf.data Datasets, PyDatasets and iterables of batches
(keras/src/layers/preprocessing/normalization.py `adapt`). fastdense takes the same, and also
pandas DataFrames and Series (tf.keras's `Normalization.adapt(df)` raises a TypeError) and
plain lists of strings or numbers, which are one batch of data, not a list of batches.
"""

import numpy as np

from fastdense.layers.preprocessing.preprocessing_layer import as_array


def _first_of_tuple(batch):
    """The x of an (x, y) or (x, y, sample_weight) batch."""
    return batch[0] if isinstance(batch, tuple) else batch


def is_single_batch(data):
    """True for data that is one batch: an array, a pandas object, a list of scalars/strings."""
    if isinstance(data, np.ndarray) or hasattr(data, "to_numpy") or np.isscalar(data):
        return True
    if isinstance(data, (list, tuple)):
        return not data or not hasattr(data[0], "__len__") or isinstance(data[0], (str, bytes, list, tuple))
    return False


def batches(data, batch_size=None, steps=None):
    """Yields the data as NumPy arrays: an array in slices of `batch_size` rows (all of it when
    None), a Sequence/PyDataset item by item, a generator or iterable batch by batch; `steps`
    caps the number of batches."""
    if is_single_batch(data):
        array = as_array(data)
        if batch_size is None or array.ndim == 0:
            yield array
            return
        for k, start in enumerate(range(0, len(array), int(batch_size))):
            if steps is not None and k >= steps:
                return
            yield array[start:start + int(batch_size)]
        return
    if hasattr(data, "__getitem__") and hasattr(data, "__len__"):  # Sequence / PyDataset / list of batches
        count = len(data) if steps is None else min(len(data), steps)
        for k in range(count):
            yield as_array(_first_of_tuple(data[k]))
        return
    if not hasattr(data, "__iter__"):
        raise TypeError(f"adapt() takes arrays, pandas DataFrames/Series, lists, Sequences or iterables of batches; "
                        f"got {type(data).__name__}")
    for k, batch in enumerate(data):
        if steps is not None and k >= steps:
            return
        yield as_array(_first_of_tuple(batch))
