"""The one registry of serializable objects, and the lookups every family's get/deserialize share.

- Built-in classes register themselves with `register_builtin` (as Keras's `keras_export`
  records its public classes), so code that reads configs finds them by their Keras name
  without importing the package that defines them (keras/src/saving/serialization_lib.py
  imports no layer or model either).
- User objects: `register_keras_serializable`, `custom_objects=`, `custom_object_scope`;
  `find`/`lookup` resolve a name or config against them and a family's table.
- Configs: Keras 3 serializes an object as ``{"module", "class_name", "config", "registered_name"}``
  and Keras 2 as ``{"class_name", "config"}``; both are read here. A user function is written
  by its registered name, a lambda as marshalled bytecode (`serialize_function`).

This module imports nothing from fastdense, so every module may import it.
"""

import base64
import difflib
import marshal

# The class_name Keras 3 gives a serialized lambda.
LAMBDA_FUNCTION = "__lambda__"

# ------------------------------------------------------------------------ built-ins
# family -> {Keras class name (and aliases) -> class}; class -> (module, class_name, registered_name)
_BUILTINS = {}
_BUILTIN_ENTRIES = {}


def register_builtin(family, module, class_name=None, aliases=(), registered_name=None):
    """Class decorator for fastdense's own classes: configs name the class `class_name`
    (default: its __name__) or one of `aliases` in `family` ('layers' holds layers and models,
    which Keras deserializes alike); it is written with `module` and `registered_name`."""

    def decorator(cls):
        name = class_name or cls.__name__
        table = _BUILTINS.setdefault(family, {})
        for key in (name, *aliases):
            table[key] = cls
        _BUILTIN_ENTRIES[cls] = (module, name, registered_name)
        return cls

    return decorator


def get_builtin(family, class_name):
    """The built-in class of `family` Keras names `class_name`, or None."""
    return _BUILTINS.get(family, {}).get(class_name)


def builtin_entry(cls):
    """(module, class_name, registered_name) Keras writes for a built-in class; None for others."""
    return _BUILTIN_ENTRIES.get(cls)


# --------------------------------------------------------------- registry and lookup
_REGISTERED = {}
# Dicts of user objects made visible by `custom_object_scope`, innermost last.
_SCOPES = []


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a user class or function under 'package>name' (Keras's key) and
    its bare name, so that configs naming it can be loaded without `custom_objects=`."""

    def decorator(obj):
        key = name or obj.__name__
        registered_name = f"{package}>{key}"
        _REGISTERED[registered_name] = obj
        _REGISTERED[key] = obj
        try:
            obj._registered_name = registered_name
        except (AttributeError, TypeError):  # builtins and some callables refuse attributes
            pass
        return obj

    return decorator


def get_registered_name(obj):
    """'package>name' for a registered object, else its __name__ (as Keras)."""
    registered = getattr(obj, "_registered_name", None)
    if registered and _REGISTERED.get(registered) is obj:
        return registered
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name, custom_objects=None):
    """The user object called `name`: from `custom_objects`, the active scopes, then the registry."""
    if not isinstance(name, str):
        return None
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(_SCOPES):
        if name in scope:
            return scope[name]
    return _REGISTERED.get(name)


class custom_object_scope:
    """`with custom_object_scope({"MyLayer": MyLayer}):` makes the objects visible to every
    deserialization inside the block (as `keras.saving.custom_object_scope`)."""

    def __init__(self, *custom_objects):
        self._objects = {}
        for objects in custom_objects:
            self._objects.update(objects or {})

    def __enter__(self):
        _SCOPES.append(self._objects)
        return self

    def __exit__(self, *exc_info):
        _SCOPES.remove(self._objects)
        return False


CustomObjectScope = custom_object_scope


def find(kind, name, table, custom_objects=None):
    """The object called `name`: from custom_objects, the registry, then `table`.

    Raises ValueError naming the unknown string and listing close matches.
    """
    found = get_registered_object(name, custom_objects)
    if found is not None:
        return found
    if name in table:
        return table[name]
    close = difflib.get_close_matches(str(name), [str(k) for k in table], n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"Unknown {kind}: '{name}'.{hint} Pass user-defined objects with custom_objects=.")


def lookup(kind, identifier, table, custom_objects=None, instantiate=False):
    """Resolves a name or a Keras config dict ({'class_name', 'config'}) against `table`.

    With instantiate=True a class found by name is called with no arguments (Keras builds
    'l2' as L2() with defaults).
    """
    if isinstance(identifier, dict):
        class_name = identifier.get("class_name")
        registered = identifier.get("registered_name")
        if registered and get_registered_object(registered, custom_objects) is not None:
            obj = get_registered_object(registered, custom_objects)
        else:
            obj = find(kind, class_name, table, custom_objects)
        config = identifier.get("config") or {}
        if isinstance(obj, type):
            return obj.from_config(config) if hasattr(obj, "from_config") else obj(**config)
        return obj
    obj = find(kind, identifier, table, custom_objects)
    return obj() if instantiate and isinstance(obj, type) else obj


# ---------------------------------------------------------------------------- configs
def serialize_function(fn):
    """How Keras 3 writes a user function: by name, or a lambda as base64 marshalled bytecode
    (read back only with safe_mode=False, by fastdense.saving.serialization_lib.load_lambda)."""
    if getattr(fn, "__name__", None) == "<lambda>":
        code = base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii")
        closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
        return {"class_name": LAMBDA_FUNCTION,
                "config": {"code": code, "defaults": fn.__defaults__, "closure": closure}}
    return {"module": "builtins", "class_name": "function", "config": get_registered_name(fn),
            "registered_name": "function"}


def serialize_object(obj, module):
    if obj is None:  # an absent regularizer/initializer serializes as null, as in Keras
        return None
    return {
        "module": module,
        "class_name": type(obj).__name__,
        "config": obj.get_config(),
        "registered_name": None,
    }


def split_serialized(config, kind):
    """(class_name, inner config) of a serialized object dict, Keras 2 or 3 style."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Could not interpret {kind} config: expected a dict with 'class_name' and 'config', got {config!r}"
        )
    class_name = config["class_name"]
    if not isinstance(class_name, str):
        raise ValueError(f"Could not interpret {kind} config: class_name must be a string, got {class_name!r}")
    # Keras 2.11+ writes its optimizers as "Custom>Adam" in legacy HDF5 files.
    if class_name.startswith("Custom>"):
        class_name = class_name[len("Custom>"):]
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError(f"Could not interpret {kind} config: 'config' must be a dict, got {inner!r}")
    return class_name, dict(inner)


def unknown_name_error(kind, name, known):
    """ValueError for an unknown identifier, suggesting the closest known names."""
    by_lower = {k.lower(): k for k in sorted(known)}
    close = [by_lower[c] for c in difflib.get_close_matches(str(name).lower(), list(by_lower), n=3, cutoff=0.5)]
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"Unknown {kind}: {name!r}.{hint} Known names: {', '.join(sorted(known))}.")
