"""Layers, as in `keras.layers`."""

from fastdense.layers.core import Activation, Dense, Dropout, Flatten, GaussianNoise, Reshape
from fastdense.layers.input_layer import Input, InputLayer, KerasTensor
from fastdense.layers.layer import Layer
from fastdense.layers.merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average,
                                      concatenate, maximum, minimum, multiply, subtract)

__all__ = [
    "Activation", "Add", "Average", "Concatenate", "Dense", "Dropout", "Flatten", "GaussianNoise", "Input",
    "InputLayer", "KerasTensor", "Layer", "Maximum", "Minimum", "Multiply", "Reshape", "Subtract", "add", "average",
    "concatenate", "maximum", "minimum", "multiply", "subtract",
]
