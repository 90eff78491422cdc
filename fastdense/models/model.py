"""Model: a graph of layers (the functional API) that trains through the native engine."""

from __future__ import annotations

import os
import re
import types
from typing import Any, Callable, Sequence

import numpy as np

from fastdense.layers.input_layer import Input, KerasTensor, symbolic_call
from fastdense.layers.layer import Layer
from fastdense.models import functional_config
from fastdense.models import summary as summary_utils
from fastdense.models.graph import map_graph
from fastdense.models.intermediate_inputs import clone_graph_nodes, is_input_tensor
from fastdense.object_registry import register_builtin
from fastdense.saving import api as saving_api
from fastdense.saving import compile_config, in_memory, serialization_lib
from fastdense.saving import get_registered_name
from fastdense.trainers.trainer import Trainer
from fastdense.utils import naming


def flatten_structure(structure):
    """Tensors of a single tensor, a list/tuple, or a dict (in sorted key order, as Keras
    flattens dicts: it fixes the order of model.outputs, model.layers and get_weights())."""
    if isinstance(structure, dict):
        return [structure[key] for key in sorted(structure)]
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [structure]


# Keras writes a model built from Input tensors as a 'Functional'.
@register_builtin("layers", "keras.src.models.functional", class_name="Functional", aliases=("Model",),
                  registered_name="Functional")
class Model(Trainer, Layer):
    """A model built from symbolic tensors: `Model(inputs=x, outputs=y)`.

    Args:
        inputs: an Input tensor, a list of them, or a dict name → tensor.
        outputs: the output tensor(s), as a tensor, list or dict.
        name: the model's name (default 'functional', made unique).
        input, output: the Keras 2 spellings of inputs and outputs.

    A subclass may define `call` instead of passing inputs/outputs (Keras's subclassing API):
    on first use with data, `call` runs once on symbolic inputs shaped like the data's samples,
    and the layers it calls become the model's graph, trained and run natively like a
    functional model's. User-defined layers, activations, losses, regularizers and
    constraints inside any model train (see fastdense.native.python_nodes).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        inputs = kwargs.pop("inputs", None)
        outputs = kwargs.pop("outputs", None)
        inputs = kwargs.pop("input", None) if inputs is None else inputs
        outputs = kwargs.pop("output", None) if outputs is None else outputs
        if len(args) > 2:
            raise TypeError(f"Model takes at most 2 positional arguments (inputs, outputs), got {len(args)}")
        inputs = args[0] if len(args) >= 1 else inputs
        outputs = args[1] if len(args) == 2 else outputs
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        default_name = "functional" if type(self) is Model else type(self).__name__
        Layer.__init__(self, name=name or naming.auto_name(default_name), trainable=trainable, **kwargs)
        Trainer.__init__(self)
        self._graph_nodes, self._layers = [], []
        self.inputs = self.outputs = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model needs both inputs= and outputs=")
            self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        for name, structure in (("inputs", inputs), ("outputs", outputs)):
            for tensor in flatten_structure(structure):
                if not isinstance(tensor, KerasTensor):
                    raise ValueError(f"All `{name}` values must be KerasTensors. Received: {name}={structure!r} "
                                     f"including invalid value {tensor!r} of type {type(tensor)}")
        if not all(is_input_tensor(t) for t in flatten_structure(inputs)):
            # Inputs inside a graph (e.g. FeatureSpace's encoded features): the model starts there.
            inputs, outputs = clone_graph_nodes(inputs, outputs)
        self._input_struct, self._output_struct = inputs, outputs
        self.inputs, self.outputs = flatten_structure(inputs), flatten_structure(outputs)
        self._graph_nodes, self._layers = map_graph(self.inputs, self.outputs)
        self.built = True
        self._build_shapes = [t.shape for t in self.inputs] if len(self.inputs) > 1 else self.inputs[0].shape
        self._invalidate_native()

    @property
    def _is_graph_network(self):
        return self.inputs is not None

    def _ensure_built_for(self, x):
        """Builds a subclass's graph from its call() the first time it sees data x (an array,
        a list/tuple of arrays, or a dict of them)."""
        if self.inputs is not None:
            return
        if isinstance(x, dict):
            self._build_from_call({key: np.shape(value) for key, value in x.items()})
        elif isinstance(x, (list, tuple)):
            self._build_from_call([np.shape(value) for value in x])
        else:
            self._build_from_call(np.shape(x))

    def _build_from_call(self, shapes):
        """Runs a subclass's call() once on symbolic Inputs of these batch shapes (one shape, a
        list, or a dict keyed by input name), as Keras builds subclassed models; the layers it
        calls become the model's graph."""
        if type(self).call is Model.call:
            raise ValueError(f"Model '{self.name}' has no layers: pass inputs= and outputs=, or subclass it "
                             "and define call()")

        def symbolic(shape, name=None):
            return Input(batch_shape=(None,) + tuple(shape)[1:], name=name)

        if isinstance(shapes, dict):
            inputs = {key: symbolic(shape, key) for key, shape in shapes.items()}
        elif isinstance(shapes, list):
            inputs = [symbolic(shape) for shape in shapes]
        else:
            inputs = symbolic(shapes)
        try:
            outputs = self.call(inputs)
        except Exception as error:
            raise ValueError(f"Model '{self.name}': call() must run on symbolic inputs (Keras layers called on "
                             f"the tensors it receives) to be built; running it on {inputs!r} raised "
                             f"{type(error).__name__}: {error}") from error
        if not all(isinstance(t, KerasTensor) for t in flatten_structure(outputs)):
            raise ValueError(f"Model '{self.name}': call() must return the tensors its layers produce (or a "
                             f"list/dict of them), got {outputs!r}")
        self._init_graph(inputs, outputs)

    # ------------------------------------------------------------------------ quantization
    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantizes the weights of every Dense layer (nested models' too), as Keras 3's
        Model.quantize: mode "int8" (int8 kernel with per-unit scales, inputs quantized per row
        at run time; predict then runs the CPU's int8 products). `filters`: a regex, a list of
        regexes matched against layer names, or a callable taking the layer."""
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to quantize: {kwargs}")
        if not self.built:
            raise ValueError("The model must be built first before calling `quantize()`.")
        if mode != "int8":
            raise NotImplementedError(f"fastdense quantizes with mode='int8' only, got mode={mode!r}")
        quantized = 0
        for layer in _leaf_layers(self):
            if not hasattr(layer, "quantize") or not _matches(layer, filters):
                continue
            layer.quantize(mode, config=config)
            quantized += 1
        if not quantized:
            raise ValueError(f"Model '{self.name}' has no layer that can be quantized to {mode}")
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and optimizer._trainable_variables:
            # Its slots belonged to the float kernels, which are gone: further training (of the
            # biases and the float layers) starts a fresh optimizer with the same settings.
            self.optimizer = type(optimizer).from_config(optimizer.get_config())
        self._invalidate_native()

    # ------------------------------------------------------------------------------ layers
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None and name is not None:
            raise ValueError("Provide either a layer name or a layer index, not both")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}")

    @property
    def input_names(self):
        return [t._keras_history[0].name for t in self.inputs]

    @property
    def output_names(self):
        return [t._keras_history[0].name for t in self.outputs]

    # Keras 3 reports one shape as a tuple and several (dict inputs included, in model.inputs
    # order) as a list; an unbuilt model raises AttributeError, so hasattr() is False. A
    # subclassed model built from data reports its shapes (Keras's raise: it keeps no graph).
    @property
    def input_shape(self):
        return self._graph_shapes(self.inputs, "input shape")

    @property
    def output_shape(self):
        return self._graph_shapes(self.outputs, "output shape")

    def _graph_shapes(self, tensors, what):
        if tensors is None:
            raise AttributeError(f"{type(self).__name__} model '{self.name}' has no defined {what} yet: give it "
                                 f"an Input, build() it or call it on data")
        shapes = [tuple(t.shape) for t in tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input(self):
        """The inputs as given to Model(inputs=...), as Keras's Functional.input (Keras 3's
        Sequential raises here, Keras 2's answered: so does fastdense)."""
        return self._input_struct if self._is_graph_network else Layer.input.fget(self)

    @property
    def output(self):
        return self._output_struct if self._is_graph_network else Layer.output.fget(self)

    @property
    def _output_keys(self):
        """What compile's dicts, dict targets and History prefixes name the outputs by: the keys
        of a dict of outputs (sorted, in model.outputs order), else the output layers' names."""
        if isinstance(self._output_struct, dict):
            return sorted(self._output_struct)
        return self.output_names

    # ----------------------------------------------------------------------------- weights
    def _unique_weights(self, select):
        seen, result = set(), []
        for layer in self.layers:
            for variable in select(layer):
                if id(variable) not in seen:
                    seen.add(id(variable))
                    result.append(variable)
        return result

    @property
    def weights(self):
        return self._unique_weights(lambda layer: layer.weights) + list(self._variables)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self._unique_weights(lambda layer: layer.trainable_weights)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return self._unique_weights(lambda layer: layer.non_trainable_weights)

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in getattr(self, "_layers", []):
            layer.trainable = value
        if hasattr(self, "_native"):
            self._invalidate_native()

    @property
    def losses(self):
        return [loss for layer in self.layers for loss in layer.losses]

    def summary(self, line_length: int | None = None, positions: Sequence[float] | None = None,
                print_fn: Callable[..., Any] | None = None, expand_nested: bool = False, show_trainable: bool = False,
                layer_range: Sequence[str] | None = None) -> None:
        """Prints the layers, their output shapes and parameter counts, and the totals (Keras 3's table)."""
        summary_utils.print_summary(self, line_length, positions, print_fn, expand_nested, show_trainable, layer_range)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"Model '{self.name}' has not been built yet: call it on data or give it an Input")
        return int(sum(v.size for v in self.weights))

    # ------------------------------------------------------------------------- computation
    def call(self, inputs, training=False):
        """Runs the graph in Python, layer by layer (used when some layer cannot run natively)."""
        if not self._is_graph_network:
            raise NotImplementedError(f"Model subclass {type(self).__name__} must implement call()")
        arrays = self._input_list(inputs)
        values = dict(zip(map(id, self.inputs), arrays))
        for node in self._graph_nodes:
            if not node.inputs:
                continue
            args = [values[id(t)] for t in node.inputs]
            result = node.layer(args if node.list_input else args[0], training=training)
            for tensor, value in zip(node.outputs, flatten_structure(result)):
                values[id(tensor)] = value
        return self._output_structure([values[id(t)] for t in self.outputs])

    def _input_list(self, inputs):
        if isinstance(inputs, dict):
            # A dict of Inputs names them by its keys (sorted, in model.inputs order).
            names = sorted(self._input_struct) if isinstance(self._input_struct, dict) else self.input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"Missing input(s) {missing}; the model's inputs are {names}")
            return [inputs[n] for n in names]
        if isinstance(inputs, (list, tuple)) and len(self.inputs) > 1:
            if len(inputs) != len(self.inputs):
                raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} inputs, got {len(inputs)}")
            return list(inputs)
        return [inputs]

    def _output_structure(self, values):
        if isinstance(self._output_struct, dict):
            by_key = dict(zip(sorted(self._output_struct), values))
            return {key: by_key[key] for key in self._output_struct}
        if isinstance(self._output_struct, (list, tuple)):
            return list(values)
        return values[0]

    def __call__(self, inputs, *args, **kwargs):
        path = self._inference_path  # a repeated call on an array: trainers/fast_path.py
        if path is not None and type(inputs) is np.ndarray:
            outputs = path.run(self, inputs, 0)
            if outputs is not None:
                return outputs
        flat = flatten_structure(inputs)
        if any(isinstance(t, KerasTensor) for t in flat):
            return symbolic_call(self, inputs, args, kwargs)
        return self._predict_arrays(inputs, batch_size=None, training=kwargs.get("training", False))

    def compute_output_shape(self, input_shape):
        shapes = [t.shape for t in self.outputs]
        return shapes if len(shapes) > 1 else shapes[0]

    def build(self, input_shape):
        """For a subclass, builds its graph from call() for input_shape (a batch shape, a list of
        them, or a dict by input name), as Keras 2's `model.build((None, 4))` did (Keras 3's
        build() does not run call(); calling the model on data builds it in both)."""
        if self.inputs is None and type(self).call is not Model.call:
            if isinstance(input_shape, dict):
                self._build_from_call(input_shape)
            elif all(d is None or isinstance(d, int) for d in input_shape):  # one shape
                self._build_from_call(tuple(input_shape))
            else:
                self._build_from_call([tuple(shape) for shape in input_shape])
        self.built = True

    # Nested models lower by inlining their graph.
    def _lower(self, network, input_ids):
        outputs = self._lower_graph(network, input_ids)
        return outputs if len(outputs) > 1 else outputs[0]

    def _lower_graph(self, network, input_ids):
        """Adds every node to `network` (inputs already there as input_ids); returns output ids."""
        ids = dict(zip(map(id, self.inputs), input_ids))
        for node in self._graph_nodes:
            if not node.inputs:
                continue
            result = node.layer._lower(network, [ids[id(t)] for t in node.inputs])
            for tensor, native_id in zip(node.outputs, result if isinstance(result, list) else [result]):
                ids[id(tensor)] = native_id
        return [ids[id(t)] for t in self.outputs]

    # ------------------------------------------------------------------------------ saving
    def save(self, filepath: str | os.PathLike[str], overwrite: bool = True, include_optimizer: bool = True,
             **kwargs: Any) -> None:
        """`.keras` (Keras 3 archive) or `.h5` (legacy HDF5): architecture, weights, compile
        config and optimizer state. The write is atomic."""
        saving_api.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath: str | os.PathLike[str], overwrite: bool = True, **kwargs: Any) -> None:
        saving_api.save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath: str | os.PathLike[str], skip_mismatch: bool = False, by_name: bool = False,
                     **kwargs: Any) -> None:
        saving_api.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name, **kwargs)

    def to_json(self, **kwargs: Any) -> str:
        return serialization_lib.model_to_json(self, **kwargs)

    def get_config(self):
        """The functional graph (Keras's Functional config) when the model has one."""
        if self._is_graph_network:
            return functional_config.functional_config(self)
        return super().get_config()

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return functional_config.from_config(cls, config, custom_objects, functional_config.model_from_config)

    def get_build_config(self):
        """A functional model's inputs are in its graph config: Keras writes no shape for it. A
        subclassed model built from data records its input shapes, so loading can build it
        (build_from_config) before its weights are read, as Keras's Model does."""
        if not self._is_subclassed or not self.built or self.inputs is None:
            return {"input_shape": None}
        struct = self._input_struct
        if isinstance(struct, dict):
            return {"input_shape": {key: list(t.shape) for key, t in struct.items()}}
        shapes = [list(t.shape) for t in self.inputs]
        return {"input_shape": shapes if isinstance(struct, (list, tuple)) else shapes[0]}

    def build_from_config(self, config):
        shape = (config or {}).get("input_shape")
        if self._is_subclassed and shape is not None and not self.built:
            self.build(shape)

    @property
    def _is_subclassed(self):
        return type(self).call is not Model.call

    def get_compile_config(self):
        return compile_config.compile_config(self)

    def compile_from_config(self, config):
        compile_config.compile_from_config(self, config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    def export(self, filepath: str | os.PathLike[str], format: str = "tf_saved_model", verbose: bool | None = None,
               input_signature: Any = None, **kwargs: Any) -> None:
        """Exports the model for inference: with format="onnx", an ONNX file that onnxruntime (or
        any ONNX runtime) runs without fastdense. Keras 3's method, arguments and default
        (keras/src/models/model.py): the default "tf_saved_model", like Keras's other formats,
        needs TensorFlow's own exporter and raises a ValueError saying so and naming "onnx", so a
        Keras script that relies on the default gets a clear error, never a file of another kind.
        `opset_version=` (>= 17, default 18) is the one extra keyword. Needs the `onnx` package
        (`pip install 'fastdense[onnx]'`); see fastdense.export.onnx.export_onnx for
        input_signature."""
        from fastdense.export import export_model

        export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    # ---------------------------------------------------------------------------- pickling
    # As Keras 3 (keras/src/saving/keras_saveable.py): pickle and copy.deepcopy go through the
    # `.keras` archive, in memory, so the copy has the architecture, the weights, the compile
    # config and the optimizer's slots, and no native object is ever copied. User-defined
    # classes and functions the model uses travel with the pickle (by reference, as pickle
    # stores classes), so unpickling needs neither the registry nor a custom-object scope.
    def __reduce__(self):
        return _unpickle_model, (in_memory.model_to_bytes(self), _user_objects(self))

    def __deepcopy__(self, memo):
        copied = _unpickle_model(*self.__reduce__()[1])
        memo[id(self)] = copied
        return copied


def _unpickle_model(data, custom_objects):
    return in_memory.model_from_bytes(data, custom_objects)


def _user_objects(model):
    """{name: object} for the user-defined classes and functions `model` needs to be rebuilt:
    its own class, its layers' classes (nested models included), the functions and objects the
    layers hold (activations, regularizers, ...), and its compile arguments. Only what pickle
    can store by reference (module-level, not a lambda or a local definition) is kept; the
    rest is resolved by name when unpickling (the registry or a custom-object scope), as in Keras."""
    found = {}

    def add(obj):
        if isinstance(obj, (list, tuple)):
            for item in obj:
                add(item)
            return
        if isinstance(obj, dict):
            for item in obj.values():
                add(item)
            return
        if isinstance(obj, types.FunctionType) or isinstance(obj, type):
            kind = obj
        elif hasattr(type(obj), "get_config"):  # a loss, metric, regularizer... instance
            kind = type(obj)
        else:
            return
        module = (getattr(kind, "__module__", None) or "").split(".")[0]
        qualname = getattr(kind, "__qualname__", "<lambda>")
        if module in ("fastdense", "builtins", "numpy") or "<" in qualname:
            return
        found.setdefault(get_registered_name(kind), kind)
        found.setdefault(kind.__name__, kind)

    def add_layer(layer):
        add(type(layer))
        for value in vars(layer).values():
            if isinstance(value, Layer):
                add_layer(value)
            elif not isinstance(value, (list, tuple, dict)):
                add(value)
        for inner in (layer.layers if isinstance(layer, Model) else []):
            add_layer(inner)

    add_layer(model)
    if getattr(model, "compiled", False) and model._compile_args:
        add([value for value in model._compile_args.values() if value is not None])
    return found


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and not hasattr(layer, "quantize"):
            yield from _leaf_layers(layer)
        else:
            yield layer


def _matches(layer, filters):
    """Keras's quantize filters: None (every layer), a regex, a list of regexes, or a callable."""
    if filters is None:
        return True
    if callable(filters):
        return bool(filters(layer))
    patterns = [filters] if isinstance(filters, str) else list(filters)
    return any(re.search(pattern, layer.name) for pattern in patterns)
