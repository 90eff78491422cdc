"""Keras's preprocessing layers (keras/src/layers/preprocessing/), computing on NumPy arrays."""

from fastdense.layers.preprocessing.category_encoding import CategoryEncoding
from fastdense.layers.preprocessing.discretization import Discretization
from fastdense.layers.preprocessing.hashed_crossing import HashedCrossing
from fastdense.layers.preprocessing.hashing import Hashing
from fastdense.layers.preprocessing.integer_lookup import IntegerLookup
from fastdense.layers.preprocessing.normalization import Normalization
from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer
from fastdense.layers.preprocessing.rescaling import Rescaling
from fastdense.layers.preprocessing.string_lookup import StringLookup

__all__ = ["CategoryEncoding", "Discretization", "HashedCrossing", "Hashing", "IntegerLookup", "Normalization",
           "PreprocessingLayer", "Rescaling", "StringLookup"]
