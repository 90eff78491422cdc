"""Models, as in `keras.models`."""

from fastdense.models.cloning import clone_model
from fastdense.models.model import Model
from fastdense.models.sequential import Sequential
from fastdense.saving import load_model, model_from_json, save_model

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
