"""Weight and activity regularizers shaped like `keras.regularizers` (Keras 3).

A regularizer maps a weight array to a penalty added to the loss. L1/L2/L1L2 run natively
inside the network (`_native_config()` gives their factors); `gradient(x)` gives d(penalty)/dx
in NumPy for the ones that are computed in Python (OrthogonalRegularizer).
"""

import inspect
import math
import numbers

import numpy as np

from fastdense.object_registry import serialize_function, serialize_object, split_serialized, unknown_name_error
from fastdense.utils.naming import to_snake_case


def _factor(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. Received: {name}={value!r}")
    return float(value)


def _float32(value):
    # Keras 3 keeps L1's and OrthogonalRegularizer's factor in a float32 tensor: their configs
    # read back 0.01 as 0.009999999776482582.
    return float(np.float32(value))


def _sign(x):
    return np.sign(x)  # sign(0) = 0, as TensorFlow's gradient of |x|


class Regularizer:
    """Base class: a callable returning the penalty (a float) of an array."""

    def __call__(self, x):
        return 0.0

    def gradient(self, x):
        """d(penalty)/dx as an array shaped like x, or None when not available."""
        return None

    def _native_config(self):
        """{"l1": ..., "l2": ...} when the native engine can apply this regularizer, else None."""
        return None

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class _Penalty(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2): what L1, L2 and L1L2 compute (and the engine runs natively).
    Sums are accumulated in float64, as in the engine."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, x):
        x = np.asarray(x)
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.sum(np.abs(x), dtype=np.float64))
        if self.l2:
            penalty += self.l2 * float(np.sum(np.square(x, dtype=np.float64)))
        return penalty

    def gradient(self, x):
        x = np.asarray(x)
        return (self.l1 * _sign(x) + 2.0 * self.l2 * x).astype(x.dtype, copy=False)

    def _native_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1L2(_Penalty):
    """l1 * sum(|x|) + l2 * sum(x^2). Both factors default to 0 (as in Keras 3)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor("l1", l1)
        self.l2 = _factor("l2", l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(_Penalty):
    """l1 * sum(|x|)."""

    def __init__(self, l1=0.01):
        self.l1 = _float32(_factor("l1", 0.01 if l1 is None else l1))

    def get_config(self):
        return {"l1": self.l1}


class L2(_Penalty):
    """l2 * sum(x^2)."""

    def __init__(self, l2=0.01):
        self.l2 = _factor("l2", 0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """factor * mean |cos| over distinct pairs of rows (mode="rows") or columns of a 2-D array:
    factor * 0.5 * sum_{i != j} |u_i . u_j| / (n(n-1)/2), u_i the L2-normalized rows."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _float32(_factor("factor", factor))
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. Received: mode={mode}')
        self.mode = mode

    def _vectors(self, x):
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={x.shape}")
        return x.astype(np.float64) if self.mode == "rows" else x.T.astype(np.float64)

    @staticmethod
    def _normalized(v):
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return v / norms, norms

    def _scale(self, n):
        return self.factor * 0.5 / (n * (n - 1) / 2.0)

    def __call__(self, x):
        v = self._vectors(x)
        u, _ = self._normalized(v)
        products = u @ u.T
        np.fill_diagonal(products, 0.0)
        return float(self._scale(len(u)) * np.sum(np.abs(products)))

    def gradient(self, x):
        v = self._vectors(x)
        u, norms = self._normalized(v)
        signs = np.sign(u @ u.T)
        np.fill_diagonal(signs, 0.0)
        # d/du of sum|u_i.u_j| is 2*S@u (S symmetric); through u = v/|v|: (g - u (u.g)) / |v|.
        du = self._scale(len(u)) * 2.0 * (signs @ u)
        dv = (du - u * np.sum(u * du, axis=1, keepdims=True)) / norms
        dv = dv if self.mode == "rows" else dv.T
        return dv.astype(np.asarray(x).dtype, copy=False)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Function-style aliases: Keras 3 exports the classes under these names too, so
# `l1_l2(l1=0.01, l2=0.01)` (the Keras 2 function call) builds the same object.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({to_snake_case(cls.__name__): cls for cls in _CLASSES})


def _native_config_of(regularizer):
    """The engine's {"l1", "l2"} for any regularizer-like object: None when there is none
    (no regularizer) or when it must be computed in Python (a user callable, OrthogonalRegularizer)."""
    if regularizer is None:
        return None
    native = getattr(regularizer, "_native_config", None)
    return native() if callable(native) else None


def serialize(regularizer):
    if regularizer is None:
        return None
    if not hasattr(regularizer, "get_config"):  # a user's function: by (registered) name, as Keras writes it
        return serialize_function(regularizer)
    return serialize_object(regularizer, "keras.regularizers")


def deserialize(config, custom_objects=None):
    class_name, inner = split_serialized(config, "regularizer")
    known = dict(_BY_NAME)
    known.update(custom_objects or {})
    if class_name not in known:
        raise unknown_name_error("regularizer", class_name, known)
    return known[class_name].from_config(inner)


def get(identifier):
    """A regularizer from None, a name ('l1', 'L2', 'l1l2', 'L1L2', Keras 2's 'l1_l2'), a serialized
    dict, a class, or a callable (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier == "l1_l2":  # Keras 2's string: both factors at 0.01 (Keras 3 rejects it)
            return L1L2(l1=0.01, l2=0.01)
        if identifier not in _BY_NAME:
            raise unknown_name_error("regularizer", identifier, list(_BY_NAME) + ["l1_l2"])
        return _BY_NAME[identifier]()
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
