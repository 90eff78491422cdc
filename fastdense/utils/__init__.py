"""Utilities shaped like `keras.utils`."""

from fastdense.utils.data import PyDataset, Sequence
from fastdense.utils.numerical import normalize, to_categorical
from fastdense.utils.plotting import plot_history
from fastdense.utils.progbar import Progbar
from fastdense.utils.rng import set_random_seed
from fastdense.object_registry import (custom_object_scope, get_registered_name, get_registered_object,
                                       register_keras_serializable)



def __getattr__(name):
    # FeatureSpace is built from fastdense.layers, which imports fastdense.utils (naming): loading
    # it on first use breaks that cycle, as keras/src/utils/__init__.py keeps heavy imports out.
    if name == "FeatureSpace":
        from fastdense.utils.feature_space import FeatureSpace
        return FeatureSpace
    raise AttributeError(f"module 'fastdense.utils' has no attribute {name!r}")


__all__ = [
    "FeatureSpace",
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
