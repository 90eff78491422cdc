"""The Keras 3 weights tree: `.weights.h5` files and `model.weights.h5` inside `.keras` archives.

    vars                        the model's own variables (attribute name = model name)
    layers/dense/vars/0, 1      kernel, bias of the first Dense in model.layers
    layers/dense_1/vars/...     group names: snake_case class names, made unique in layer order
    layers/<name>/<attr>/vars   sublayers held as attributes of a layer, by attribute name
    <attr>/<class>_N/vars       layers in a list or dict attribute (FeatureSpace's preprocessors)
    optimizer/vars/0...N        optimizer.variables (iteration, learning_rate, slots)

Loading checks every group against the model before anything is assigned, so a file that does
not fit leaves the model untouched.
"""

import warnings

import h5py
import numpy as np

from fastdense.utils.naming import to_snake_case as snake_case
from fastdense import object_registry
from fastdense.saving.serialization_lib import keras_class_name


def own_variables(layer):
    """What Keras stores under a layer's vars/: its own variables, trainable ones first, or in the
    order the layer names (a quantized Dense: keras/src/layers/core/dense.py variable_serialization_spec)."""
    if hasattr(layer, "_serialized_variables"):
        return layer._serialized_variables()
    variables = getattr(layer, "_variables", [])
    return [v for v in variables if v.trainable] + [v for v in variables if not v.trainable]


def _has_hook(obj, name):
    method = getattr(type(obj), name, None)
    return method is not None and method is not getattr(object_registry.get_builtin("layers", "Layer"), name, None)


def _children(obj):
    """(group path, child) pairs below a model or layer, in Keras's visiting order."""
    # Layer and Model are found through the registry: saving imports no layer or model module.
    Layer = object_registry.get_builtin("layers", "Layer")  # noqa: N806
    children = []
    if isinstance(obj, object_registry.get_builtin("layers", "Model")):
        used = {}
        for layer in obj.layers:
            children.append((f"layers/{_unique(snake_case(_class_name(layer)), used)}", layer))
        return children
    for attr in sorted(vars(obj), key=lambda a: ("~" + a) if a.startswith("_") else a):
        value = vars(obj)[attr]
        if isinstance(value, Layer) and attr != "_parent":
            children.append((attr, value))
        elif isinstance(value, (list, tuple, dict)) and value and attr != "_tracked_layers":
            # A container of layers (a dict's values in its order, as Keras's _save_container_state).
            items = list(value.values()) if isinstance(value, dict) else list(value)
            if all(isinstance(v, Layer) for v in items):
                used = {}
                children.extend((f"{attr}/{_unique(snake_case(_class_name(v)), used)}", v) for v in items)
    return children


def _class_name(layer):
    return keras_class_name(layer)


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _walk(obj, path, visited):
    """Yields (path, object) for obj and everything below it, each object once."""
    if id(obj) in visited:
        return
    visited.add(id(obj))
    yield path, obj
    for child_path, child in _children(obj):
        yield from _walk(child, f"{path}/{child_path}" if path else child_path, visited)


# ------------------------------------------------------------------------------- writing
def write_tree(h5, model, optimizer=None):
    """Writes the model's (and optimizer's) variables into an open h5py File."""
    for path, obj in _walk(model, "", set()):
        group = h5.require_group(f"{path}/vars" if path else "vars")
        group.attrs["name"] = obj.name
        if _has_hook(obj, "save_own_variables"):  # Keras writes such a store under its own keys ('idf_weights')
            store = {}
            obj.save_own_variables(store)
            for key in sorted(store, key=_key_order):
                group.create_dataset(str(key), data=np.asarray(store[key]))
        else:
            _write_values(group, [v.numpy() for v in own_variables(obj)])
    if optimizer is not None:
        group = h5.require_group("optimizer/vars")
        group.attrs["name"] = optimizer.name
        _write_values(group, optimizer.variables)


def _key_order(key):
    return (0, int(key)) if str(key).isdigit() else (1, str(key))


def _write_values(group, values):
    for i, value in enumerate(values):
        value = np.asarray(value)
        group.create_dataset(str(i), data=value)


# ------------------------------------------------------------------------------- reading
class WeightsPlan:
    """Values read and checked against a model, applied in one go by `apply()`."""

    def __init__(self):
        self.assignments = []  # (variable, array)
        self.hooks = []  # (layer, store) for layers with their own load_own_variables
        self.optimizer_values = None

    def apply(self):
        for variable, value in self.assignments:
            variable.assign(value)
        for layer, store in self.hooks:
            layer.load_own_variables(store)


def read_tree(h5, model, source, skip_mismatch=False):
    """Checks the file's tree against `model` and returns a WeightsPlan (nothing is assigned)."""
    if not isinstance(h5.get("layers"), h5py.Group) and not isinstance(h5.get("vars"), h5py.Group):
        raise ValueError(f"{source}: not a Keras weights file (no 'layers' or 'vars' group)")
    plan = WeightsPlan()
    for path, obj in _walk(model, "", set()):
        group_path = f"{path}/vars" if path else "vars"
        group = h5.get(group_path)
        if group is not None and not isinstance(group, h5py.Group):
            raise ValueError(f"{source}: '{group_path}' is not a group")
        if _has_hook(obj, "load_own_variables"):
            plan.hooks.append((obj, _read_store(group, source, group_path)))
            continue
        variables = own_variables(obj)
        try:
            plan.assignments.extend(zip(variables, _read_values(group, variables, source, group_path, obj)))
        except _Mismatch as mismatch:
            if not skip_mismatch:
                raise ValueError(str(mismatch)) from None
            warnings.warn(f"Skipping loading weights of layer '{obj.name}': {mismatch}", stacklevel=3)
    optimizer_group = h5.get("optimizer/vars")
    if isinstance(optimizer_group, h5py.Group):
        plan.optimizer_values = _read_store_values(optimizer_group, source, "optimizer/vars")
    return plan


class _Mismatch(Exception):
    pass


def _sorted_keys(group, source, group_path):
    keys = list(group.keys()) if group is not None else []
    if not all(k.isdigit() for k in keys):
        raise ValueError(f"{source}: '{group_path}' holds unexpected entries {sorted(keys)[:5]}")
    return sorted(keys, key=int)


def _read_values(group, variables, source, group_path, layer):
    keys = _sorted_keys(group, source, group_path)
    if keys != [str(i) for i in range(len(keys))] or len(keys) != len(variables):
        raise _Mismatch(
            f"{source}: layer '{layer.name}' ({type(layer).__name__}) expects {len(variables)} variable(s) "
            f"{[v.shape for v in variables]}, but the file has {len(keys)} at '{group_path}'"
        )
    values = []
    for key, variable in zip(keys, variables):
        dataset = group[key]
        if not isinstance(dataset, h5py.Dataset) or dataset.shape != variable.shape:
            shape = dataset.shape if isinstance(dataset, h5py.Dataset) else "a group"
            raise _Mismatch(
                f"{source}: variable '{variable.path}' of layer '{layer.name}' has shape {variable.shape}, "
                f"but '{group_path}/{key}' in the file has shape {shape}"
            )
        values.append(read_dataset(dataset, source, f"{group_path}/{key}"))
    return values


def _read_store(group, source, group_path):
    """A layer's own store, keyed as in the file ('0', '1', ... or names such as 'idf_weights')."""
    if group is None:
        return {}
    return {key: read_dataset(group[key], source, f"{group_path}/{key}") for key in sorted(group.keys(), key=_key_order)}


def _read_store_values(group, source, group_path):
    return [read_dataset(group[k], source, f"{group_path}/{k}") for k in _sorted_keys(group, source, group_path)]


def read_dataset(dataset, source, path):
    """The dataset's value as a numpy array (numeric only)."""
    if not isinstance(dataset, h5py.Dataset):
        raise ValueError(f"{source}: '{path}' is not a dataset")
    if dataset.dtype.kind not in "fiub":
        raise ValueError(f"{source}: '{path}' holds {dataset.dtype} values, not numbers")
    return np.asarray(dataset[()])
