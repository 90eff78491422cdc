"""fastdense: Keras-compatible dense neural networks on a native (Eigen + OpenMP) engine.

Replace `from tensorflow.keras import layers, models, optimizers, losses, metrics` with
`from fastdense import layers, models, optimizers, losses, metrics` (or `import fastdense as keras`).
"""

from fastdense import _core
from fastdense import (activations, autodiff, backend, callbacks, constraints, initializers, layers, losses, metrics,
                       models, ops, optimizers, random, regularizers, saving, utils)
from fastdense.layers import Input
from fastdense.models import Model, Sequential, load_model, model_from_json

__version__ = "0.1.0"

set_num_threads = _core.set_num_threads
get_num_threads = _core.get_num_threads

__all__ = [
    "Input", "Model", "Sequential", "activations", "autodiff", "backend", "callbacks", "constraints", "initializers",
    "layers", "load_model", "losses", "metrics", "model_from_json", "models", "ops", "optimizers", "regularizers",
    "saving", "utils", "set_num_threads", "get_num_threads",
]
