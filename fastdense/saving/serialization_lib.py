"""Keras-compatible configs of layers and models, as Keras 3 writes them and read in both the
Keras 3 and the Keras 2 forms (compile configs: compile_config.py).

Keras 3 entry of a layer: {"module", "class_name", "config", "registered_name", "build_config"}
(plus "name" and "inbound_nodes" inside a functional model). Keras 2 and the legacy HDF5 files
keep only {"class_name", "config"}. What is inside a model's "config" (the graph) is written and
read by the model classes (fastdense/models/functional_config.py), as Keras keeps
`functional_from_config` in keras/src/models/functional.py: like Keras's serialization_lib,
this module imports no layer or model. It finds classes through fastdense.object_registry,
where built-in layers and models register themselves.

Loading never runs code from the file unless safe_mode=False: configs holding a serialized lambda
or a serialized Python function are refused before anything is built.
"""

from __future__ import annotations

import base64
import contextlib
import json
import marshal
import types
from typing import Any

import numpy as np

from fastdense import activations, object_registry
from fastdense.object_registry import LAMBDA_FUNCTION, serialize_function

KERAS_TENSOR = "__keras_tensor__"
# The Keras release whose file layouts fastdense writes (and which reads them back).
KERAS_FORMAT_VERSION = "3.15.1"


class ConfigError(ValueError):
    """A config that cannot be loaded; the message already names its source and the problem,
    so code that wraps errors of nested objects passes it on unchanged."""


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


def short_repr(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# ------------------------------------------------------------------------- loading scope
# The source named in error messages of the load under way (None outside any load). Nested
# models read it when their from_config runs inside a load, as Keras's SafeModeScope tells
# nested deserialization whether the outer call was safe.
_source = None


@contextlib.contextmanager
def loading_scope(source, custom_objects=None):
    """Everything deserialized inside sees `custom_objects` and reports errors as `source`."""
    global _source
    outer, _source = _source, source
    try:
        with object_registry.custom_object_scope(custom_objects):
            yield
    finally:
        _source = outer


def loading_source():
    """The source of the load under way, or None when no load is under way."""
    return _source


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
        # A Lambda layer is refused for its serialized lambda (found below), not for being a Lambda:
        # one wrapping a registered function loads in safe mode, as in keras/src/layers/core/lambda_layer.py.
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


# ---------------------------------------------------------------------------- classes
def find_layer_class(class_name, registered_name, custom_objects, source):
    """A user class (custom_objects, scopes, registry) or a built-in layer or model class."""
    for key in (registered_name, class_name):
        found = object_registry.get_registered_object(key, custom_objects)
        if found is not None:
            return found
    if isinstance(class_name, str):
        found = object_registry.get_builtin("layers", class_name)
        if found is not None:
            return found
    raise ConfigError(
        f"{source}: unknown layer class {class_name!r}. fastdense.layers has no such layer; if it is a "
        "user-defined layer, pass it with custom_objects={...} or register it with "
        "@fastdense.saving.register_keras_serializable()."
    )


def is_model_class(cls):
    """Whether `cls` is a model class (found through the registry, not imported)."""
    model = object_registry.get_builtin("layers", "Model")
    return isinstance(cls, type) and model is not None and issubclass(cls, model)


def keras_class_name(obj):
    """The class name Keras writes: a plain fastdense Model is Keras's 'Functional'."""
    entry = object_registry.builtin_entry(type(obj))
    return entry[1] if entry is not None else type(obj).__name__


def is_builtin(obj):
    return type(obj).__module__.startswith("fastdense.")


# ----------------------------------------------------------------------- nested objects
def _is_serialized_object(value):
    return isinstance(value, dict) and "class_name" in value and "config" in value


def user_object(value, custom_objects):
    """The registered or custom object a serialized dict or name refers to, or None."""
    if isinstance(value, str):
        return object_registry.get_registered_object(value, custom_objects)
    for key in (value.get("registered_name"), value.get("class_name")):
        if key in (None, "function"):
            continue
        found = object_registry.get_registered_object(key, custom_objects)
        if found is not None:
            return found
    if value.get("class_name") == "function" and isinstance(value.get("config"), str):
        return object_registry.get_registered_object(value["config"], custom_objects)
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
# True while writing a legacy HDF5 model_config: entries are Keras 2's {"class_name", "config"}.
_legacy = False


@contextlib.contextmanager
def legacy_format():
    """Layer entries serialized inside (nested models included) take the legacy HDF5 form."""
    global _legacy
    outer, _legacy = _legacy, True
    try:
        yield
    finally:
        _legacy = outer


def _layer_config(layer):
    config = layer.get_config()
    activation = getattr(layer, "activation", None)
    if "activation" in config and callable(activation) and activations.native_config(activation) is None:
        config["activation"] = serialize_function(activation)
    return config


def serialize_layer(layer):
    """A layer's (or nested model's) entry as Keras 3 writes it; inside `legacy_format()` the
    HDF5 file's {class_name, config}."""
    entry = {"class_name": keras_class_name(layer), "config": _layer_config(layer)}
    if _legacy:
        return entry
    builtin = object_registry.builtin_entry(type(layer))
    if builtin is not None:
        module, _, registered = builtin
    elif is_builtin(layer):
        module, registered = "keras.layers", None
    else:
        registered = object_registry.get_registered_name(type(layer))
        module = None if ">" in registered else type(layer).__module__
    entry = {"module": module, "class_name": entry["class_name"], "config": entry["config"],
             "registered_name": registered}
    build_config = layer.get_build_config()
    if build_config is not None:
        entry["build_config"] = build_config
    return entry


def deserialize_layer(entry, custom_objects=None, source=None):
    """A new layer (or nested model) from its Keras 2 or Keras 3 entry, built from the entry's
    build_config when it has one (as keras/src/saving/serialization_lib.py does)."""
    source = source or loading_source() or "config"
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ConfigError(f"{source}: a layer entry must be a dict with 'class_name' and 'config', got "
                          f"{short_repr(entry)}")
    cls = find_layer_class(entry["class_name"], entry.get("registered_name"), custom_objects, source)
    config = entry.get("config")
    model = is_model_class(cls)
    if not isinstance(config, dict) and not (model and isinstance(config, list)):
        raise ConfigError(f"{source}: the config of layer class {entry['class_name']!r} must be a dict, got "
                          f"{short_repr(config)}")
    if isinstance(config, dict):
        config = resolve_nested(config, custom_objects, source)
    with loading_scope(source, custom_objects):
        if model:  # a model's from_config reports its own errors, naming the source
            layer = cls.from_config(config)
        else:
            layer = _layer_from_config(cls, config, entry["class_name"], source)
    build_config = entry.get("build_config")
    if build_config and not layer.built:
        layer.build_from_config(build_config)
    return layer


def _layer_from_config(cls, config, class_name, source):
    try:
        return cls.from_config(config)
    except ConfigError:
        raise
    except (TypeError, ValueError, KeyError, NotImplementedError) as error:
        name = config.get("name", "?")
        raise ConfigError(f"{source}: cannot create layer {name!r} ({class_name}) from its config: "
                          f"{error}") from error


# --------------------------------------------------------------------------------- models
def serialize_model(model, include_compile=True):
    """The full Keras 3 entry of a model: what config.json of a .keras file and to_json() hold."""
    entry = serialize_layer(model)
    if include_compile:
        entry["compile_config"] = model.get_compile_config()
    return entry


def legacy_model_config(model):
    """The model_config attribute of a legacy HDF5 file: {"class_name", "config"}, layer
    entries without module/registered_name/build_config."""
    with legacy_format():
        return serialize_layer(model)


def model_from_config(config: dict[str, Any], custom_objects: dict[str, Any] | None = None, safe_mode: bool = True,
                      source: str = "config") -> Any:
    """A new model from {"class_name", "config", ...} (Keras 2 or 3 form, a .keras config.json,
    a legacy HDF5 model_config or a to_json() string's content)."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ConfigError(f"{source}: a model config must be a dict with 'class_name' and 'config', got "
                          f"{short_repr(config)}")
    if safe_mode:
        check_safe(config, source)
    with loading_scope(source, custom_objects):
        cls = find_layer_class(config["class_name"], config.get("registered_name"), custom_objects, source)
        # Keras's load_model returns any object saved whole: a layer that saves itself as a
        # .keras file (FeatureSpace.save) says so with `_saved_as_archive`.
        if not is_model_class(cls) and not getattr(cls, "_saved_as_archive", False):
            raise ConfigError(f"{source}: the config describes a {config['class_name']}, not a model")
        return deserialize_layer(config, custom_objects, source)


def model_to_json(model, **kwargs):
    """What Keras 3's to_json() returns: the model's full entry (with compile_config)."""
    return dumps(serialize_model(model), **kwargs)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None,
                    safe_mode: bool = True) -> Any:
    """A new (uncompiled, freshly initialised) model from a to_json() string, Keras 2 or 3."""
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(f"model_from_json: the string is not valid JSON: {error}") from None
    try:
        return model_from_config(config, custom_objects, safe_mode, source="model_from_json")
    except ValueError:
        raise
    except Exception as error:  # a damaged config can fail anywhere in the rebuild: say it is the config
        raise ValueError(f"model_from_json: the config does not describe a model "
                         f"({type(error).__name__}: {error})") from error
