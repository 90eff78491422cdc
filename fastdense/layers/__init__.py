"""Layers, as in `keras.layers`."""

from fastdense.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from fastdense.layers.core import Activation, Dense, Dropout, Flatten, GaussianNoise, Reshape
from fastdense.layers.embedding import Embedding
from fastdense.layers.identity import Identity
from fastdense.layers.input_layer import Input, InputLayer, KerasTensor
from fastdense.layers.lambda_layer import Lambda
from fastdense.layers.layer import Layer
from fastdense.layers.merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average,
                                      concatenate, maximum, minimum, multiply, subtract)
from fastdense.layers.normalization import BatchNormalization, LayerNormalization
from fastdense.layers.preprocessing import (CategoryEncoding, Discretization, HashedCrossing, Hashing, IntegerLookup,
                                            Normalization, Rescaling, StringLookup)
from fastdense.layers.regularization import ActivityRegularization, AlphaDropout, GaussianDropout
from fastdense.layers.reshaping import Permute, RepeatVector
from fastdense.layers.unit_normalization import UnitNormalization

__all__ = [
    "Activation", "Add", "Average", "BatchNormalization", "Concatenate", "Dense", "Dropout", "ELU", "Flatten",
    "GaussianNoise", "Input", "InputLayer", "KerasTensor", "Layer", "LayerNormalization", "LeakyReLU", "Maximum",
    "Minimum", "Multiply", "PReLU", "ReLU", "Reshape", "Softmax", "Subtract", "add", "average", "concatenate",
    "maximum", "minimum", "multiply", "subtract",
    "CategoryEncoding", "Discretization", "HashedCrossing", "Hashing", "IntegerLookup", "Normalization", "Rescaling",
    "StringLookup",
    "Embedding", "Permute", "RepeatVector",
    "ActivityRegularization", "AlphaDropout", "GaussianDropout", "Identity", "Lambda", "UnitNormalization",
]
