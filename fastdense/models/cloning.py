"""`clone_model`: a new model with the same architecture and new (freshly initialized) layers,
with Keras 3's signature and semantics (keras/src/models/cloning.py)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable

from fastdense.layers.input_layer import Input, InputLayer, KerasTensor
from fastdense.models.model import Model, flatten_structure
from fastdense.models.sequential import Sequential
from fastdense.saving import custom_object_scope

if TYPE_CHECKING:
    from fastdense.layers.layer import Layer


def clone_model(model: Model, input_tensors: Any = None, clone_function: Callable[[Layer], Layer] | None = None,
                call_function: Callable[..., Any] | None = None, recursive: bool = False, **kwargs: Any) -> Model:
    """Clones a Sequential or functional model: each layer is rebuilt from its config (so its
    weights are new, not copied) and called on new inputs; a compiled model's clone is compiled
    from the same compile config (with a new optimizer).

    Args:
        model: a Sequential, functional or subclassed Model.
        input_tensors: Input tensors to build the clone on, in the structure of `model.inputs`
            (one tensor for a Sequential model); default: new Inputs like the model's.
        clone_function: `fn(layer) -> layer` used for every layer except the Inputs; default
            `layer.__class__.from_config(layer.get_config())`. Return the layer itself to share it.
        call_function: `fn(layer, *args, **kwargs) -> outputs` used to call each cloned layer
            (functional models only), e.g. to insert a layer after some of them.
        recursive: clone nested Sequential/functional models with clone_model (same
            clone_function; call_function only for functional ones) instead of clone_function.

    A subclassed model is rebuilt as `cls.from_config(model.get_config())`; clone_function,
    input_tensors and call_function are refused for it, as in Keras.
    """
    cache = kwargs.pop("cache", None)
    if kwargs:
        raise ValueError(f"Unexpected keyword argument(s): {tuple(kwargs.keys())}")
    if not isinstance(model, Model):
        raise ValueError(f"Expected `model` argument to be a `Model` instance. Received: model={model!r}")

    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError(
                "`call_function` argument is not supported with Sequential models. In a Sequential model, layers "
                "aren't called at model-construction time (they're merely listed). Use `call_function` with "
                f"Functional models only. Received model of type '{type(model).__name__}', with "
                f"call_function={call_function}")
        clone = _wrap_clone_function(clone_function, call_function, recursive, cache)
        return _clone_sequential_model(model, clone, input_tensors)
    if _is_functional(model):
        clone = _wrap_clone_function(clone_function, call_function, recursive, cache)
        # A custom get_config may not describe a graph; Keras still clones the graph when a
        # clone_function or input_tensors asks for it.
        if type(model).get_config is Model.get_config or clone_function or input_tensors is not None:
            return _clone_functional_model(model, clone, input_tensors, call_function)

    if clone_function or input_tensors is not None:
        raise ValueError(
            "Arguments `clone_function` and `input_tensors` are only supported for Sequential models or Functional "
            f"models. Received model of type '{type(model).__name__}', with clone_function={clone_function} and "
            f"input_tensors={input_tensors}")
    if call_function is not None:
        raise ValueError("Argument `call_function` is only supported for Functional models. Received model of "
                         f"type '{type(model).__name__}', with call_function={call_function}")
    cls = type(model)
    with custom_object_scope({cls.__name__: cls}):
        return cls.from_config(model.get_config())


def _is_functional(model):
    """Keras's Functional: a model built from Input tensors (not a subclass defining call())."""
    return model._is_graph_network and type(model).call is Model.call


def _default_clone(layer):
    return layer.__class__.from_config(layer.get_config())


def _wrap_clone_function(clone_function, call_function, recursive, cache):
    """clone_function with a cache (a layer used twice is cloned once, so sharing survives) and
    recursion into nested models."""
    clone_function = clone_function or _default_clone
    cache = {} if cache is None else cache

    def wrapped(layer):
        if id(layer) in cache:
            return cache[id(layer)]
        if recursive and isinstance(layer, Sequential):
            clone = clone_model(layer, clone_function=clone_function, recursive=True, cache=cache)
        elif recursive and isinstance(layer, Model) and _is_functional(layer):
            clone = clone_model(layer, clone_function=clone_function, call_function=call_function, recursive=True,
                                cache=cache)
        else:
            clone = clone_function(layer)
        cache[id(layer)] = clone
        return clone

    return wrapped


def _compile_like(clone, model):
    if model.compiled:
        clone.compile_from_config(model.get_compile_config())
    return clone


def _clone_sequential_model(model, clone_function, input_tensors):
    if not callable(clone_function):
        raise ValueError(f"Expected `clone_function` argument to be a callable. Received: "
                         f"clone_function={clone_function}")
    new_layers = [clone_function(layer) for layer in model.layers]
    if input_tensors is not None:
        if isinstance(input_tensors, (list, tuple)):
            if len(input_tensors) != 1:
                raise ValueError("Argument `input_tensors` must contain a single tensor.")
            input_tensors = input_tensors[0]
        if not isinstance(input_tensors, KerasTensor):
            raise ValueError(f"Argument `input_tensors` must be a KerasTensor. Received invalid value: "
                             f"input_tensors={input_tensors}")
        if not isinstance(input_tensors._keras_history[0], InputLayer):
            # Keras wraps any tensor in Input(tensor=...); a fastdense model starts at an Input.
            raise ValueError(f"Argument `input_tensors` must be a tensor returned by Input(); {input_tensors!r} "
                             f"is the output of layer '{input_tensors._keras_history[0].name}'")
        new_layers = [input_tensors] + new_layers
    elif model.inputs is not None:
        # Keras 3 gives every built Sequential an InputLayer: the clone gets one of the same
        # name, shape and dtype.
        reference = model.inputs[0]._keras_history[0]
        new_layers = [Input(batch_shape=reference.batch_shape, dtype=reference.dtype, name=reference.name,
                            optional=getattr(reference, "optional", False))] + new_layers
    clone = Sequential(new_layers, name=model.name, trainable=model.trainable)
    return _compile_like(clone, model)


def _map_structure(fn, structure):
    if isinstance(structure, dict):
        return {key: fn(value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [fn(value) for value in structure]
    return fn(structure)


def _same_structure(given, reference):
    if isinstance(reference, dict):
        return isinstance(given, dict) and sorted(given) == sorted(reference)
    if isinstance(reference, (list, tuple)):
        return isinstance(given, (list, tuple)) and len(given) == len(reference)
    return not isinstance(given, (list, tuple, dict))


def _clone_functional_model(model, clone_function, input_tensors, call_function):
    if not callable(clone_function):
        raise ValueError(f"Expected `clone_function` argument to be a callable. Received: "
                         f"clone_function={clone_function}")
    reference_inputs = model._input_struct
    if input_tensors is not None:
        if not all(isinstance(t, KerasTensor) for t in flatten_structure(input_tensors)):
            raise ValueError(f"All entries in `input_tensors` must be KerasTensors. Received invalid values: "
                             f"inputs_tensors={input_tensors}")
        # A single tensor in a one-element list is the same structure to Keras's tree functions.
        if isinstance(input_tensors, (list, tuple)) and len(input_tensors) == 1 and isinstance(
                reference_inputs, KerasTensor):
            input_tensors = input_tensors[0]
        if not _same_structure(input_tensors, reference_inputs):
            raise ValueError(f"`input_tensors` must have the same structure as model.input\nReference structure: "
                             f"{reference_inputs}\nReceived structure: {input_tensors}")
    else:
        def new_input(tensor):
            layer = tensor._keras_history[0]
            return Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=layer.name)

        input_tensors = _map_structure(new_input, reference_inputs)

    tensors = dict(zip(map(id, model.inputs), flatten_structure(input_tensors)))
    for node in model._graph_nodes:
        if not node.inputs or isinstance(node.layer, InputLayer):
            continue
        if any(id(t) not in tensors for t in node.inputs):
            continue  # not computable from the inputs (Keras skips such nodes too)
        args = [tensors[id(t)] for t in node.inputs]
        args = args if node.list_input else args[0]
        layer = clone_function(node.layer)
        if call_function is not None:
            outputs = call_function(layer, args, **node.arguments)
        else:
            outputs = layer(args, **node.arguments)
        for tensor, new in zip(node.outputs, flatten_structure(outputs)):
            tensors[id(tensor)] = new
    missing = [t for t in model.outputs if id(t) not in tensors]
    if missing:
        raise ValueError(f"Output {missing[0]!r} is not connected to `inputs`")
    output_tensors = _map_structure(lambda t: tensors[id(t)], model._output_struct)
    cls = type(model)
    if cls is not Model and _functional_like_constructor(cls):
        clone = cls(input_tensors, output_tensors, name=model.name)
    else:
        clone = Model(input_tensors, output_tensors, name=model.name)
    return _compile_like(clone, model)


def _functional_like_constructor(cls):
    """Whether cls(inputs, outputs, name=...) works (keras/src/models/functional.py)."""
    spec = inspect.getfullargspec(cls.__init__)
    if spec.varargs is not None and spec.varkw is not None:
        return True
    return spec.args[1:3] == ["inputs", "outputs"]
