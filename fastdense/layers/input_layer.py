"""Symbolic tensors and the graph nodes that functional models are built from."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fastdense import backend
from fastdense.layers.layer import Layer
from fastdense.object_registry import register_builtin
from fastdense.utils import naming


class KerasTensor:
    """A placeholder for a batch of values: its shape (batch axis None) and where it comes from.

    `_keras_history` = (layer, node_index, tensor_index), as in Keras.
    """

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name or naming.uniquify("keras_tensor")
        self._keras_history = None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of a layer on symbolic tensors: inputs → layer → outputs."""

    def __init__(self, layer, inputs, outputs, arguments=None, list_input=False):
        self.layer = layer
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.arguments = dict(arguments or {})
        self.list_input = list_input  # the layer was called with a list (merge layers)
        layer._inbound_nodes.append(self)
        self.index = len(layer._inbound_nodes) - 1
        for i, tensor in enumerate(self.outputs):
            tensor._keras_history = (layer, self.index, i)

    @property
    def parent_nodes(self):
        parents = []
        for tensor in self.inputs:
            layer, node_index, _ = tensor._keras_history
            parents.append(layer._inbound_nodes[node_index])
        return parents


def symbolic_call(layer, inputs, args, kwargs):
    """Calls `layer` on KerasTensors: builds it for their shapes and records a Node."""
    list_input = isinstance(inputs, (list, tuple))
    flat = list(inputs) if list_input else [inputs]
    for tensor in flat:
        if not isinstance(tensor, KerasTensor):
            raise TypeError(f"Layer '{layer.name}' was called on a mix of symbolic and concrete inputs: {tensor!r}")
    shapes = [t.shape for t in flat]
    input_shape = shapes if list_input else shapes[0]
    layer._maybe_build(input_shape)
    layer._check_input_shape(input_shape)
    output_shape = layer.compute_output_shape(input_shape)
    multi_output = isinstance(output_shape, list)
    outputs = [KerasTensor(s, layer.dtype) for s in (output_shape if multi_output else [output_shape])]
    Node(layer, flat, outputs, kwargs, list_input=list_input)
    return outputs if multi_output else outputs[0]


@register_builtin("layers", "keras.layers")
class InputLayer(Layer):
    """The entry point of a functional model; `Input(shape=...)` creates one and returns its tensor.

    Args:
        shape: the shape of one sample (without the batch axis).
        batch_size: optional fixed batch size (kept in the config only).
        dtype: the input dtype: 'float32' (default) or 'float64' for the engine, or 'string',
            'int64', 'int32', 'bool', ... for columns that preprocessing layers (StringLookup,
            IntegerLookup, Hashing, ...) turn into numbers before the engine.
        batch_shape: the full shape including the batch axis (alternative to shape).
        name: the input's name (keys of dict inputs to fit/predict).
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, **kwargs):
        shape = kwargs.pop("input_shape", shape)
        batch_shape = kwargs.pop("batch_input_shape", batch_shape)
        kwargs.pop("ragged", None)
        if sparse:
            raise ValueError("fastdense does not support sparse inputs")
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs a shape, e.g. Input(shape=(10,))")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        input_dtype = _input_dtype(dtype)
        super().__init__(dtype=input_dtype if input_dtype in ("float32", "float64") else None,
                         name=name or naming.uniquify("input_layer"), **kwargs)
        self.input_dtype = input_dtype or self.dtype
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.optional = optional
        self.built = True
        Node(self, [], [KerasTensor(self.batch_shape, self.input_dtype, name=self.name)])

    def _lower(self, network, input_ids):
        width = 1
        for d in self.batch_shape[1:]:
            width *= d
        return network.add_input(width)

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.input_dtype, "sparse": False, "ragged": False,
                "name": self.name, "optional": self.optional}


def _input_dtype(dtype):
    """Keras's name of an Input dtype ('string' for str/bytes/object), None for the default."""
    if dtype is None:
        return None
    if isinstance(dtype, dict):  # a Keras 3 DTypePolicy config
        dtype = dtype.get("config", {}).get("name")
    if hasattr(dtype, "name") and not isinstance(dtype, (str, np.dtype)):
        dtype = dtype.name
    if dtype in ("string", "str", str, bytes, object) or np.dtype(dtype).kind in "USO":
        return "string"
    return np.dtype(dtype).name


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None, dtype: Any = None,
          sparse: bool | None = None, batch_shape: Sequence[int | None] | None = None, name: str | None = None,
          tensor: KerasTensor | None = None, optional: bool = False, **kwargs: Any) -> KerasTensor:
    """A symbolic input tensor for building a functional model."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor, optional=optional, **kwargs)
    return layer._inbound_nodes[0].outputs[0]
