"""The graph inside a model's config, as Keras 3 writes it (keras/src/models/functional.py,
keras/src/models/sequential.py) and as Keras 2 wrote it; Model and Sequential get_config and
from_config call these functions. Each layer entry is written and read by
fastdense.saving.serialization_lib.

A functional graph is stored as per-layer call lists ("inbound_nodes"): Keras 3 writes
{"args": [...], "kwargs": {...}} with `__keras_tensor__` references, Keras 2 writes
[[layer_name, node_index, tensor_index, kwargs], ...].
"""

from fastdense.layers.input_layer import InputLayer
from fastdense.layers.layer import dtype_policy_config
from fastdense.saving import serialization_lib
from fastdense.saving.serialization_lib import (KERAS_TENSOR, ConfigError, deserialize_layer, dumps, resolve_nested,
                                                serialize_layer, short_repr)


def _is_graph_config(config):
    return isinstance(config, dict) and "layers" in config


def sequential_config(model):
    entries = []
    if model.inputs is not None:
        input_layer = model.inputs[0]._keras_history[0]
        entries.append(serialize_layer(input_layer))
    entries.extend(serialize_layer(layer) for layer in model.layers)
    config = {"name": model.name, "trainable": model.trainable, "dtype": dtype_policy_config(_model_dtype(model)),
              "layers": entries}
    if model.inputs is not None:
        config["build_input_shape"] = list(model.inputs[0].shape)
    return config


def _model_dtype(model):
    return model.inputs[0].dtype if model.inputs else model.dtype


def functional_config(model):
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(f"Model '{model.name}' has no graph (it was not built from Input tensors), so it "
                         "has no functional config")
    own_nodes = set(map(id, model._graph_nodes))
    entries = []
    for layer in model.layers:
        entry = serialize_layer(layer)
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


def from_config(cls, config, custom_objects, rebuild):
    """`cls.from_config(config)` of a model class: `rebuild(cls, config, custom_objects, source)`.
    Called by the user rather than by a load, it refuses code in the config as loading does
    (safe mode) and names 'from_config' in its errors."""
    source = serialization_lib.loading_source()
    if source is not None:
        return rebuild(cls, config, custom_objects, source)
    serialization_lib.check_safe(config, "from_config")
    with serialization_lib.loading_scope("from_config", custom_objects):
        return rebuild(cls, config, custom_objects, "from_config")


def model_from_config(cls, config, custom_objects, source):
    """A functional graph, or a subclassed model from its constructor arguments (as Keras)."""
    if _is_graph_config(config) and "input_layers" in config:
        return functional_from_config(cls, config, custom_objects, source)
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the config of model class {cls.__name__} must be a dict")
    config = resolve_nested(config, custom_objects, source)
    try:
        return cls(**config)
    except TypeError as error:
        raise ConfigError(f"{source}: cannot create model class {cls.__name__} from its config ({error}); "
                          "define get_config() and from_config() on it") from error


def sequential_from_config(cls, config, custom_objects, source):
    if isinstance(config, list):  # Keras 2.0-2.2 wrote the bare list of layers
        config = {"layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ConfigError(f"{source}: a Sequential config needs a 'layers' list")
    layers = [deserialize_layer(entry, custom_objects, source) for entry in config["layers"]]
    try:
        model = cls(layers=layers, name=config.get("name"))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: cannot rebuild the Sequential model: {error}") from error
    shape = config.get("build_input_shape")
    if not model.built and isinstance(shape, list) and shape and not isinstance(shape[0], list):
        model.build(tuple(shape))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def functional_from_config(cls, config, custom_objects, source):
    """Rebuilds the graph: creates every layer, then calls each on its inputs as soon as they
    exist (a layer shared at several depths waits for its inputs), in each layer's call order."""
    layers, pending, outputs = {}, {}, {}
    for entry in config["layers"]:
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: a functional layer entry must be a dict, got {short_repr(entry)}")
        layer = deserialize_layer(entry, custom_objects, source)
        name = entry.get("name") or layer.name
        if name in layers:
            raise ConfigError(f"{source}: two layers of the model config are named {name!r}")
        layers[name] = layer
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise ConfigError(f"{source}: inbound_nodes of layer {name!r} must be a list")
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
            raise ConfigError(f"{source}: the model graph cannot be rebuilt: the inputs of layer(s) {stuck} are "
                             "never produced (the config has a cycle or refers to missing layers)")

    inputs = _map_structure(config.get("input_layers"), outputs, source, keras2)
    model_outputs = _map_structure(config.get("output_layers"), outputs, source, keras2)
    try:
        model = cls(inputs=inputs, outputs=model_outputs, name=config.get("name"))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: cannot rebuild the functional model: {error}") from error
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
        raise ConfigError(f"{source}: invalid tensor reference {short_repr(reference)} in the model config")
    return history[0], history[1], history[2]


def _lookup_tensor(key, outputs, source):
    """The tensor, None when its layer call has not been rebuilt yet."""
    name, node_index, tensor_index = key
    if name not in outputs:
        raise ConfigError(f"{source}: the model config refers to an unknown layer {name!r}")
    calls = outputs[name]
    if node_index >= len(calls):
        return None
    if tensor_index >= len(calls[node_index]):
        raise ConfigError(f"{source}: layer {name!r} has no output {tensor_index} at call {node_index}")
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
                raise ConfigError(f"{source}: a layer call must have exactly one positional input, got "
                                  f"{short_repr(node)}")
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
    raise ConfigError(f"{source}: invalid inbound node {short_repr(node)} in the model config")


def _is_triple(value):
    return (isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)
            and all(isinstance(i, int) for i in value[1:3]))


def _map_structure(value, outputs, source, keras2):
    if value is None:
        raise ConfigError(f"{source}: the functional config has no input_layers/output_layers")
    if _is_triple(value):
        tensor = _lookup_tensor(_reference_key(value, source), outputs, source)
        if tensor is None:
            raise ConfigError(f"{source}: the model output {value} is never computed")
        return tensor
    if isinstance(value, dict):
        return {k: _map_structure(v, outputs, source, False) for k, v in value.items()}
    if isinstance(value, list):
        mapped = [_map_structure(v, outputs, source, False) for v in value]
        # Keras 2 always wrote lists; a single input or output meant a plain tensor.
        return mapped[0] if keras2 and len(mapped) == 1 else mapped
    raise ConfigError(f"{source}: invalid input/output structure {short_repr(value)} in the model config")


