"""Optimizers shaped like `keras.optimizers` (Keras 3), running on the native engine."""

from __future__ import annotations

from typing import Any

from fastdense.object_registry import serialize_object, split_serialized, unknown_name_error
from fastdense.optimizers import schedules
from fastdense.optimizers.adadelta import Adadelta
from fastdense.optimizers.adagrad import Adagrad
from fastdense.optimizers.adam import Adam
from fastdense.optimizers.adamax import Adamax
from fastdense.optimizers.adamw import AdamW
from fastdense.optimizers.base import Optimizer
from fastdense.optimizers.nadam import Nadam
from fastdense.optimizers.rmsprop import RMSprop
from fastdense.optimizers.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam",
    "schedules", "get", "serialize", "deserialize",
]

_OPTIMIZERS = (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam)
# Keras optimizers fastdense does not implement: named in the error instead of "unknown".
_NOT_IMPLEMENTED = ("Ftrl", "Lion", "Adafactor", "Lamb", "Muon", "LossScaleOptimizer", "ScheduleFreeAdamW")


def _key(name):
    """Identifiers match case-insensitively, with or without underscores ('RMSprop', 'rm_sprop')."""
    return name.lower().replace("_", "")


_BY_KEY = {_key(cls.__name__): cls for cls in _OPTIMIZERS}


def _lookup(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    cls = _BY_KEY.get(_key(name))
    if cls is not None:
        return cls
    missing = {_key(n): n for n in _NOT_IMPLEMENTED}
    if _key(name) in missing:
        raise ValueError(f"The Keras optimizer {missing[_key(name)]!r} is not implemented in fastdense.")
    raise unknown_name_error("optimizer", name, [cls.__name__ for cls in _OPTIMIZERS])


def serialize(optimizer):
    """{"module": "keras.optimizers", "class_name": ..., "config": ..., "registered_name": None}."""
    return serialize_object(optimizer, "keras.optimizers")


def deserialize(config, custom_objects=None):
    """An optimizer from a serialized dict (Keras 3 or Keras 2 style; class names case-insensitive)."""
    class_name, inner = split_serialized(config, "optimizer")
    return _lookup(class_name, custom_objects).from_config(inner)


def get(identifier: str | dict[str, Any] | Optimizer | None) -> Optimizer | None:
    """An optimizer from a name ('adam', 'RMSprop', 'sgd', ...), a serialized dict, or an instance."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
