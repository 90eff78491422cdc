"""Keras-compatible configs of layers and models (compile configs: compile_config.py), written
as Keras 3 writes them and read in both the Keras 3 and the Keras 2 forms.

Keras 3 entry of a layer: {"module", "class_name", "config", "registered_name", "build_config"}
(plus "name" and "inbound_nodes" inside a functional model). Keras 2 and the legacy HDF5 files
keep only {"class_name", "config"}. Functional graphs are stored as per-layer call lists
("inbound_nodes"): Keras 3 writes {"args": [...], "kwargs": {...}} with `__keras_tensor__`
references, Keras 2 writes [[layer_name, node_index, tensor_index, kwargs], ...].

Loading never runs code from the file unless safe_mode=False: configs holding a Lambda layer
or a serialized Python function are refused before anything is built.
"""

import base64
import json
import marshal
import types

import numpy as np

from fastdense import activations
from fastdense import serialization as registry
from fastdense.layers.layer import Layer, dtype_policy_config

KERAS_TENSOR = "__keras_tensor__"
LAMBDA_FUNCTION = "__lambda__"
# The Keras release whose file layouts fastdense writes (and which reads them back).
KERAS_FORMAT_VERSION = "3.15.1"

# Keys of a layer config that hold nested objects, by the kind of object they hold.
_NESTED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def dumps(value, **kwargs):
    """json.dumps that also writes numpy scalars and arrays (user configs often hold them)."""
    return json.dumps(value, default=_json_default, **kwargs)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Cannot write {type(value).__name__} {value!r} into a Keras config: it is not JSON data. "
                    "A layer's get_config() should return plain numbers, strings, lists and dicts.")


# ------------------------------------------------------------------------------ safe mode
def check_safe(config, source):
    """Raises ValueError if `config` would run Python code from the file when loaded."""
    found = _find_code(config)
    if found is not None:
        raise ValueError(
            f"{source}: the model config contains {found}, whose Python code would run when it is "
            "loaded. Loading it is refused because safe_mode=True. Pass safe_mode=False to load it, "
            "but only if you trust the source of this file."
        )


def _find_code(value, depth=0):
    if depth > 200:
        raise ValueError("the config is nested too deeply to be a model config")
    if isinstance(value, dict):
        class_name = value.get("class_name")
        if class_name == "Lambda":
            name = (value.get("config") or {}).get("name") if isinstance(value.get("config"), dict) else None
            return f"a Lambda layer ({name!r})" if name else "a Lambda layer"
        if class_name == LAMBDA_FUNCTION or value.get("function_type") == "lambda":
            return "a serialized Python function (lambda)"
        children = value.values()
    elif isinstance(value, (list, tuple)):
        children = value
    else:
        return None
    for child in children:
        found = _find_code(child, depth + 1)
        if found is not None:
            return found
    return None


def serialize_function(fn):
    """How Keras 3 writes a user function: by name, or a lambda as base64 marshalled bytecode."""
    if getattr(fn, "__name__", None) == "<lambda>":
        code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
        closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
        return {"class_name": LAMBDA_FUNCTION,
                "config": {"code": code, "defaults": fn.__defaults__, "closure": closure}}
    return {"module": "builtins", "class_name": "function", "config": registry.get_registered_name(fn),
            "registered_name": "function"}


def load_lambda(config, source):
    """A Python function from Keras's `__lambda__` config (only reached with safe_mode=False)."""
    inner = config.get("config") or {}
    try:
        code = marshal.loads(base64.b64decode(inner["code"]))
        closure = inner.get("closure")
        cells = tuple(types.CellType(value) for value in closure) if closure else None
        defaults = tuple(inner["defaults"]) if inner.get("defaults") else None
        return types.FunctionType(code, globals(), "<lambda>", defaults, cells)
    except Exception as error:
        raise ValueError(f"{source}: cannot load a serialized lambda function ({error}); it may have been "
                         "written by another Python version. Pass the function with custom_objects=.") from None


# ---------------------------------------------------------------------------- class table
def layer_classes():
    """Keras class name -> fastdense class, from what `fastdense.layers` exports (so layers added
    there are found automatically) plus the model classes."""
    import fastdense.layers as layers_module
    from fastdense.models import Model, Sequential

    table = {name: obj for name, obj in vars(layers_module).items()
             if isinstance(obj, type) and issubclass(obj, Layer)}
    table.update({"Functional": Model, "Model": Model, "Sequential": Sequential})
    return table


def find_layer_class(class_name, registered_name, custom_objects, source):
    for key in (registered_name, class_name):
        found = registry.get_registered_object(key, custom_objects)
        if found is not None:
            return found
    table = layer_classes()
    if isinstance(class_name, str) and class_name in table:
        return table[class_name]
    hint = " fastdense has no Lambda layer." if class_name == "Lambda" else ""
    raise ValueError(
        f"{source}: unknown layer class {class_name!r}.{hint} fastdense.layers has no such layer; if it is a "
        "user-defined layer, pass it with custom_objects={...} or register it with "
        "@fastdense.saving.register_keras_serializable()."
    )


def _is_model_class(cls):
    from fastdense.models import Model

    return isinstance(cls, type) and issubclass(cls, Model)


def keras_class_name(obj):
    """The class name Keras writes: a plain fastdense Model is Keras's 'Functional'."""
    from fastdense.models import Model

    if type(obj) is Model:
        return "Functional"
    return type(obj).__name__


def is_builtin(obj):
    return type(obj).__module__.startswith("fastdense.")


# ----------------------------------------------------------------------- nested objects
def _is_serialized_object(value):
    return isinstance(value, dict) and "class_name" in value and "config" in value


def user_object(value, custom_objects):
    """The registered or custom object a serialized dict or name refers to, or None."""
    if isinstance(value, str):
        return registry.get_registered_object(value, custom_objects)
    for key in (value.get("registered_name"), value.get("class_name")):
        if key in (None, "function"):
            continue
        found = registry.get_registered_object(key, custom_objects)
        if found is not None:
            return found
    if value.get("class_name") == "function" and isinstance(value.get("config"), str):
        return registry.get_registered_object(value["config"], custom_objects)
    return None


def _resolve_value(key, value, custom_objects, source):
    """A nested object of a layer config: user objects and lambdas are resolved here, the
    built-in ones are left for the layer constructor (which reads both Keras 2 and 3 forms)."""
    if isinstance(value, dict) and value.get("class_name") == LAMBDA_FUNCTION:
        return load_lambda(value, source)
    if key == "activation":
        user = user_object(value, custom_objects) if isinstance(value, (str, dict)) else None
        if user is not None:
            return user
        if isinstance(value, dict) and value.get("class_name") == "function":
            return activations.get(value.get("config"))
        return value
    if _is_serialized_object(value):
        user = user_object(value, custom_objects)
        if user is None:
            return value
        if isinstance(user, type):
            inner = value.get("config") or {}
            return user.from_config(inner) if hasattr(user, "from_config") else user(**inner)
        return user
    return value


def resolve_nested(config, custom_objects, source):
    return {key: _resolve_value(key, value, custom_objects, source) for key, value in config.items()}


# --------------------------------------------------------------------------------- layers
def _layer_config(layer, legacy):
    if _is_model_class(type(layer)) and has_model_config(layer):
        return model_config(layer, legacy)
    config = layer.get_config()
    activation = getattr(layer, "activation", None)
    if "activation" in config and callable(activation) and activations.native_config(activation) is None:
        config["activation"] = serialize_function(activation)
    return config


def serialize_layer(layer, legacy=False):
    """A layer's entry as Keras 3 writes it (legacy=True: the HDF5 file's {class_name, config})."""
    entry = {"class_name": keras_class_name(layer), "config": _layer_config(layer, legacy)}
    if legacy:
        return entry
    if _is_model_class(type(layer)):
        module, registered = _model_module(layer)
    elif is_builtin(layer):
        module, registered = "keras.layers", None
    else:
        registered = registry.get_registered_name(type(layer))
        module = None if ">" in registered else type(layer).__module__
    entry = {"module": module, "class_name": entry["class_name"], "config": entry["config"],
             "registered_name": registered}
    # Keras records build shapes only for layers with their own build() (Dense, merges).
    if not _is_model_class(type(layer)) and type(layer).build is not Layer.build:
        build_config = layer.get_build_config()
        if build_config is not None:
            entry["build_config"] = build_config
    return entry


def deserialize_layer(entry, custom_objects=None, safe_mode=True, source="config"):
    """A new layer (or nested model) from its Keras 2 or Keras 3 entry."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ValueError(f"{source}: a layer entry must be a dict with 'class_name' and 'config', got "
                         f"{short_repr(entry)}")
    cls = find_layer_class(entry["class_name"], entry.get("registered_name"), custom_objects, source)
    config = entry.get("config")
    if _is_model_class(cls) and (isinstance(config, list) or _is_graph_config(config)):
        return _model_from_inner_config(cls, config, custom_objects, safe_mode, source)
    if not isinstance(config, dict):
        raise ValueError(f"{source}: the config of layer class {entry['class_name']!r} must be a dict, got "
                         f"{short_repr(config)}")
    config = resolve_nested(config, custom_objects, source)
    try:
        layer = cls.from_config(config)
    except (TypeError, ValueError, KeyError, NotImplementedError) as error:
        name = config.get("name", "?")
        raise ValueError(f"{source}: cannot create layer {name!r} ({entry['class_name']}) from its config: "
                         f"{error}") from error
    return layer


def short_repr(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------------- models
def _is_graph_config(config):
    return isinstance(config, dict) and "layers" in config


def _model_module(model):
    from fastdense.models import Model, Sequential

    if type(model) is Sequential:
        return "keras", None
    if type(model) is Model:
        return "keras.src.models.functional", "Functional"
    registered = registry.get_registered_name(type(model))
    return (None if ">" in registered else type(model).__module__), registered


def model_config(model, legacy=False):
    """The inner config of a Sequential or functional model."""
    from fastdense.models import Sequential

    if isinstance(model, Sequential):
        return sequential_config(model, legacy)
    return functional_config(model, legacy)


def sequential_config(model, legacy=False):
    entries = []
    if model.inputs is not None:
        input_layer = model.inputs[0]._keras_history[0]
        entries.append(serialize_layer(input_layer, legacy))
    entries.extend(serialize_layer(layer, legacy) for layer in model.layers)
    config = {"name": model.name, "trainable": model.trainable, "dtype": dtype_policy_config(_model_dtype(model)),
              "layers": entries}
    if model.inputs is not None:
        config["build_input_shape"] = list(model.inputs[0].shape)
    return config


def _model_dtype(model):
    return model.inputs[0].dtype if model.inputs else model.dtype


def functional_config(model, legacy=False):
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(f"Model '{model.name}' has no graph (it was not built from Input tensors), so it "
                         "has no functional config")
    own_nodes = set(map(id, model._graph_nodes))
    entries = []
    for layer in model.layers:
        entry = serialize_layer(layer, legacy)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [_serialize_node(node, own_nodes) for node in layer._inbound_nodes
                                  if id(node) in own_nodes and node.inputs]
        entries.append(entry)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": entries,
        "input_layers": _tensor_structure(model._input_struct, own_nodes),
        "output_layers": _tensor_structure(model._output_struct, own_nodes),
    }


def _history(tensor, own_nodes):
    """[layer name, node index among this model's calls of the layer, tensor index]."""
    layer, node_index, tensor_index = tensor._keras_history
    foreign = sum(1 for node in layer._inbound_nodes[:node_index] if id(node) not in own_nodes)
    return [layer.name, node_index - foreign, tensor_index]


def _tensor_structure(structure, own_nodes):
    if isinstance(structure, dict):
        return {key: _tensor_structure(value, own_nodes) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [_history(tensor, own_nodes) for tensor in structure]
    return _history(structure, own_nodes)


def _tensor_reference(tensor, own_nodes):
    return {"class_name": KERAS_TENSOR,
            "config": {"shape": list(tensor.shape), "dtype": tensor.dtype,
                       "keras_history": _history(tensor, own_nodes)}}


def _serialize_node(node, own_nodes):
    references = [_tensor_reference(t, own_nodes) for t in node.inputs]
    args = [references] if node.list_input else references
    kwargs = {k: v for k, v in node.arguments.items() if _is_json_value(v)}
    return {"args": args, "kwargs": kwargs}


def _is_json_value(value):
    try:
        dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def serialize_model(model, include_compile=True):
    """The full Keras 3 entry of a model: what config.json of a .keras file and to_json() hold."""
    module, registered = _model_module(model)
    if has_model_config(model):
        config = model_config(model)
    else:
        config = model.get_config()
    entry = {"module": module, "class_name": keras_class_name(model), "config": config,
             "registered_name": registered}
    from fastdense.models import Sequential

    if isinstance(model, Sequential):
        entry["build_config"] = {"input_shape": list(model.inputs[0].shape) if model.inputs else None}
    else:
        entry["build_config"] = {"input_shape": None}
    if include_compile:
        from fastdense.saving.compile_config import compile_config

        entry["compile_config"] = compile_config(model)
    return entry


def legacy_model_config(model):
    """The model_config attribute of a legacy HDF5 file: {"class_name", "config"}, layer
    entries without module/registered_name/build_config."""
    return {"class_name": keras_class_name(model), "config": model_config(model, legacy=True)}


def model_from_config(config, custom_objects=None, safe_mode=True, source="config"):
    """A new model from {"class_name", "config", ...} (Keras 2 or 3 form, a .keras config.json,
    a legacy HDF5 model_config or a to_json() string's content)."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"{source}: a model config must be a dict with 'class_name' and 'config', got "
                         f"{short_repr(config)}")
    if safe_mode:
        check_safe(config, source)
    with registry.custom_object_scope(custom_objects):
        cls = find_layer_class(config["class_name"], config.get("registered_name"), custom_objects, source)
        inner = config.get("config")
        if not _is_model_class(cls):
            raise ValueError(f"{source}: the config describes a {config['class_name']}, not a model")
        return _model_from_inner_config(cls, inner, custom_objects, safe_mode, source)


def has_model_config(model):
    """Sequential models, and models built from Input tensors, have Keras's graph config."""
    from fastdense.models import Sequential

    return isinstance(model, Sequential) or getattr(model, "_is_graph_network", False)


def model_from_inner_config(cls, config, custom_objects=None, safe_mode=True, source="from_config"):
    """`cls.from_config(config)`: a model from the inner config that get_config() returned."""
    if safe_mode:
        check_safe(config, source)
    with registry.custom_object_scope(custom_objects):
        return _model_from_inner_config(cls, config, custom_objects, safe_mode, source)


def _model_from_inner_config(cls, inner, custom_objects, safe_mode, source):
    from fastdense.models import Sequential

    if issubclass(cls, Sequential):
        return sequential_from_config(cls, inner, custom_objects, safe_mode, source)
    if _is_graph_config(inner) and "input_layers" in inner:
        return functional_from_config(cls, inner, custom_objects, safe_mode, source)
    if not isinstance(inner, dict):
        raise ValueError(f"{source}: the config of model class {cls.__name__} must be a dict")
    inner = resolve_nested(inner, custom_objects, source)
    # A subclassed model: its own from_config, or (like Keras) its constructor.
    from fastdense.saving.model_methods import ModelSaving

    if cls.from_config.__func__ is not ModelSaving.from_config.__func__:
        return cls.from_config(inner)
    try:
        return cls(**inner)
    except TypeError as error:
        raise ValueError(f"{source}: cannot create model class {cls.__name__} from its config ({error}); "
                         "define get_config() and from_config() on it") from error


def sequential_from_config(cls, config, custom_objects=None, safe_mode=True, source="config"):
    if isinstance(config, list):  # Keras 2.0-2.2 wrote the bare list of layers
        config = {"layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError(f"{source}: a Sequential config needs a 'layers' list")
    layers = [deserialize_layer(entry, custom_objects, safe_mode, source) for entry in config["layers"]]
    try:
        model = cls(layers=layers, name=config.get("name"))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: cannot rebuild the Sequential model: {error}") from error
    shape = config.get("build_input_shape")
    if not model.built and isinstance(shape, list) and shape and not isinstance(shape[0], list):
        model.build(tuple(shape))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def functional_from_config(cls, config, custom_objects=None, safe_mode=True, source="config"):
    """Rebuilds the graph: creates every layer, then calls each on its inputs as soon as they
    exist (a layer shared at several depths waits for its inputs), in each layer's call order."""
    from fastdense.layers.input_layer import InputLayer

    layers, pending, outputs = {}, {}, {}
    for entry in config["layers"]:
        if not isinstance(entry, dict):
            raise ValueError(f"{source}: a functional layer entry must be a dict, got {short_repr(entry)}")
        layer = deserialize_layer(entry, custom_objects, safe_mode, source)
        name = entry.get("name") or layer.name
        if name in layers:
            raise ValueError(f"{source}: two layers of the model config are named {name!r}")
        layers[name] = layer
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise ValueError(f"{source}: inbound_nodes of layer {name!r} must be a list")
        pending[name] = list(nodes)
        outputs[name] = []
        if isinstance(layer, InputLayer):
            outputs[name].append(list(layer._inbound_nodes[0].outputs))

    keras2 = any(isinstance(node, list) for nodes in pending.values() for node in nodes)
    while any(pending.values()):
        progressed = False
        for name, nodes in pending.items():
            while nodes:
                call = _node_call(nodes[0], outputs, source)
                if call is None:
                    break
                inputs, kwargs = call
                result = layers[name](inputs, **kwargs)
                outputs[name].append(result if isinstance(result, list) else [result])
                nodes.pop(0)
                progressed = True
        if not progressed:
            stuck = sorted(name for name, nodes in pending.items() if nodes)
            raise ValueError(f"{source}: the model graph cannot be rebuilt: the inputs of layer(s) {stuck} are "
                             "never produced (the config has a cycle or refers to missing layers)")

    inputs = _map_structure(config.get("input_layers"), outputs, source, keras2)
    model_outputs = _map_structure(config.get("output_layers"), outputs, source, keras2)
    try:
        model = cls(inputs=inputs, outputs=model_outputs, name=config.get("name"))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: cannot rebuild the functional model: {error}") from error
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _reference_key(reference, source):
    """(layer name, node index, tensor index) of a Keras 3 tensor dict or a Keras 2 list."""
    if isinstance(reference, dict):
        if reference.get("class_name") != KERAS_TENSOR:
            return None
        history = (reference.get("config") or {}).get("keras_history")
    else:
        history = reference
    if (not isinstance(history, (list, tuple)) or len(history) < 3 or not isinstance(history[0], str)
            or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in history[1:3])):
        raise ValueError(f"{source}: invalid tensor reference {short_repr(reference)} in the model config")
    return history[0], history[1], history[2]


def _lookup_tensor(key, outputs, source):
    """The tensor, None when its layer call has not been rebuilt yet."""
    name, node_index, tensor_index = key
    if name not in outputs:
        raise ValueError(f"{source}: the model config refers to an unknown layer {name!r}")
    calls = outputs[name]
    if node_index >= len(calls):
        return None
    if tensor_index >= len(calls[node_index]):
        raise ValueError(f"{source}: layer {name!r} has no output {tensor_index} at call {node_index}")
    return calls[node_index][tensor_index]


class _NotReady(Exception):
    pass


def _map_tensors(value, outputs, source):
    """Replaces tensor references in a Keras 3 args/kwargs structure by tensors."""
    if isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR:
        tensor = _lookup_tensor(_reference_key(value, source), outputs, source)
        if tensor is None:
            raise _NotReady
        return tensor
    if isinstance(value, dict):
        return {k: _map_tensors(v, outputs, source) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_tensors(v, outputs, source) for v in value]
    return value


def _node_call(node, outputs, source):
    """(inputs, kwargs) of one recorded call, or None if an input does not exist yet."""
    try:
        if isinstance(node, dict):  # Keras 3
            args = _map_tensors(node.get("args") or [], outputs, source)
            kwargs = _map_tensors(node.get("kwargs") or {}, outputs, source)
            if not isinstance(args, list) or len(args) != 1:
                raise ValueError(f"{source}: a layer call must have exactly one positional input, got {short_repr(node)}")
            return args[0], kwargs
        if isinstance(node, list) and node:  # Keras 2: [[name, node, tensor, kwargs], ...]
            tensors = []
            for reference in node:
                tensor = _lookup_tensor(_reference_key(reference, source), outputs, source)
                if tensor is None:
                    raise _NotReady
                tensors.append(tensor)
            kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
            return (tensors[0] if len(tensors) == 1 else tensors), dict(kwargs)
    except _NotReady:
        return None
    raise ValueError(f"{source}: invalid inbound node {short_repr(node)} in the model config")


def _is_triple(value):
    return (isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)
            and all(isinstance(i, int) for i in value[1:3]))


def _map_structure(value, outputs, source, keras2):
    if value is None:
        raise ValueError(f"{source}: the functional config has no input_layers/output_layers")
    if _is_triple(value):
        tensor = _lookup_tensor(_reference_key(value, source), outputs, source)
        if tensor is None:
            raise ValueError(f"{source}: the model output {value} is never computed")
        return tensor
    if isinstance(value, dict):
        return {k: _map_structure(v, outputs, source, False) for k, v in value.items()}
    if isinstance(value, list):
        mapped = [_map_structure(v, outputs, source, False) for v in value]
        # Keras 2 always wrote lists; a single input or output meant a plain tensor.
        return mapped[0] if keras2 and len(mapped) == 1 else mapped
    raise ValueError(f"{source}: invalid input/output structure {short_repr(value)} in the model config")


# ---------------------------------------------------------------------------------- JSON
def model_to_json(model, **kwargs):
    """What Keras 3's to_json() returns: the model's full entry (with compile_config)."""
    return dumps(serialize_model(model), **kwargs)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """A new (uncompiled, freshly initialised) model from a to_json() string, Keras 2 or 3."""
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as error:
        raise ValueError(f"model_from_json: the string is not valid JSON: {error}") from None
    return model_from_config(config, custom_objects, safe_mode, source="model_from_json")
