"""Utilities shaped like `keras.utils`."""

from fastdense.utils.data import PyDataset, Sequence
from fastdense.utils.numerical import normalize, to_categorical
from fastdense.utils.plotting import plot_history
from fastdense.utils.progbar import Progbar
from fastdense.utils.rng import set_random_seed
from fastdense.object_registry import (custom_object_scope, get_registered_name, get_registered_object,
                                       register_keras_serializable)

__all__ = [
    "Progbar",
    "custom_object_scope",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "PyDataset",
    "Sequence",
    "normalize",
    "plot_history",
    "set_random_seed",
    "to_categorical",
]
