"""The Layer base class: weights, building on first call, eager and symbolic calls, configs."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from fastdense import autodiff, backend, dtype_policies, initializers, regularizers, constraints as constraints_module
from fastdense.native import python_nodes
from fastdense.object_registry import register_builtin
from fastdense.utils import naming
from fastdense.variables import Variable

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


def dtype_policy_config(dtype):
    """Keras 3's serialized form of a layer dtype."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype}, "registered_name": None}


@register_builtin("layers", "keras.layers")
class Layer:
    """Base class of all layers.

    Subclasses follow Keras: `__init__` validates and stores arguments, `build(input_shape)`
    creates weights with `add_weight`, `call(inputs)` computes outputs from NumPy arrays, and
    `get_config()` returns the constructor arguments. `_lower(network, input_ids)` adds the
    layer to a native network: built-in layers as native nodes; any other layer (a user's
    subclass) as a Python node whose `call` is differentiated by fastdense.autodiff, so models
    mixing both train with only the custom parts in Python.

    Args:
        trainable: whether the layer's weights are updated by training.
        dtype: 'float32', 'float64', 'mixed_bfloat16' or a DTypePolicy; None takes the global policy
            (fastdense.mixed_precision.set_global_policy, else floatx()). `layer.dtype` is the
            variable dtype, as in Keras.
        name: a unique name; by default the snake_case class name made unique ('dense_1').
        input_shape / input_dim / batch_input_shape / batch_size: for the first layer of a
            Sequential model, the shape of its input without the batch axis.
    """

    def __init__(self, trainable: bool = True, dtype: Any = None, name: str | None = None,
                 activity_regularizer: Any = None, **kwargs: Any) -> None:
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None) or kwargs.pop("batch_shape", None)
        kwargs.pop("batch_size", None)
        kwargs.pop("autocast", None)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None and input_shape is None:
            input_shape = tuple(batch_input_shape)[1:]
        self._input_shape_arg = tuple(input_shape) if input_shape is not None else None

        object.__setattr__(self, "_tracked_layers", [])
        self.name = name or naming.auto_name(type(self).__name__)
        self.dtype_policy = dtype
        self._trainable = bool(trainable)
        self.built = False
        self._variables = []
        self._inbound_nodes = []
        self._losses = []
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._build_shapes = None

    # ----------------------------------------------------------------------------- tracking
    def __setattr__(self, name, value):
        # Layers held as attributes are sublayers: their weights are part of this layer's.
        if isinstance(value, Layer) and name != "_parent" and value not in self._tracked_layers:
            self._tracked_layers.append(value)
        object.__setattr__(self, name, value)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in self._tracked_layers:
            layer.trainable = value

    # ------------------------------------------------------------------------------ dtypes
    @property
    def dtype_policy(self):
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        self._dtype_policy = dtype_policies.get(value)
        self.dtype = self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self._dtype_policy.variable_dtype

    @property
    def quantization_mode(self):
        return self._dtype_policy.quantization_mode

    # ------------------------------------------------------------------------------ weights
    def add_weight(self, shape: Sequence[int] | None = None, initializer: Any = None, dtype: Any = None,
                   trainable: bool = True, regularizer: Any = None, constraint: Any = None, name: str | None = None,
                   **kwargs: Any) -> Variable:
        """Creates a weight, initialises it and registers it with the layer."""
        shape = () if shape is None else tuple(int(d) for d in shape)
        # Integer weights (an int8 Dense's kernel) are initialized in floats, then converted.
        integer = dtype is not None and np.dtype(dtype).kind in "iu"
        dtype = np.dtype(dtype).name if integer else backend.standardize_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if len(shape) >= 2 else "zeros"
        init = initializers.get(initializer)
        value = init(shape, dtype=self.dtype if integer else dtype)
        name = name or f"variable_{len(self._variables)}"
        variable = Variable(value, name=name, trainable=trainable, regularizer=regularizers.get(regularizer),
                            constraint=constraints_module.get(constraint), dtype=dtype, path=f"{self.name}/{name}")
        self._variables.append(variable)
        return variable

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        own = [v for v in self._variables if v.trainable]
        return own + [v for layer in self._tracked_layers for v in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        own = [v for v in self._variables if not v.trainable]
        return own + [v for layer in self._tracked_layers for v in layer.non_trainable_weights]

    @property
    def weights(self) -> list[Variable]:
        """Trainable weights first, then the rest, then sublayers' (Keras's order)."""
        own = [v for v in self._variables if v.trainable] + [v for v in self._variables if not v.trainable]
        return own + [v for layer in self._tracked_layers for v in layer.weights]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        variables = self.weights
        if len(weights) != len(variables):
            raise ValueError(
                f"Layer '{self.name}' expects {len(variables)} weight(s), but the given list has {len(weights)}"
            )
        for variable, value in zip(variables, weights):
            value = np.asarray(value)
            if value.shape != variable.shape:
                raise ValueError(
                    f"Layer '{self.name}' weight '{variable.name}' has shape {variable.shape}, "
                    f"but the provided weight has shape {value.shape}"
                )
        for variable, value in zip(variables, weights):
            variable.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"Layer '{self.name}' is not built yet, so it has no parameters to count")
        return int(sum(v.size for v in self.weights))

    @property
    def losses(self):
        """Regularization penalties of the current weights (and add_loss terms of the last call)."""
        values = [float(v.regularizer(v.value)) for v in self.trainable_weights if v.regularizer is not None]
        return values + list(self._losses)

    def add_loss(self, value):
        self._losses.append(value)

    # ------------------------------------------------------------------------- computation
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def compute_output_shape(self, input_shape):
        """Output shape from the input shape; the default runs `call` on zeros to find it."""
        shapes = input_shape if _is_shape_list(input_shape) else [input_shape]
        probes = [np.zeros((2,) + tuple(1 if d is None else d for d in s[1:]), dtype=self.dtype) for s in shapes]
        out = self.call(probes if _is_shape_list(input_shape) else probes[0])
        return (None,) + tuple(np.shape(out)[1:])

    def _check_input_shape(self, input_shape):
        """Raises ValueError when a built layer is called on an incompatible shape."""

    def _maybe_build(self, input_shape):
        if not self.built:
            self._build_shapes = input_shape
            self.build(input_shape)
            self.built = True

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        from fastdense.layers.input_layer import KerasTensor, symbolic_call

        flat = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if any(isinstance(t, KerasTensor) for t in flat):
            return symbolic_call(self, inputs, args, kwargs)
        arrays = [_as_float_array(t, self.dtype) for t in flat]
        shapes = [(None,) + a.shape[1:] for a in arrays]
        input_shape = shapes if isinstance(inputs, (list, tuple)) else shapes[0]
        self._maybe_build(input_shape)
        self._check_input_shape(input_shape)
        if "training" in kwargs and not _accepts(self.call, "training"):
            kwargs.pop("training")
        return self.call(arrays if isinstance(inputs, (list, tuple)) else arrays[0], *args, **kwargs)

    # ------------------------------------------------------------------------- graph views
    @property
    def input(self):
        return self._node_attribute("inputs")

    @property
    def output(self):
        return self._node_attribute("outputs")

    @property
    def input_shape(self):
        value = self.input
        return [t.shape for t in value] if isinstance(value, list) else value.shape

    @property
    def output_shape(self):
        value = self.output
        return [t.shape for t in value] if isinstance(value, list) else value.shape

    def _node_attribute(self, attr):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called and thus has no defined {attr[:-1]}")
        tensors = getattr(self._inbound_nodes[0], attr)
        return tensors[0] if len(tensors) == 1 else list(tensors)

    # ------------------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "trainable": self.trainable, "dtype": dtype_policies.serialize(self._dtype_policy)}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        """{"input_shape": ...} of the call that built the layer; None before that, and for
        layers without a build() of their own, whose entries Keras writes without one."""
        if self._build_shapes is None or type(self).build is Layer.build:
            return None
        return {"input_shape": _shape_to_list(self._build_shapes)}

    def build_from_config(self, config):
        """Builds the layer for the shape get_build_config() recorded; loading calls it for
        every entry with a build_config, as keras/src/saving/serialization_lib.py does."""
        if config and config.get("input_shape") is not None and not self.built:
            shape = config["input_shape"]
            self._maybe_build([tuple(s) for s in shape] if _is_shape_list(shape) else tuple(shape))

    def _lower(self, network, input_ids):
        """Adds the layer as a Python node running `call` (built-in layers override this with native nodes)."""
        return python_nodes.add_layer(network, self, input_ids)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _is_shape_list(shape):
    return isinstance(shape, (list, tuple)) and len(shape) > 0 and isinstance(shape[0], (list, tuple))


def _shape_to_list(shape):
    if _is_shape_list(shape):
        return [list(s) for s in shape]
    return list(shape)


def _accepts(fn, argument):
    try:
        return argument in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _as_float_array(value, dtype):
    if autodiff.is_traced(value):  # a sublayer called inside a custom layer's trace stays differentiable
        value = autodiff.asarray(value)
        return value if value.dtype == dtype else value.astype(dtype)
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"Expected numeric input, got an array of dtype {array.dtype}")
    return array.astype(dtype, copy=False)
