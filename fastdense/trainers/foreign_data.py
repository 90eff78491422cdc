"""Data from other libraries, recognised without importing them: pandas DataFrames and Series
(and other tables: polars, pyarrow, anything with the dataframe interchange protocol), objects with
`__array__`, scipy sparse matrices, `tf.data.Dataset` and PyTorch `DataLoader`.

Importing fastdense imports none of those libraries: every check here looks at the type's
module name or at a protocol method, as `keras/src/trainers/data_adapters/data_adapter_utils.py`
does. Tables become NumPy arrays column by column, in the model's float type, so a column that
is not numeric is reported by name; sparse matrices stay sparse (CSR) until a batch of rows is
taken from them (see ArrayData in data.py).
"""

import numpy as np


class NonNumericDataError(TypeError, ValueError):
    """Data that is not numeric where the model takes numbers. Both a TypeError (what fastdense
    raised before) and a ValueError (what Keras raises: `Invalid dtype: str32`)."""


def _module(value):
    return type(value).__module__ or ""


def is_table(value):
    """A DataFrame: pandas's, or a table with the dataframe interchange protocol (pyarrow, modin),
    or with the Arrow stream protocol and named columns (polars, which dropped the former)."""
    kind = type(value)
    return (hasattr(kind, "__dataframe__") or (hasattr(kind, "__arrow_c_stream__") and hasattr(value, "columns"))
            or (_module(value).startswith("pandas") and kind.__name__ == "DataFrame"))


def is_pandas_series(value):
    return _module(value).startswith("pandas") and type(value).__name__ == "Series"


def is_sparse(value):
    """A scipy.sparse matrix or array (any format)."""
    return _module(value).startswith("scipy.sparse") and hasattr(value, "tocsr")


def is_tf_dataset(value):
    return _module(value).startswith("tensorflow") and hasattr(value, "as_numpy_iterator")


def is_torch_dataloader(value):
    return any(cls.__name__ == "DataLoader" and (cls.__module__ or "").startswith("torch.utils.data")
               for cls in type(value).__mro__)


def is_array_like(value):
    """Data given as one block of samples rather than as a source of batches."""
    return (isinstance(value, np.ndarray) or hasattr(value, "__array__") or is_table(value) or is_sparse(value)
            or is_pandas_series(value))


# ----------------------------------------------------------------------------------- tables
def table_column_names(table):
    if hasattr(table, "columns"):  # pandas, polars, modin
        return list(table.columns)
    return list(table.__dataframe__().column_names())


def series_values(series):
    """A pandas Series as a NumPy array; a nullable numeric column (Int64, Float64, boolean) as
    float64 with NaN for its missing values, which fit then reports as NaN in the input."""
    dtype = series.dtype
    if not isinstance(dtype, np.dtype) and getattr(dtype, "kind", "O") in "iufb":
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(series)


def table_column(table, position, name):
    """One column of a table as a 1-D NumPy array (its own dtype)."""
    if hasattr(table, "iloc"):  # pandas: by position, as column labels may repeat or be integers
        return series_values(table.iloc[:, position])
    try:
        column = table[name]
    except Exception:  # an interchange-only table: pandas reads the protocol
        import pandas

        return np.asarray(pandas.api.interchange.from_dataframe(table).iloc[:, position])
    return np.asarray(column)


def column_as(values, dtype, description):
    """1-D values for an Input of `dtype`: text for a 'string' Input (what StringLookup and
    Hashing read), numbers of `dtype` for every other (numeric_column)."""
    if dtype == "string":
        return np.asarray(values, dtype=object)
    return numeric_column(values, dtype, description)


def numeric_column(values, dtype, description):
    """1-D values as `dtype`; NonNumericDataError naming the column when they are not numbers.
    Object columns holding numbers (a pandas column mixing ints and bools) convert; strings,
    categories of strings, dates and other objects do not."""
    if values.dtype.kind in "fiub":
        return values.astype(dtype, copy=False)
    if values.dtype.kind == "O" and not any(isinstance(v, (str, bytes)) for v in values):
        try:
            return values.astype(dtype)
        except (TypeError, ValueError):
            pass
    example = next((repr(v) for v in values if not isinstance(v, (int, float, np.number))), None)
    raise NonNumericDataError(
        f"{description} is not numeric (dtype {values.dtype}{', e.g. ' + example if example else ''}); the model's "
        f"inputs take numbers ({np.dtype(dtype).name}). Encode such columns as numbers first (for instance with "
        f"category codes or one-hot columns), or leave them out")


def table_to_array(table, dtype, what):
    """A table as one (rows, columns) array of `dtype`, converted column by column as Keras
    casts a DataFrame to its float type."""
    names = table_column_names(table)
    rows = len(table)
    result = np.empty((rows, len(names)), dtype=dtype)
    for position, name in enumerate(names):
        result[:, position] = numeric_column(table_column(table, position, name), dtype,
                                             f"Column {name!r} of the DataFrame passed as {what}")
    return result


def table_to_columns(table, dtype, what):
    """A table as a dict column name -> 1-D array of `dtype`."""
    return {name: numeric_column(table_column(table, position, name), dtype,
                                 f"Column {name!r} of the DataFrame passed as {what}")
            for position, name in enumerate(table_column_names(table))}


# ------------------------------------------------------------------------- batch sources
def _to_numpy_structure(value):
    if isinstance(value, (list, tuple)):
        return tuple(_to_numpy_structure(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_numpy_structure(v) for k, v in value.items()}
    if value is None or isinstance(value, np.ndarray):
        return value
    if hasattr(value, "numpy"):  # a torch (CPU) or TensorFlow tensor
        return np.asarray(value.numpy())
    return np.asarray(value)


class NumpyBatches:
    """A tf.data.Dataset or a PyTorch DataLoader read as NumPy batches, like Keras's
    TFDatasetAdapter and TorchDataLoaderAdapter: each `iter()` starts a new pass over the data
    (a new shuffle for a shuffling DataLoader), and a batch given as a list is a tuple
    (x, y[, sample_weight])."""

    reiterable = True

    def __init__(self, source):
        self.source = source
        self.num_batches = self._length()

    def _length(self):
        if is_tf_dataset(self.source):
            count = int(self.source.cardinality())
            return count if count >= 0 else None  # INFINITE (-1) and UNKNOWN (-2)
        try:
            return len(self.source)
        except TypeError:  # a DataLoader over an IterableDataset
            return None

    def __iter__(self):
        batches = self.source.as_numpy_iterator() if is_tf_dataset(self.source) else iter(self.source)
        for batch in batches:
            yield _to_numpy_structure(batch)


def as_batch_source(value):
    """A Dataset or DataLoader wrapped as NumpyBatches; anything else unchanged."""
    if isinstance(value, (np.ndarray, list, tuple, dict)) or value is None:  # predict's latency path
        return value
    if is_tf_dataset(value) or is_torch_dataloader(value):
        return NumpyBatches(value)
    return value
