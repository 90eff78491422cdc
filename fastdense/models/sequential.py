"""Sequential: a plain stack of layers, each with one input and one output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from fastdense.layers.input_layer import Input, InputLayer
from fastdense.models import functional_config
from fastdense.models.model import Model
from fastdense.object_registry import register_builtin
from fastdense.utils import naming

if TYPE_CHECKING:
    from fastdense.layers.input_layer import KerasTensor
    from fastdense.layers.layer import Layer


@register_builtin("layers", "keras")
class Sequential(Model):
    """A linear stack of layers: `Sequential([Dense(64), Dense(1)])` or `.add(layer)`.

    The model is built as soon as the input shape is known: from an `Input`/`InputLayer`
    first, from `input_shape=`/`input_dim=` on the first layer, or from the first data it sees.

    Args:
        layers: the layers, in order.
        name: the model's name (default 'sequential', made unique).
    """

    def __init__(self, layers: Sequence[Layer | KerasTensor] | None = None, trainable: bool = True,
                 name: str | None = None) -> None:
        super().__init__(name=name or naming.uniquify("sequential"), trainable=trainable)
        self._stack = []
        self._input_layer = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._rebuild()

    def add(self, layer: Layer | KerasTensor, rebuild: bool = True) -> None:
        """Appends a layer (an Input tensor or InputLayer sets the input shape)."""
        if hasattr(layer, "_keras_history") and isinstance(getattr(layer, "_keras_history", None), tuple):
            layer = layer._keras_history[0]
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError("An InputLayer can only be the first layer of a Sequential model")
            self._input_layer = layer
        else:
            if not hasattr(layer, "_lower") or not hasattr(layer, "get_config"):
                raise TypeError(f"Only layers can be added to a Sequential model, got {layer!r}")
            if any(existing.name == layer.name for existing in self._stack):
                raise ValueError(f"All layers added to a Sequential model should have unique names. "
                                 f"Name '{layer.name}' is already the name of a layer in this model.")
            self._stack.append(layer)
        if rebuild:
            self._rebuild()

    def pop(self, rebuild: bool = True) -> Layer:
        if not self._stack:
            raise TypeError("There are no layers in the model")
        layer = self._stack.pop()
        if rebuild:
            self._rebuild()
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def _input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.batch_shape
        if self._stack and self._stack[0]._input_shape_arg is not None:
            return (None,) + tuple(self._stack[0]._input_shape_arg)
        return None

    def _rebuild(self):
        """Connects the stack into a graph when the input shape is known."""
        shape = self._input_shape()
        self._invalidate_native()
        if shape is None or not self._stack:
            self.inputs = self.outputs = None
            self._layers = list(self._stack)
            self.built = False
            return
        self._build_for_shape(shape)

    def _build_for_shape(self, batch_shape):
        if self._input_layer is not None:
            x = self._input_layer._inbound_nodes[0].outputs[0]
        else:
            x = Input(batch_shape=batch_shape, dtype=self._stack[0].dtype)
        inputs = x
        for layer in self._stack:
            x = layer(x)
        self._init_graph(inputs, x)

    def _ensure_built_for(self, arrays):
        """Builds an unbuilt model from the first data passed to fit/predict/evaluate."""
        if self.inputs is None:
            if not self._stack:
                raise ValueError("This Sequential model has no layers: add some before using it")
            first = next(iter(arrays.values())) if isinstance(arrays, dict) else arrays
            first = first[0] if isinstance(first, (list, tuple)) else first
            self._build_for_shape((None,) + tuple(np.shape(first)[1:]))

    def build(self, input_shape=None):
        if input_shape is not None and self.inputs is None:
            self._build_for_shape(tuple(input_shape))
        self.built = self.inputs is not None

    def get_config(self):
        return functional_config.sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return functional_config.from_config(cls, config, custom_objects, functional_config.sequential_from_config)

    def get_build_config(self):
        return {"input_shape": list(self.inputs[0].shape) if self.inputs else None}
