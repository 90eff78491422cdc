"""fastdense: Keras-compatible dense neural networks on a native (Eigen + OpenMP) engine.

Replace `from tensorflow.keras import layers, models, optimizers, losses, metrics` with
`from fastdense import layers, models, optimizers, losses, metrics` (or `import fastdense as keras`).
"""

import os

# How engine threads wait between two parallel regions of a step (read once, when the native
# module loads the OpenMP runtime; a value the user chose for either variable is kept). Spinning
# without end (OMP_WAIT_POLICY=ACTIVE) collapses when another process holds a core: a 2-core
# machine under load trained 5x slower than with one thread. Sleeping at once (PASSIVE) costs a
# wake-up per region, which dominated the 784-256-256-10 step on an idle 2-core Xeon VM: 95k
# samples/s, against 158-165k with a ~30 µs spin first (GOMP_SPINCOUNT=3000; libgomp spins about
# 100 per µs). With one core held by a busy process the short spin costs 30% (100k → 70-74k), where
# PyTorch, whose libgomp spins ~3 ms by default, fell 9x (50k → 5.6k) (bench/run.py --only mnist,
# 2026-12-05). GOMP_SPINCOUNT=0 restores sleeping at once; OMP_WAIT_POLICY=ACTIVE spins without end.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # with the count below: spin briefly, then sleep
    os.environ["GOMP_SPINCOUNT"] = "3000"


def _load_openblas():
    """Loads the scipy-openblas32 library _core was linked against, wherever pip put it."""
    import ctypes

    # OpenBLAS starts its own thread pool when it loads (importing scipy_openblas32 loads it), sized
    # from OPENBLAS_NUM_THREADS. fastdense runs every product single-threaded inside OpenMP's pool,
    # so this copy loads with one thread and starts no pool; the variable is restored right after,
    # so the user's value still reaches NumPy's own OpenBLAS.
    before = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import scipy_openblas32

        ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(fullname=True)),
                    mode=ctypes.RTLD_GLOBAL)
    except ImportError:  # a build without it uses Eigen's product
        return
    finally:
        if before is None:
            del os.environ["OPENBLAS_NUM_THREADS"]
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = before


_load_openblas()

from fastdense._isa import load_core  # noqa: E402

# A portable wheel holds one build of _core per x86-64 level; the best this CPU runs becomes
# fastdense._core for every module below (fastdense/_isa.py).
core_isa = load_core()
from fastdense import _core  # noqa: E402
from fastdense import (activations, autodiff, backend, callbacks, constraints, datasets, dtype_policies,  # noqa: E402
                       initializers, layers, losses, metrics, mixed_precision, models, ops, optimizers, random,
                       regularizers, saving, utils)
from fastdense.layers import Input  # noqa: E402
from fastdense.models import Model, Sequential, load_model, model_from_json  # noqa: E402

__version__ = "0.1.0"

set_num_threads = _core.set_num_threads
get_num_threads = _core.get_num_threads

__all__ = [
    "Input", "Model", "Sequential", "activations", "autodiff", "backend", "callbacks", "constraints", "datasets",
    "dtype_policies", "initializers", "layers", "load_model", "losses", "metrics", "mixed_precision",
    "model_from_json", "models", "ops", "optimizers", "regularizers", "saving", "utils", "set_num_threads",
    "get_num_threads",
]
