"""Models, as in `keras.models`."""

from fastdense.models.model import Model
from fastdense.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
