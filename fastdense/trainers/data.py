"""Turning what users pass to fit/evaluate/predict into the engine's layout.

Arrays are converted once per call to C-contiguous (samples, features) arrays of the model's
float type; batches are then gathered natively by index, so the user's data is never copied
per batch. Generators and Sequences yield batches that are converted one at a time.

What Keras takes as arrays is taken here too (`standardize`): pandas DataFrames and Series,
other tables with the dataframe interchange protocol (polars), anything with `__array__`, and
scipy sparse matrices. A sparse input stays a CSR matrix in ArrayData: the engine cannot gather
rows from it, so epochs over sparse data densify a few batches of rows at a time
(`ArrayData.rows_at`, at most _DENSE_CHUNK_BYTES per native call) and never the whole matrix.
"""

import numbers
from collections.abc import Mapping

import numpy as np

from fastdense.native import check_finite
from fastdense.trainers import foreign_data
from fastdense.trainers.foreign_data import NonNumericDataError

# Sparse inputs are densified per chunk of consecutive batches of at most this many bytes:
# large enough that a chunk is several batches of a wide matrix, small next to the matrix.
_DENSE_CHUNK_BYTES = 8 << 20


class ArrayData:
    """Inputs, targets and sample weights of `rows` samples, in the engine's layout."""

    def __init__(self, inputs, targets=None, sample_weight=None):
        self.inputs = inputs
        self.targets = targets
        self.sample_weight = sample_weight
        self.rows = inputs[0].shape[0]

    @property
    def sparse(self):
        """Whether an input is a sparse matrix (densified per chunk); asked per fit, not per batch."""
        return any(type(a) is not np.ndarray and foreign_data.is_sparse(a) for a in self.inputs)

    def take(self, start, stop):
        """Rows [start, stop) as views (validation_split)."""
        cut = slice(start, stop)
        return ArrayData([a[cut] for a in self.inputs],
                         None if self.targets is None else [t[cut] for t in self.targets],
                         None if self.sample_weight is None else self.sample_weight[cut])

    def rows_at(self, index):
        """The rows `index` (an index array or a slice) with sparse inputs densified: what the
        engine reads for a chunk of batches of sparse data."""
        def dense(array):
            part = array[index]
            return np.ascontiguousarray(part.toarray()) if foreign_data.is_sparse(part) else part

        return ArrayData([dense(a) for a in self.inputs],
                         None if self.targets is None else [t[index] for t in self.targets],
                         None if self.sample_weight is None else self.sample_weight[index])

    def rows_per_chunk(self, batch_size):
        """How many rows of sparse data to densify at once: whole batches, at least one."""
        row_bytes = sum(a.shape[1] * a.dtype.itemsize for a in self.inputs if foreign_data.is_sparse(a))
        return max(1, _DENSE_CHUNK_BYTES // max(1, row_bytes * batch_size)) * batch_size


def has_sparse(inputs):
    """True when some converted input is a CSR matrix (input_arrays gives NumPy arrays otherwise)."""
    for array in inputs:
        if type(array) is not np.ndarray:
            return True
    return False


def predict_by_chunks(network, inputs, batch_size):
    """network.predict over inputs with sparse ones, a densified chunk of rows at a time."""
    data = ArrayData(inputs)
    chunk = data.rows_per_chunk(batch_size or 32)
    parts = [network.predict(data.rows_at(slice(start, start + chunk)).inputs, batch_size or chunk)
             for start in range(0, data.rows, chunk)]
    return [np.concatenate([part[k] for part in parts]) for k in range(len(parts[0]))]


def evaluate_by_chunks(network, data, count, batch_size):
    """network.evaluate over the first `count` rows of sparse data, a densified chunk at a time
    (the network's running means add the chunks up as they add up batches)."""
    chunk = data.rows_per_chunk(batch_size)
    for start in range(0, count, chunk):
        part = data.rows_at(slice(start, min(start + chunk, count)))
        network.evaluate(part.inputs, part.targets, part.sample_weight, batch_size, None)


def is_batch_source(x):
    """True for Python generators/iterators, Sequence/PyDataset objects, tf.data Datasets and
    PyTorch DataLoaders; False for arrays, tables, Series and sparse matrices (a DataFrame has
    __getitem__ and __len__ too, but is data, not a Sequence)."""
    if isinstance(x, (np.ndarray, list, tuple, dict)) or x is None:
        return False
    if isinstance(x, foreign_data.NumpyBatches) or foreign_data.is_tf_dataset(x) or foreign_data.is_torch_dataloader(x):
        return True
    if foreign_data.is_array_like(x):
        return False
    return hasattr(x, "__next__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


def standardize(x, names, dtype, what):
    """x with DataFrames, Series, array-likes and sparse matrices replaced by what the rest of
    this module reads: NumPy arrays, and CSR matrices for sparse data. Lists, tuples and dicts
    are standardized item by item.

    names: the model's input names (or output keys, for targets) when it has several. A table
    given for several inputs feeds each one its column of the same name (as `dict(df)` does);
    otherwise a table is one (rows, columns) array, as in Keras. Series become 1-D arrays, which
    the checks below expand to (rows, 1) for a (1,)-shaped Input or output, as Keras does.
    dtype: one dtype, or a dict name -> dtype when the inputs differ ('string' inputs keep
    their text).
    """
    if type(x) is np.ndarray or x is None:
        return x
    if isinstance(x, dict):
        return {key: standardize(value, None, _dtype_of(dtype, key), f"{what} {key!r}") for key, value in x.items()}
    if isinstance(x, (list, tuple)):
        # Positional items take their input's dtype; a wrong count is reported later, by name.
        keys = names if isinstance(dtype, dict) and names is not None and len(names) == len(x) else [None] * len(x)
        return type(x)(standardize(value, None, _dtype_of(dtype, key), what) for key, value in zip(keys, x))
    if foreign_data.is_table(x):
        if names is not None and len(names) > 1:
            columns = foreign_data.table_column_names(x)
            missing = [n for n in names if n not in columns]
            if missing:
                raise ValueError(f"A DataFrame feeds a model with several {what}s by column name: the model's "
                                 f"{what}s are {names} but the DataFrame has no column(s) {missing} (its columns "
                                 f"are {columns})")
            return {name: foreign_data.column_as(
                        foreign_data.table_column(x, columns.index(name), name), _dtype_of(dtype, name),
                        f"Column {name!r} of the DataFrame passed as {what}s")
                    for name in names}
        return foreign_data.table_to_array(x, dtype, what)
    if foreign_data.is_pandas_series(x):
        return foreign_data.column_as(foreign_data.series_values(x), dtype, f"The Series {x.name!r} passed as {what}")
    if foreign_data.is_sparse(x):
        return x.tocsr()
    if hasattr(x, "__array__"):
        return np.asarray(x)
    return x


def _dtype_of(dtype, key):
    """The dtype for the item `key` of a structure: `dtype` itself, or its entry when it is a
    dict of per-input dtypes (unknown keys: the model's float type, as the first entry's)."""
    if not isinstance(dtype, dict):
        return dtype
    floats = [d for d in dtype.values() if d in ("float32", "float64")]
    return dtype.get(key, floats[0] if floats else "float32")


def row_count(x):
    """Samples in standardized data (the first array of a structure)."""
    if isinstance(x, dict):
        x = next(iter(x.values()))
    elif isinstance(x, (list, tuple)):
        x = x[0]
    return x.shape[0] if hasattr(x, "shape") else len(x)


def unpack(data):
    """(x, y, sample_weight) from a tuple or list of 1 to 3 items (Keras's unpacking)."""
    if isinstance(data, (tuple, list)):
        if not 1 <= len(data) <= 3:
            raise ValueError(f"Expected (x,), (x, y) or (x, y, sample_weight), got a sequence of {len(data)} items")
        return tuple(data) + (None,) * (3 - len(data))
    return data, None, None


def _engine_shaped(value, dtype, width):
    """True for a (samples, width) numpy array of `dtype` with at least one sample."""
    return (type(value) is np.ndarray and value.dtype == dtype and value.ndim == 2 and value.shape[1] == width
            and value.shape[0] > 0)


def _ready(value, dtype, width):
    """True when `value` is what the engine reads: engine-shaped and C-contiguous; such arrays
    skip the general conversion below."""
    return _engine_shaped(value, dtype, width) and value.flags.c_contiguous


def _in_engine_layout(value, dtype, width):
    """An engine-shaped array as the engine reads it (itself, or a C-contiguous copy of another
    memory order), or None for anything else."""
    if not _engine_shaped(value, dtype, width):
        return None
    return value if value.flags.c_contiguous else np.ascontiguousarray(value)


def ready_batch(x, y, inputs, outputs, dtype):
    """ArrayData for the commonest on-batch call: a model with one (samples, features) input and
    one output, given one input array and one target array of the engine's dtype and shapes (the
    checks of input_arrays and target_arrays, without their conversions). None otherwise."""
    if len(inputs) != 1 or len(outputs) != 1 or len(inputs[0].shape) != 2:
        return None
    output = outputs[0]
    x, y = _in_engine_layout(x, dtype, inputs[0].shape[1]), _in_engine_layout(y, dtype, output.target_cols)
    if x is None or y is None or y.shape[0] != x.shape[0]:
        return None
    check_finite(x, "Input 0")
    check_finite(y, f"Target for output '{output.name}'")
    if output.sparse_classes is not None:
        _check_class_indices(y, output.sparse_classes, output.name)
    return ArrayData([x], [y])


def input_arrays(model, x, dtype, finite=True):
    """The model's inputs as (samples, features) arrays, checked against the Input shapes.
    finite: reject NaN and infinity, as for training; predict lets them through as Keras does
    (a NaN in a sample gives NaN outputs for that sample)."""
    if len(model.inputs) == 1 and type(x) is np.ndarray and x.dtype.kind in "fiub" and len(model.inputs[0].shape) == 2:
        array = np.ascontiguousarray(x, dtype=dtype)  # the latency-critical case: one (samples, features) array
        if _ready(array, dtype, model.inputs[0].shape[1]):
            if finite:
                check_finite(array, "Input 0")
            return [array]
    arrays = model._input_list(x)
    if len(arrays) != len(model.inputs):
        raise ValueError(f"Model '{model.name}' expects {len(model.inputs)} input(s), got {len(arrays)}")
    converted = []
    for k, (tensor, value) in enumerate(zip(model.inputs, arrays)):
        if value is None:
            raise ValueError(f"Input {k} of model '{model.name}' is None")
        expected = tensor.shape[1:]
        if foreign_data.is_sparse(value):
            converted.append(_sparse_input(value, k, expected, tensor.shape, model.name, dtype, finite))
            continue
        array = _numeric_array(np.asarray(value), dtype, f"Input {k} of model '{model.name}'")
        if array.ndim == len(expected) and expected[-1] == 1:  # (N,) for an Input of shape (1,)
            array = array.reshape(array.shape + (1,))
        if array.ndim != len(expected) + 1 or any(e is not None and e != a for e, a in zip(expected, array.shape[1:])):
            raise ValueError(f"Input {k} of layer '{model.name}' is incompatible with the layer: "
                             f"expected shape={tensor.shape}, found shape={array.shape}")
        if array.shape[0] == 0:
            raise ValueError(f"Input {k} of model '{model.name}' has no samples")
        array = np.ascontiguousarray(array.reshape(array.shape[0], -1), dtype=dtype)
        if finite:
            check_finite(array, f"Input {k}")
        converted.append(array)
    rows = {a.shape[0] for a in converted}
    if len(rows) > 1:
        raise ValueError(f"All inputs must have the same number of samples, got {[a.shape[0] for a in converted]}")
    return converted


def _numeric_array(array, dtype, what):
    """`array` if numeric; an object array of numbers as `dtype`; else NonNumericDataError."""
    if array.dtype.kind in "fiub":
        return array
    if array.dtype.kind == "O":
        return foreign_data.numeric_column(array.reshape(-1), dtype, what).reshape(array.shape)
    raise NonNumericDataError(f"{what} must be numeric, got dtype {array.dtype}: the model's inputs and targets "
                              f"take numbers ({np.dtype(dtype).name})")


def _sparse_input(matrix, k, expected, shape, model_name, dtype, finite):
    """A CSR input checked like a dense one; its values in `dtype`, its rows densified later."""
    if len(expected) != 1 or expected[0] not in (None, matrix.shape[1]):
        raise ValueError(f"Input {k} of layer '{model_name}' is incompatible with the layer: "
                         f"expected shape={shape}, found shape={matrix.shape}")
    if matrix.shape[0] == 0:
        raise ValueError(f"Input {k} of model '{model_name}' has no samples")
    _numeric_array(matrix.data, dtype, f"Input {k} of model '{model_name}'")
    matrix = matrix.astype(dtype, copy=False)
    if finite:
        check_finite(np.ascontiguousarray(matrix.data), f"Input {k}")
    return matrix


def target_arrays(values, rows, outputs, dtype):
    """One (samples, columns) target per output (values: one per output, as model._target_list
    splits y); columns as the output's loss reads them."""
    converted = []
    for value, output in zip(values, outputs):
        if value is None:
            raise ValueError(f"No target given for output '{output.name}'")
        if _ready(value, dtype, output.target_cols) and value.shape[0] == rows:
            array = value
        else:
            array = _target_array(value, rows, output, dtype)
        check_finite(array, f"Target for output '{output.name}'")
        if output.sparse_classes is not None:
            _check_class_indices(array, output.sparse_classes, output.name)
        converted.append(array)
    return converted


def _target_array(value, rows, output, dtype):
    """One target converted to a (samples, columns) array of `dtype`, its shape checked."""
    array = value.toarray() if foreign_data.is_sparse(value) else np.asarray(value)
    array = _numeric_array(array, dtype, f"Target for output '{output.name}'")
    if array.shape[0] != rows:
        raise ValueError(f"Data cardinality is ambiguous: x has {rows} samples but the target for output "
                         f"'{output.name}' has {array.shape[0]}. Make sure all arrays have the same number of samples.")
    flat = array.reshape(rows, -1) if array.ndim != 1 else array.reshape(rows, 1)
    if flat.shape[1] != output.target_cols:
        raise ValueError(f"Target for output '{output.name}' has shape {array.shape}, but the output has shape "
                         f"{output.shape} and its loss reads {output.target_cols} value(s) per sample")
    return np.ascontiguousarray(flat, dtype=dtype)


def _check_class_indices(labels, num_classes, name):
    bad = (labels < 0) | (labels >= num_classes) | (labels != np.floor(labels))
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        raise ValueError(f"Target for output '{name}' holds class index {float(labels[row, 0]):g} at sample {row}; "
                         f"sparse labels must be integers in [0, {num_classes})")


def sample_weight_array(sample_weight, class_weight, targets, rows, dtype):
    """Per-sample weights from sample_weight or class_weight (not both, as in Keras 3)."""
    if sample_weight is not None and class_weight is not None:
        raise ValueError("You cannot pass both `sample_weight` and `class_weight` at the same time")
    if class_weight is not None:
        if len(targets) != 1:
            raise ValueError("`class_weight` is only supported for models with a single output")
        return class_weights_to_samples(class_weight, targets[0], dtype)
    if sample_weight is None:
        return None
    if len(targets) > 1 and isinstance(sample_weight, (list, tuple, dict)):
        sample_weight = _weight_shared_by_outputs(sample_weight, len(targets))
    weights = np.asarray(sample_weight, dtype=dtype)
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.shape != (rows,):
        raise ValueError(f"sample_weight must have shape ({rows},), got {np.shape(sample_weight)}")
    check_finite(weights, "sample_weight")
    return np.ascontiguousarray(weights)


def _weight_shared_by_outputs(per_output, count):
    """One weight vector from per-output sample weights (a list, or a dict by output name).
    The engine weights every output's loss with the same vector, so they must be equal."""
    values = list(per_output.values()) if isinstance(per_output, dict) else list(per_output)
    if len(values) != count:
        raise ValueError(f"sample_weight has {len(values)} entries but the model has {count} outputs")
    arrays = [None if v is None else np.asarray(v, dtype=np.float64) for v in values]
    first = arrays[0]
    if any(a is None for a in arrays) or any(a.shape != first.shape or not np.array_equal(a, first) for a in arrays):
        raise NotImplementedError("fastdense weights all outputs with one sample_weight vector; different "
                                  "weights per output are not supported yet")
    return first


def check_class_weight(class_weight):
    """Rejects a class_weight that is not a dict of class index -> weight (Keras 3 fails on one
    only later, with an AttributeError such as `'str' object has no attribute 'get'`)."""
    if class_weight is None:
        return
    if not isinstance(class_weight, Mapping):
        raise TypeError(f"`class_weight` must be a dict mapping class indices to weights, got {class_weight!r} "
                        f"of type {type(class_weight).__name__}")
    for key, weight in class_weight.items():
        # A key 1.0 finds the same dict entry as 1, in Keras too; a key "1" would be ignored there.
        if isinstance(key, bool) or not isinstance(key, numbers.Real):
            raise TypeError(f"`class_weight` keys must be integer class indices, got {key!r} of type "
                            f"{type(key).__name__} in {class_weight!r}")
        if not float(key).is_integer():
            raise ValueError(f"`class_weight` keys must be integer class indices, got {key!r} in {class_weight!r}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise TypeError(f"`class_weight` values must be numbers, got {weight!r} of type {type(weight).__name__} "
                            f"for class {key!r}")


def class_weights_to_samples(class_weight, targets, dtype):
    """Keras's rule: the class of a one-hot row is its argmax; otherwise the rounded label."""
    classes = np.argmax(targets, axis=1) if targets.shape[1] > 1 else np.round(targets[:, 0]).astype(np.int64)
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([table.get(int(c), 1.0) for c in classes], dtype=dtype)
