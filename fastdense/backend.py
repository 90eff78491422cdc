"""Global settings shared by every module: float type, epsilon and automatic layer names."""

import collections
import re

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_name_counts = collections.defaultdict(int)


def floatx():
    """The default float type of weights and computations ('float32', like Keras)."""
    return _FLOATX


def set_floatx(value):
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"floatx must be 'float32' or 'float64', got {value!r}")
    _FLOATX = value


def epsilon():
    return _EPSILON


def standardize_dtype(dtype):
    """'float32' or 'float64' from any dtype spelling; None means floatx()."""
    if dtype is None:
        return floatx()
    if isinstance(dtype, dict):  # a Keras 3 DTypePolicy config
        dtype = dtype.get("config", {}).get("name", floatx())
    if hasattr(dtype, "name") and not isinstance(dtype, (str, np.dtype)):
        dtype = dtype.name
    name = np.dtype(dtype).name if not str(dtype).startswith("mixed") else str(dtype)
    if name not in ("float32", "float64"):
        raise ValueError(f"fastdense computes in float32 or float64, got dtype {dtype!r}")
    return name


def snake_case(name):
    """Keras's class-name-to-layer-name rule: 'BatchNormalization' -> 'batch_normalization'."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def unique_name(base):
    """'dense', 'dense_1', 'dense_2', ... as Keras names layers and models."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def clear_session():
    """Resets automatic names, so the next Dense is 'dense' again."""
    _name_counts.clear()
