"""The legacy Keras HDF5 layouts: full models (`model.save("m.h5")`) and weights-only files
(Keras 2's `save_weights("w.h5")`).

Full model file:
    attrs: keras_version, backend, model_config (JSON), training_config (JSON, if compiled)
    model_weights/        attrs layer_names, backend, keras_version
        <layer name>/     attr weight_names; datasets at those names ("d1/kernel", "dense/kernel:0")
        top_level_model_weights/
    optimizer_weights/    attr weight_names; datasets in optimizer.variables order
A weights-only file is the model_weights group at the root.

Loading is positional, as in Keras: the file's layers that have weights are matched in order
with the model's layers that have weights (or by layer name with by_name=True).
"""

import json
import warnings

import h5py
import numpy as np

from fastdense import object_registry
from fastdense.saving import compile_config, serialization_lib
from fastdense.saving.weights_h5 import read_dataset

BACKEND = "tensorflow"
# HDF5 object headers hold at most 64 KiB; longer name lists are split into attr0, attr1, ...
_HEADER_LIMIT = 64512


# ------------------------------------------------------------------------------- writing
def save_model(model, h5, include_optimizer=True):
    """Writes the full-model layout into an open h5py File."""
    h5.attrs["keras_version"] = serialization_lib.KERAS_FORMAT_VERSION
    h5.attrs["backend"] = BACKEND
    h5.attrs["model_config"] = serialization_lib.dumps(serialization_lib.legacy_model_config(model)).encode("utf8")
    training = compile_config.training_config(model) if include_optimizer else None
    if training is not None:
        h5.attrs["training_config"] = serialization_lib.dumps(training).encode("utf8")
    save_weights(model, h5.create_group("model_weights"))
    if include_optimizer and getattr(model, "optimizer", None) is not None:
        _save_optimizer(model, h5)


def save_weights(model, group):
    """Writes the weights-only layout (layer_names + one group per layer) into `group`."""
    _write_string_list(group, "layer_names", [layer.name.encode("utf8") for layer in model.layers])
    group.attrs["backend"] = BACKEND.encode("utf8")
    group.attrs["keras_version"] = serialization_lib.KERAS_FORMAT_VERSION.encode("utf8")
    for layer in sorted(model.layers, key=lambda layer: layer.name):
        _write_weights(group.create_group(layer.name), legacy_weights(layer), _weight_names(model, layer))
    _write_weights(group.create_group("top_level_model_weights"), [], [])


def legacy_weights(layer):
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _path_prefix(model):
    # Keras >= 3.3 names a Sequential's variables 'sequential/dense/kernel', a functional
    # model's 'dense/kernel'.
    sequential = object_registry.get_builtin("layers", "Sequential")
    return f"{model.name}/" if isinstance(model, sequential) else ""


def keras_paths(model, variables):
    prefix = _path_prefix(model)
    return [prefix + v.path for v in variables]


def _weight_names(model, layer):
    names, seen = [], set()
    for name in keras_paths(model, legacy_weights(layer)):
        unique, suffix = name, 1
        while unique in seen:
            unique, suffix = f"{name}_{suffix}", suffix + 1
        seen.add(unique)
        names.append(unique)
    return names


def _write_weights(group, variables, names):
    _write_string_list(group, "weight_names", [n.encode("utf8") for n in names])
    for name, variable in zip(names, variables):
        group.create_dataset(name, data=np.asarray(variable.numpy()))


def _write_string_list(group, name, values):
    data = np.asarray(values)
    chunks = 1
    while any(part.nbytes > _HEADER_LIMIT for part in np.array_split(data, chunks)):
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, part in enumerate(np.array_split(data, chunks)):
            group.attrs[f"{name}{i}"] = part


def optimizer_weight_names(optimizer, model):
    """Keras 3's names of optimizer.variables: 'adam/iteration', 'adam/learning_rate',
    'adam/sequential_dense_kernel_momentum', ..."""
    names = optimizer._variable_paths()
    if not optimizer.built:
        return names
    paths = keras_paths(model, model.trainable_weights)
    slot_names = optimizer._native.slot_names()
    first_slot = 2 if optimizer._has_rate_variable() else 1
    for i, (param, slot) in enumerate(optimizer._slot_positions()):
        names[first_slot + i] = f"{optimizer.name}/{paths[param].replace('/', '_')}_{slot_names[slot]}"
    return names


def _save_optimizer(model, h5):
    optimizer = model.optimizer
    values = optimizer.variables
    names = optimizer_weight_names(optimizer, model)
    group = h5.create_group("optimizer_weights")
    _write_string_list(group, "weight_names", [n.encode("utf8") for n in names])
    for name, value in zip(names, values):
        group.create_dataset(name, data=np.asarray(value))


# ------------------------------------------------------------------------------- reading
def read_string_attr(attrs, name, source):
    """A JSON/text attribute as str (h5py returns str or bytes depending on how it was written)."""
    value = attrs.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf8")
        except UnicodeDecodeError:
            raise ValueError(f"{source}: attribute '{name}' is not UTF-8 text") from None
    if isinstance(value, str):
        return value
    raise ValueError(f"{source}: attribute '{name}' is not text (got {type(value).__name__})")


def read_json_attr(attrs, name, source):
    text = read_string_attr(attrs, name, source)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValueError(f"{source}: attribute '{name}' is not valid JSON: {error}") from None


def read_string_list(attrs, name, source):
    """A list-of-names attribute, joined back from chunks (name0, name1, ...) if it was split."""
    if name in attrs:
        parts = [attrs[name]]
    else:
        parts, i = [], 0
        while f"{name}{i}" in attrs:
            parts.append(attrs[f"{name}{i}"])
            i += 1
    names = []
    for part in parts:
        for value in np.asarray(part).reshape(-1):
            if isinstance(value, (bytes, np.bytes_)):
                value = bytes(value).decode("utf8", errors="replace")
            elif not isinstance(value, str):
                raise ValueError(f"{source}: attribute '{name}' holds a non-string entry {value!r}")
            names.append(value)
    return names


def is_weights_group(group):
    return "layer_names" in group.attrs or "layer_names0" in group.attrs


def read_weights(group, model, source, by_name=False, skip_mismatch=False):
    """[(variable, value)] for `model` from a layer_names group; checks everything first."""
    if not is_weights_group(group):
        raise ValueError(f"{source}: no 'layer_names' attribute: not a Keras HDF5 weights group")
    file_layers = [name for name in read_string_list(group.attrs, "layer_names", source)]
    if by_name:
        return _read_by_name(group, model, file_layers, source, skip_mismatch)
    saved = [(name, values) for name in file_layers
             for values in [_layer_values(group, name, source)] if values]
    weighted = [layer for layer in model.layers if legacy_weights(layer)]
    if len(saved) != len(weighted):
        raise ValueError(
            f"{source}: the file has weights for {len(saved)} layer(s) {[n for n, _ in saved]}, but the model "
            f"has {len(weighted)} layer(s) with weights {[layer.name for layer in weighted]}"
        )
    assignments = []
    for layer, (name, values) in zip(weighted, saved):
        assignments.extend(_match_layer(layer, name, values, source, skip_mismatch))
    return assignments


def _read_by_name(group, model, file_layers, source, skip_mismatch):
    available = set(file_layers)
    assignments = []
    for layer in model.layers:
        if not legacy_weights(layer) or layer.name not in available:
            continue
        values = _layer_values(group, layer.name, source)
        assignments.extend(_match_layer(layer, layer.name, values, source, skip_mismatch))
    return assignments


def _layer_values(group, name, source):
    """The datasets listed in a layer group's weight_names (as h5py Datasets, not yet read)."""
    layer_group = group.get(name)
    if not isinstance(layer_group, h5py.Group):
        raise ValueError(f"{source}: layer '{name}' is listed in layer_names but has no group")
    values = []
    for weight_name in read_string_list(layer_group.attrs, "weight_names", source):
        dataset = layer_group.get(weight_name)
        if not isinstance(dataset, h5py.Dataset):
            raise ValueError(f"{source}: weight '{weight_name}' of layer '{name}' is missing")
        values.append(dataset)
    return values


def _match_layer(layer, file_name, datasets, source, skip_mismatch):
    variables = legacy_weights(layer)
    problem = None
    if len(datasets) != len(variables):
        problem = (f"layer '{layer.name}' expects {len(variables)} weight(s), but the file's layer "
                   f"'{file_name}' has {len(datasets)}")
    else:
        for variable, dataset in zip(variables, datasets):
            if dataset.shape != variable.shape:
                problem = (f"weight '{variable.path}' of layer '{layer.name}' has shape {variable.shape}, but "
                           f"'{dataset.name}' in the file has shape {dataset.shape}")
                break
    if problem is not None:
        if not skip_mismatch:
            raise ValueError(f"{source}: {problem}")
        warnings.warn(f"{source}: skipping layer '{layer.name}': {problem}", stacklevel=4)
        return []
    return [(variable, read_dataset(dataset, source, dataset.name)) for variable, dataset in zip(variables, datasets)]


def read_optimizer_values(h5, source):
    group = h5.get("optimizer_weights")
    if not isinstance(group, h5py.Group):
        return None
    names = read_string_list(group.attrs, "weight_names", source)
    values = []
    for name in names:
        values.append(read_dataset(group.get(name), source, f"optimizer_weights/{name}"))
    return values


def load_model(h5, source, custom_objects=None, compile=True, safe_mode=True):
    """(model, optimizer values or None) from an open full-model file; weights are assigned
    only after every check passed."""
    config = read_json_attr(h5.attrs, "model_config", source)
    if config is None:
        raise ValueError(f"{source}: no model_config attribute: this is not a full Keras model file "
                         "(a weights-only file is read with model.load_weights)")
    model = serialization_lib.model_from_config(config, custom_objects, safe_mode, source)
    weights_group = h5.get("model_weights")
    if not isinstance(weights_group, h5py.Group):
        raise ValueError(f"{source}: the 'model_weights' group is missing")
    assignments = read_weights(weights_group, model, source)
    optimizer_values = None
    if compile:
        training = read_json_attr(h5.attrs, "training_config", source)
        if training is not None:
            if not isinstance(training, dict):
                raise ValueError(f"{source}: training_config must be a JSON object")
            compile_config.compile_from_config(model, training, custom_objects, source)
            optimizer_values = read_optimizer_values(h5, source)
    for variable, value in assignments:
        variable.assign(value)
    return model, optimizer_values
