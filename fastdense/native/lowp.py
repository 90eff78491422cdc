"""The engine's reduced-precision kernels (src/engine/lowp/): which path this CPU takes, forcing
one, and the bfloat16 product eager Dense calls run (the same one the native layer runs)."""

import numpy as np

from fastdense import _core


def reduced_precision_info():
    return _core.lowp_info()


def force_path(name):
    _core.lowp_force_path(name or "")


def bfloat16_matmul(x, kernel):
    """x @ kernel with both rounded to bfloat16 and float32 sums (a mixed_bfloat16 Dense's product)."""
    return _core.gemm_bf16(np.ascontiguousarray(x, np.float32), np.ascontiguousarray(kernel, np.float32))
