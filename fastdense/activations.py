"""Activation functions, shaped like ``keras.activations`` (Keras 3).

Every function takes an array-like of any shape and any real dtype and returns a new numpy array:
float64 input is computed in float64, everything else (float32, float16, ints, bools) in float32.
Elementwise functions see the input as one flat row; ``softmax``/``log_softmax`` move ``axis`` (an
int, a tuple of ints, or None for all axes) last and normalise each row of that 2-D view. The
arithmetic runs in the native engine (``_core.activation_forward``). Inside traced code
(``fastdense.autodiff``) they take and return traced arrays, differentiated by the engine's
``_core.activation_backward``.

Native configs
--------------
Each built-in function carries ``fn._fastdense_config``: a read-only mapping such as
``{"name": "relu"}``, the dict ``_core`` needs to run that function with its default arguments.
Layers read it through :func:`native_config` (``None`` for a user callable, which then runs in
Python) and never have to call the function to find out what it is. Aliases are the same function
objects (``swish is silu``, ``hard_swish is hard_silu``), so they share one config and serialize
under the Keras 3 name.

``get`` / ``serialize`` / ``deserialize`` follow Keras 3: ``get(None)`` is ``linear``; strings are
looked up exactly (aliases included); dicts ``{"class_name": "function", "config": "relu"}`` or
``{"class_name": "relu"}`` are deserialized; callables are returned as they are.
"""

from __future__ import annotations

import difflib
import types
from typing import Any, Callable

import numpy as np

from fastdense import _core, autodiff

__all__ = [
    "linear", "relu", "sigmoid", "softmax", "log_softmax", "tanh", "elu", "selu", "softplus",
    "softsign", "silu", "swish", "gelu", "exponential", "hard_sigmoid", "hard_silu", "hard_swish",
    "leaky_relu", "relu6", "mish", "celu", "hard_tanh", "log_sigmoid", "soft_shrink", "hard_shrink",
    "tanh_shrink", "squareplus", "sparse_plus", "sparse_sigmoid", "threshold", "get", "serialize", "deserialize",
    "native_config",
]

# Keras name -> function, filled by @_builtin; the aliases are added after the definitions.
_BUILTINS = {}


def _builtin(fn):
    """Registers fn under its __name__ and attaches its default native config."""
    fn._fastdense_config = types.MappingProxyType({"name": fn.__name__})
    _BUILTINS[fn.__name__] = fn
    return fn


def _as_float_array(x):
    """x as a C-contiguous float64 (if it is float64) or float32 array, copied only if needed.

    Python floats and lists of them are float32, like Keras's floatx; arrays keep float64.
    """
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"activations take real numbers, got an array of dtype {a.dtype}")
    keeps_float64 = a.dtype == np.float64 and not isinstance(x, (float, list, tuple))
    dtype = np.float64 if keeps_float64 else np.float32
    return np.asarray(a, dtype=dtype, order="C")


def _elementwise(x, config):
    if autodiff.is_traced(x):  # inside a traced custom component: native forward, native derivative
        return autodiff.native.activation(x, config=config)
    a = _as_float_array(x)
    return _core.activation_forward(config, a.reshape(1, a.size)).reshape(a.shape)


def _normalised_axes(axis, ndim):
    if axis is None:
        axes = tuple(range(ndim))
    elif isinstance(axis, (int, np.integer)):
        axes = (axis,)
    else:
        axes = tuple(axis)
    normalised = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise ValueError(f"axis {ax} is out of bounds for an array of dimension {ndim}")
        normalised.append(int(ax) % ndim)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(normalised)


def _along_axis(x, config, axis):
    """Applies a row-wise activation along axis: those axes go last, the rest become rows."""
    if autodiff.is_traced(x):
        return autodiff.native.activation(x, config=config, axes=_normalised_axes(axis, np.ndim(x)))
    a = _as_float_array(x)
    axes = _normalised_axes(axis, a.ndim)
    if not axes:
        raise ValueError(f"{config['name']} needs at least one axis; got an array of shape {a.shape}")
    last = tuple(range(a.ndim - len(axes), a.ndim))
    moved = np.moveaxis(a, axes, last)
    width = int(np.prod(moved.shape[a.ndim - len(axes):]))
    rows = np.ascontiguousarray(moved).reshape(moved.size // width if width else 0, width)
    out = _core.activation_forward(config, rows).reshape(moved.shape)
    return np.ascontiguousarray(np.moveaxis(out, last, axes))


@_builtin
def linear(x):
    """Identity: returns x (as a float array)."""
    return _elementwise(x, {"name": "linear"})


@_builtin
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0, alpha=None):
    """Keras's general ReLU: ``clip(x if x > threshold else 0, 0, max_value)
    - negative_slope * max(threshold - x, 0)``; the clip applies only when max_value is given.

    ``alpha`` is the Keras 2 spelling of ``negative_slope``.
    """
    if alpha is not None:
        if negative_slope not in (0.0, alpha):
            raise ValueError(f"relu: alpha ({alpha}) and negative_slope ({negative_slope}) are the same "
                             "argument; pass only one")
        negative_slope = alpha
    return _elementwise(x, {"name": "relu", "alpha": negative_slope, "max_value": max_value,
                            "threshold": threshold})


@_builtin
def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    return _elementwise(x, {"name": "sigmoid"})


@_builtin
def softmax(x, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` along axis (an int, a tuple, or None for all axes)."""
    return _along_axis(x, {"name": "softmax"}, axis)


@_builtin
def log_softmax(x, axis=-1):
    """``x - max - log(sum(exp(x - max)))`` along axis."""
    return _along_axis(x, {"name": "log_softmax"}, axis)


@_builtin
def tanh(x):
    """Hyperbolic tangent."""
    return _elementwise(x, {"name": "tanh"})


@_builtin
def elu(x, alpha=1.0):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    return _elementwise(x, {"name": "elu", "alpha": alpha})


@_builtin
def selu(x):
    """``scale * elu(x, alpha)`` with alpha = 1.67326324..., scale = 1.05070098..."""
    return _elementwise(x, {"name": "selu"})


@_builtin
def softplus(x):
    """``log(1 + exp(x))``, computed without overflow."""
    return _elementwise(x, {"name": "softplus"})


@_builtin
def softsign(x):
    """``x / (1 + |x|)``."""
    return _elementwise(x, {"name": "softsign"})


@_builtin
def silu(x):
    """``x * sigmoid(x)``, also called swish."""
    return _elementwise(x, {"name": "silu"})


@_builtin
def gelu(x, approximate=False):
    """``0.5 x (1 + erf(x / sqrt(2)))``; with approximate=True the tanh form
    ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``."""
    return _elementwise(x, {"name": "gelu", "approximate": bool(approximate)})


@_builtin
def exponential(x):
    """``exp(x)``."""
    return _elementwise(x, {"name": "exponential"})


@_builtin
def hard_sigmoid(x):
    """``relu6(x + 3) / 6`` (Keras 3; Keras 2 used ``clip(0.2 x + 0.5, 0, 1)``)."""
    return _elementwise(x, {"name": "hard_sigmoid"})


@_builtin
def hard_silu(x):
    """``x * hard_sigmoid(x)``, also called hard swish."""
    return _elementwise(x, {"name": "hard_silu"})


@_builtin
def leaky_relu(x, negative_slope=0.2):
    """``x`` for x > 0, ``negative_slope * x`` otherwise."""
    return _elementwise(x, {"name": "leaky_relu", "alpha": negative_slope})


@_builtin
def relu6(x):
    """``min(max(x, 0), 6)``."""
    return _elementwise(x, {"name": "relu6"})


@_builtin
def mish(x):
    """``x * tanh(softplus(x))``."""
    return _elementwise(x, {"name": "mish"})


# Added in Keras 3.7-3.9 (Keras's TensorFlow backend formulas and gradients).
@_builtin
def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)``."""
    return _elementwise(x, {"name": "celu", "alpha": alpha})


@_builtin
def hard_tanh(x):
    """``clip(x, -1, 1)``."""
    return _elementwise(x, {"name": "hard_tanh"})


@_builtin
def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, computed without overflow."""
    return _elementwise(x, {"name": "log_sigmoid"})


@_builtin
def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above threshold, ``x + threshold`` below -threshold, 0 between."""
    return _elementwise(x, {"name": "soft_shrink", "threshold": threshold})


@_builtin
def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, 0 elsewhere."""
    return _elementwise(x, {"name": "hard_shrink", "threshold": threshold})


@_builtin
def tanh_shrink(x):
    """``x - tanh(x)``."""
    return _elementwise(x, {"name": "tanh_shrink"})


@_builtin
def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2``, a smooth relu."""
    return _elementwise(x, {"name": "squareplus", "b": b})


@_builtin
def sparse_plus(x):
    """0 for x <= -1, ``(x + 1)^2 / 4`` for -1 < x < 1, x from 1 on."""
    return _elementwise(x, {"name": "sparse_plus"})


@_builtin
def sparse_sigmoid(x):
    """0 for x <= -1, ``(x + 1) / 2`` for -1 < x < 1, 1 from 1 on."""
    return _elementwise(x, {"name": "sparse_sigmoid"})


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, ``default_value`` elsewhere. Both arguments are required, as
    in Keras, so by name (``activation="threshold"``) it fails when called, as Keras's does; it
    is meant for custom code, where it runs natively like the others."""
    return _elementwise(x, {"name": "threshold", "threshold": threshold, "default_value": default_value})


swish = silu
hard_swish = hard_silu

# Every name get() accepts: the Keras 3 names plus its two aliases.
_BY_NAME = {**_BUILTINS, "swish": silu, "hard_swish": hard_silu, "threshold": threshold}


def native_config(fn):
    """The native config dict for a built-in activation (a fresh copy), or None for any other callable."""
    config = getattr(fn, "_fastdense_config", None)
    return dict(config) if config is not None else None


def _unknown_name(name):
    close = difflib.get_close_matches(name, _BY_NAME, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"Unknown activation function '{name}'.{hint} "
                      f"Known names: {', '.join(sorted(_BY_NAME))}.")


def get(identifier: str | dict[str, Any] | Callable[..., Any] | None) -> Callable[..., Any]:
    """Resolves None, a name, a config dict or a callable to an activation function."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise _unknown_name(identifier)
        return _BY_NAME[identifier]
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation):
    """The name Keras 3 saves for an activation: the built-in's name ("silu" for swish), or a user
    callable's __name__."""
    config = getattr(activation, "_fastdense_config", None)
    if config is not None:
        return config["name"]
    name = getattr(activation, "__name__", None)
    if not callable(activation) or name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: it is not a named function")
    return name


def deserialize(config, custom_objects=None):
    """The activation for a name or a config dict; custom_objects ({name: fn}) is searched first.

    Dicts take the Keras 3 forms ``{"class_name": "function", "config": "relu", ...}`` and
    ``{"class_name": "relu", "config": None}``.
    """
    custom_objects = custom_objects or {}
    if isinstance(config, dict):
        if "class_name" not in config:
            raise ValueError(f"Activation config dict needs a 'class_name' key, got {config!r}")
        class_name, inner = config["class_name"], config.get("config")
        if class_name == "function":
            name = inner
        elif inner in (None, {}):
            name = class_name
        else:
            raise ValueError(f"Activation functions take no config, got {config!r}")
    else:
        name = config
    if not isinstance(name, str):
        raise ValueError(f"Could not interpret activation function identifier: {config!r}")
    if name in custom_objects:
        return custom_objects[name]
    if name not in _BY_NAME:
        raise _unknown_name(name)
    return _BY_NAME[name]
