"""Normalization: (x - mean) / sqrt(variance), with mean and variance given or adapted
(keras/src/layers/preprocessing/normalization.py)."""

import itertools
import math

import numpy as np

from fastdense import backend
from fastdense.layers.preprocessing import adapt_data, affine_lowering
from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer
from fastdense.variables import Variable
from fastdense.object_registry import register_builtin

_EPSILON = 1e-7  # keras.config.epsilon(): the floor of the standard deviation


@register_builtin("layers", "keras.layers")
class Normalization(PreprocessingLayer):
    """Shifts and scales inputs to mean 0 and standard deviation 1 per index of `axis`.

    Args:
        axis: the axis or axes with their own mean and variance (-1: one per feature; None:
            one scalar mean and variance for everything).
        mean, variance: the statistics, given together; else `adapt()` computes them.
        invert: apply the inverse, `mean + x * sqrt(variance)`.
    """

    numeric_in_engine = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.mean = self.variance = None
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. "
                             f"Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must have the same shape. "
                                 f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number of axes "
                                 f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis {self.axis}")

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                             f"ndim={ndim}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(d if d >= 0 else d + ndim for d in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. Received axis={self.axis}, "
                                 f"inputs.shape={input_shape}, with unknown axis at index {d}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = [input_shape[d] if d in self._keep_axis else 1 for d in range(ndim)]
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._build_shapes = input_shape
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._mean_and_var_shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=self._mean_and_var_shape,
                                                  initializer="ones", trainable=False)
            self.count = _integer_variable(self, "count")
            self.built = True
            self.finalize_state()
        else:
            mean = np.asarray(self.input_mean, dtype=self.dtype)
            variance = np.asarray(self.input_variance, dtype=self.dtype)
            if mean.ndim:
                expanded = [1] * ndim
                for i in range(1, mean.ndim + 1):
                    expanded[self._keep_axis[-i]] = mean.shape[-i]
                mean, variance = mean.reshape(expanded), variance.reshape(expanded)
            self.mean = np.broadcast_to(mean, self._broadcast_shape).astype(self.dtype)
            self.variance = np.broadcast_to(variance, self._broadcast_shape).astype(self.dtype)
            self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Computes the mean and variance of `data` (arrays, DataFrames, Series, lists,
        Sequences or iterables of batches) per index of `axis`."""
        stream = iter(adapt_data.batches(data, batch_size, steps))
        first, second = next(stream, None), next(stream, None)
        if first is None:
            raise ValueError("adapt() received no data")
        first = _numeric(first)
        if not self.built:
            self._maybe_build(tuple(first.shape))  # the data's whole shape, as Keras builds it
        if second is None:  # one array: NumPy's moments of all of it, as Keras computes them
            self._check_adapt_shape(first)
            total_mean = np.mean(first, axis=self._reduce_axis)
            total_var = np.var(first, axis=self._reduce_axis)
        else:  # batches: Keras's running merge of batch moments (normalization.py, iterable branch)
            total_mean = np.zeros(self._mean_and_var_shape, self.dtype)
            total_var = np.zeros(self._mean_and_var_shape, self.dtype)
            total_count = 0
            for batch in itertools.chain([first, second], stream):
                batch = _numeric(batch).astype(self.dtype, copy=False)
                self._check_adapt_shape(batch)
                batch_mean = np.mean(batch, axis=self._reduce_axis)
                batch_var = np.var(batch, axis=self._reduce_axis)
                batch_count = math.prod(batch.shape[d] for d in self._reduce_axis)
                total_count += batch_count
                batch_weight = float(batch_count) / total_count
                existing_weight = 1.0 - batch_weight
                new_mean = total_mean * existing_weight + batch_mean * batch_weight
                total_var = ((total_var + (total_mean - new_mean) ** 2) * existing_weight
                             + (batch_var + (batch_mean - new_mean) ** 2) * batch_weight)
                total_mean = new_mean
        self.adapt_mean.assign(np.asarray(total_mean, dtype=self.dtype))
        self.adapt_variance.assign(np.asarray(total_var, dtype=self.dtype))
        self.finalize_state()

    def _check_adapt_shape(self, batch):
        for d in self._keep_axis:
            if batch.ndim != len(self._build_shapes) or batch.shape[d] != self._build_shapes[d]:
                raise ValueError(f"The layer was built with input_shape={self._build_shapes}, but adapt() is being "
                                 f"called with data with an incompatible shape, data.shape={batch.shape}")

    def finalize_state(self):
        if self.input_mean is not None or not self.built:
            return
        self.mean = self.adapt_mean.numpy().reshape(self._broadcast_shape)
        self.variance = self.adapt_variance.numpy().reshape(self._broadcast_shape)
        affine_lowering.refresh(self, *self._affine()[1:])  # networks already built see the new state

    def load_own_variables(self, store):
        for variable, key in zip(self._variables, sorted(store, key=int)):
            variable.assign(np.asarray(store[key]))
        self.finalize_state()

    def call(self, inputs):
        if self.mean is None:
            raise ValueError("You must call `.build(input_shape)` on the layer before using it.")
        if isinstance(inputs, np.ndarray):
            inputs = inputs.astype(self.dtype, copy=False)
        scale = np.maximum(np.sqrt(self.variance), np.asarray(_EPSILON, self.dtype))
        if self.invert:
            return self.mean + inputs * scale
        return (inputs - self.mean) / scale

    def _affine(self):
        """call() as the engine's affine node: (kind, a, b) with the same arithmetic."""
        scale = np.maximum(np.sqrt(self.variance), np.asarray(_EPSILON, self.dtype))
        if self.invert:
            return "multiply_add", scale, self.mean  # x * std + mean, Keras's mean + x * std
        return "subtract_divide", self.mean, scale

    def _lower(self, network, input_ids):
        """A native affine node; statistics kept along the batch axis need the Python node."""
        if self.mean is None or 0 in self._keep_axis:
            return super()._lower(network, input_ids)
        kind, a, b = self._affine()
        if not affine_lowering.can_lower(self, a, b):
            return super()._lower(network, input_ids)
        return affine_lowering.lower(self, network, input_ids[0], kind, a, b)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "invert": self.invert,
                       "mean": np.array(self.input_mean).tolist(), "variance": np.array(self.input_variance).tolist()})
        return config

    def get_build_config(self):
        if self._build_shapes is None:
            return None
        return {"input_shape": list(self._build_shapes)}

    def build_from_config(self, config):
        if config and not self.built:
            self._maybe_build(tuple(config["input_shape"]))


def _integer_variable(layer, name):
    """A scalar int64 non-trainable variable (Keras's `count`, saved as int64 in .keras files)."""
    variable = Variable(np.zeros(()), name=name, trainable=False, path=f"{layer.name}/{name}")
    variable._value = np.zeros((), dtype=np.int64)
    layer._variables.append(variable)
    return variable


def _numeric(array):
    if array.dtype.kind not in "fiub":
        try:
            return array.astype(backend.floatx())
        except (TypeError, ValueError):
            raise TypeError(f"Normalization.adapt() needs numeric data, got values of dtype {array.dtype}") from None
    return array
