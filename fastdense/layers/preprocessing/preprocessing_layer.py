"""The base of the preprocessing layers: NumPy in, NumPy out, any input dtype (strings too).

Keras's preprocessing layers (keras/src/layers/preprocessing/data_layer.py, index_lookup.py)
take strings and integers and return integers or floats, unlike the float-only layers of the
engine. Inside a model, the ones fed by Inputs only run once per fit/evaluate/predict call in
Python, before the data reaches the engine (see stage.py); one that follows engine layers runs
as a Python node (`Layer._lower`), which only suits numeric layers.
"""

import numpy as np

from fastdense import backend
from fastdense.layers.layer import Layer, dtype_policy_config

_FLOAT_DTYPES = ("float32", "float64")


def _standard_name(dtype):
    if dtype is None:
        return None
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    if str(dtype) in ("string", "str"):
        return "string"
    return np.dtype(dtype).name


class PreprocessingLayer(Layer):
    """A layer computing on NumPy arrays of any dtype; `output_dtype` is what Keras reports.

    Args:
        dtype: the layer's dtype as Keras takes it ('float32', 'int64', ...); float layers
            compute in it, integer-output layers return it.
    """

    # Float-to-float layers (Normalization, Rescaling) may also follow engine layers, as Python nodes.
    numeric_in_engine = False
    # Layers called on a list of inputs (HashedCrossing) get a list of arrays.
    _takes_list = False

    def __init__(self, dtype=None, **kwargs):
        name = _standard_name(dtype)
        super().__init__(dtype=name if name in _FLOAT_DTYPES else None, **kwargs)
        self._keras_dtype = name or backend.floatx()

    @property
    def output_dtype(self):
        """The dtype of the layer's outputs (Keras's KerasTensor dtype)."""
        return self._keras_dtype

    def __call__(self, inputs, *args, **kwargs):
        from fastdense.layers.input_layer import KerasTensor, symbolic_call

        flat = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if any(isinstance(t, KerasTensor) for t in flat):
            outputs = symbolic_call(self, inputs, args, kwargs)
            for tensor in outputs if isinstance(outputs, list) else [outputs]:
                tensor.dtype = self.output_dtype
            return outputs
        kwargs.pop("training", None)
        if isinstance(inputs, (list, tuple)) and self._takes_list:
            arrays = [as_array(t) for t in inputs]
            shape = [(None,) + a.shape[1:] for a in arrays]
        else:
            arrays = as_array(inputs)
            shape = (None,) + arrays.shape[1:]
        self._maybe_build(shape)
        return self.call(arrays, *args, **kwargs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["dtype"] = dtype_policy_config(self._keras_dtype)
        return config

    def _lower(self, network, input_ids):
        if not self.numeric_in_engine:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) must be fed by the model's Inputs (directly or through "
                "other preprocessing layers): fastdense runs it on the data before the native engine")
        return super()._lower(network, input_ids)


def as_array(value):
    """A NumPy array from an array, list, pandas object or scalar, keeping strings as strings."""
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
        value = value.to_numpy()
    array = np.asarray(value)
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    return array
