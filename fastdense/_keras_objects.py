"""Naming and (de)serialization helpers shared by the Keras-shaped object families.

Keras 3 serializes an object as ``{"module", "class_name", "config", "registered_name"}`` and
Keras 2 as ``{"class_name", "config"}``; both are read here. Default object names follow
Keras 3.15: snake_case of the class name, made unique with a process-wide counter.
"""

import collections
import difflib
import re

_name_counts = collections.defaultdict(int)


def to_snake_case(name):
    """'RMSprop' -> 'rm_sprop', 'AdamW' -> 'adam_w', 'GlorotUniform' -> 'glorot_uniform' (as Keras)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def uniquify(name):
    """The first use of a name returns it as is, later ones get _1, _2, ..."""
    count = _name_counts[name]
    _name_counts[name] += 1
    return name if count == 0 else f"{name}_{count}"


def auto_name(class_name):
    return uniquify(to_snake_case(class_name))


def reset_names():
    """Forgets the names handed out so far (like keras.backend.clear_session)."""
    _name_counts.clear()


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
