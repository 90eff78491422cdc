"""Keras's small datasets (`keras.datasets`): the same `load_data()` functions, reading the same
files from the same cache (`~/.keras/datasets`, or `$KERAS_HOME/datasets`), downloaded from the
same origins when missing."""

from fastdense.datasets import boston_housing, california_housing, fashion_mnist, imdb, mnist, reuters

__all__ = ["boston_housing", "california_housing", "fashion_mnist", "imdb", "mnist", "reuters"]
