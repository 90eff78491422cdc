"""Global settings shared by every module: float type and epsilon; `clear_session` resets the
automatic object names (fastdense.utils.naming)."""

import numpy as np

from fastdense.utils import naming

_FLOATX = "float32"
_EPSILON = 1e-7


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


def clear_session():
    """Resets automatic names, so the next Dense is 'dense' again (and the next loss, metric,
    optimizer or model gets its first name too, as in Keras)."""
    naming.reset_names()


def reduced_precision():
    """The reduced-precision kernels this CPU runs, as a dict: "bfloat16" is the path of the
    bfloat16 products of mixed_bfloat16 layers ("amx", "avx512bf16" or "emulated": operands rounded
    in float32, float32 product), "int8" that of int8-quantized layers ("amx", "avx512vnni",
    "avxvnni" or "portable"); "bfloat16_paths"/"int8_paths" list every path the CPU has, "isa" the
    instruction-set flags behind them. The environment variable FASTDENSE_LOWP
    (amx|avx512bf16|avx512vnni|avxvnni|emulated) or `set_reduced_precision_path` forces a path."""
    # Imported here: fastdense.native imports losses, which import this module.
    from fastdense.native import lowp

    return lowp.reduced_precision_info()


def set_reduced_precision_path(name):
    """Forces the reduced-precision paths by name as FASTDENSE_LOWP does (None: the best the CPU
    has); a path the CPU lacks gives way to the best one below it."""
    from fastdense.native import lowp  # see reduced_precision()

    lowp.force_path(name)
