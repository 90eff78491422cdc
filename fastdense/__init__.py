"""fastdense: Keras-compatible dense neural networks on a native (Eigen + OpenMP) engine."""

from fastdense import _core

__version__ = "0.1.0"

set_num_threads = _core.set_num_threads
get_num_threads = _core.get_num_threads

from fastdense import initializers, optimizers, random, regularizers  # noqa: E402,F401
