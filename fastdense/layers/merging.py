"""Layers that merge a list of inputs: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, and their functional forms (add([a, b]), concatenate([a, b]), ...)."""

import functools

import numpy as np

from fastdense.layers.layer import Layer
from fastdense.object_registry import register_builtin


class _Merge(Layer):
    """Elementwise merge of inputs of one shape. Input: a list of tensors. Output: that shape."""

    _native_kind = None

    def _merge(self, arrays):
        raise NotImplementedError

    def call(self, inputs):
        return self._merge([np.asarray(x) for x in inputs])

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"A merge layer ({type(self).__name__}) must be called on a list of at least 2 inputs")
        shapes = {tuple(s[1:]) for s in input_shape}
        if len(shapes) != 1:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs inputs of one shape, got {[tuple(s) for s in input_shape]}"
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def _lower(self, network, input_ids):
        return network.add_merge(self._native_kind, list(input_ids))


@register_builtin("layers", "keras.layers")
class Add(_Merge):
    _native_kind = "add"

    def _merge(self, arrays):
        return functools.reduce(np.add, arrays)


@register_builtin("layers", "keras.layers")
class Subtract(_Merge):
    _native_kind = "subtract"

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError("A Subtract layer must be called on a list of exactly 2 inputs")
        super().build(input_shape)

    def _merge(self, arrays):
        return arrays[0] - arrays[1]


@register_builtin("layers", "keras.layers")
class Multiply(_Merge):
    _native_kind = "multiply"

    def _merge(self, arrays):
        return functools.reduce(np.multiply, arrays)


@register_builtin("layers", "keras.layers")
class Average(_Merge):
    _native_kind = "average"

    def _merge(self, arrays):
        return functools.reduce(np.add, arrays) / len(arrays)


@register_builtin("layers", "keras.layers")
class Maximum(_Merge):
    _native_kind = "maximum"

    def _merge(self, arrays):
        return functools.reduce(np.maximum, arrays)


@register_builtin("layers", "keras.layers")
class Minimum(_Merge):
    _native_kind = "minimum"

    def _merge(self, arrays):
        return functools.reduce(np.minimum, arrays)


@register_builtin("layers", "keras.layers")
class Concatenate(Layer):
    """Joins a list of inputs along `axis` (the feature axis, -1, for dense networks)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 1:
            raise ValueError("A Concatenate layer must be called on a list of inputs")
        rank = len(input_shape[0])
        axis = self.axis % rank
        for shape in input_shape:
            if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, input_shape[0]))
                                         if i not in (0, axis)):
                raise ValueError(
                    f"Concatenate '{self.name}' needs inputs that match except along axis {self.axis}, "
                    f"got {[tuple(s) for s in input_shape]}"
                )

    def call(self, inputs):
        return np.concatenate([np.asarray(x) for x in inputs], axis=self.axis)

    def compute_output_shape(self, input_shape):
        axis = self.axis % len(input_shape[0])
        shape = list(input_shape[0])
        shape[axis] = sum(s[axis] for s in input_shape)
        return tuple(shape)

    def _lower(self, network, input_ids):
        rank = len(self._build_shapes[0])
        if self.axis % rank != rank - 1:
            raise NotImplementedError("Concatenate along an axis other than the last cannot run natively yet")
        return network.add_merge("concatenate", list(input_ids))

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def _functional(layer_class):
    def merge(inputs, **kwargs):
        return layer_class(**kwargs)(inputs)

    merge.__name__ = layer_class.__name__.lower()
    merge.__doc__ = f"Functional interface to the {layer_class.__name__} layer."
    return merge


add = _functional(Add)
subtract = _functional(Subtract)
multiply = _functional(Multiply)
average = _functional(Average)
maximum = _functional(Maximum)
minimum = _functional(Minimum)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to the Concatenate layer."""
    return Concatenate(axis=axis, **kwargs)(inputs)
