"""Saving and loading models, as `keras.saving`: the `.keras` archive, legacy `.h5` files,
`.weights.h5` weights, JSON configs, and the registry of user-defined objects."""

from fastdense.saving.api import load_model, load_weights, save_model, save_weights
from fastdense.saving.serialization_lib import model_from_config, model_from_json, serialize_model
from fastdense.object_registry import (CustomObjectScope, custom_object_scope, get_registered_name,
                                       get_registered_object, register_keras_serializable)

__all__ = [
    "CustomObjectScope", "custom_object_scope", "get_registered_name", "get_registered_object", "load_model",
    "load_weights", "model_from_config", "model_from_json", "register_keras_serializable", "save_model",
    "save_weights", "serialize_model",
]
