"""Utilities shaped like `keras.utils`."""

from fastdense.utils.data import PyDataset, Sequence
from fastdense.utils.numerical import normalize, to_categorical
from fastdense.utils.plotting import plot_history
from fastdense.utils.progbar import Progbar
from fastdense.utils.rng import set_random_seed

__all__ = [
    "Progbar",
    "PyDataset",
    "Sequence",
    "normalize",
    "plot_history",
    "set_random_seed",
    "to_categorical",
]
