"""Name and config resolution shared by every `get`/`deserialize`, and the registry of
user-defined objects (`register_keras_serializable`, `custom_objects=`)."""

import difflib

_REGISTERED = {}


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a user class or function under 'package>name' and its bare name."""

    def decorator(obj):
        key = name or obj.__name__
        _REGISTERED[f"{package}>{key}"] = obj
        _REGISTERED[key] = obj
        obj._registered_name = f"{package}>{key}"
        return obj

    return decorator


def get_registered_object(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return _REGISTERED.get(name)


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
