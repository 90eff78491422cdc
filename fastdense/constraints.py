"""Weight constraints (Keras 3): projections applied to a weight after each optimizer step.

Built-in constraints run natively inside the training step; `_native_config()` describes them
to the engine. A user's callable constraint makes the model fall back to Python for it.
"""

import numpy as np

from fastdense import backend
from fastdense.object_registry import lookup, serialize_function


class Constraint:
    """Base class: `__call__(w)` returns the projected weight."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _native_config(self):
        return None


def _rescale_to_norm(w, axis, desired_of_norm):
    w = np.asarray(w)
    norms = np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))
    return w * (desired_of_norm(norms) / (backend.epsilon() + norms))


class MaxNorm(Constraint):
    """Caps the L2 norm of each slice along `axis` (per unit of a Dense kernel with axis=0)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        return _rescale_to_norm(w, self.axis, lambda n: np.clip(n, 0, self.max_value))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}

    def _native_config(self):
        return {"name": "max_norm", "max_value": float(self.max_value), "axis": _native_axis(self.axis)}


class NonNeg(Constraint):
    """Zeroes negative weights."""

    def __call__(self, w):
        w = np.asarray(w)
        return w * (w >= 0).astype(w.dtype)

    def _native_config(self):
        return {"name": "non_neg"}


class UnitNorm(Constraint):
    """Scales each slice along `axis` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return _rescale_to_norm(w, self.axis, lambda n: 1.0)

    def get_config(self):
        return {"axis": self.axis}

    def _native_config(self):
        return {"name": "unit_norm", "axis": _native_axis(self.axis)}


class MinMaxNorm(Constraint):
    """Keeps each slice's norm in [min_value, max_value], moving it there at `rate`."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        def desired(norms):
            return self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms

        return _rescale_to_norm(w, self.axis, desired)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}

    def _native_config(self):
        return {"name": "min_max_norm", "min_value": float(self.min_value), "max_value": float(self.max_value),
                "rate": float(self.rate), "axis": _native_axis(self.axis)}


def _native_axis(axis):
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            return None
        axis = axis[0]
    return int(axis)


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_BY_NAME = {
    "MaxNorm": MaxNorm, "max_norm": MaxNorm, "NonNeg": NonNeg, "non_neg": NonNeg,
    "UnitNorm": UnitNorm, "unit_norm": UnitNorm, "MinMaxNorm": MinMaxNorm, "min_max_norm": MinMaxNorm,
}


def serialize(constraint):
    if constraint is None:
        return None
    if not hasattr(constraint, "get_config"):  # a user's function: by (registered) name, as Keras writes it
        return serialize_function(constraint)
    return {"module": "keras.constraints", "class_name": type(constraint).__name__,
            "config": constraint.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    return lookup("constraint", config, _BY_NAME, custom_objects, instantiate=True)


def get(identifier):
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
