"""Lambda: wraps a function as a layer, as keras/src/layers/core/lambda_layer.py.

The function receives NumPy arrays (traced ones while training, so its gradient comes from
fastdense.autodiff) and runs as a Python node inside a model. Its config holds the function as
Keras writes it: a named function by name, a Python lambda as marshalled bytecode, which is only
read back with safe_mode=False (the load refuses it before anything is built, see
fastdense/saving/serialization_lib.py; a direct Lambda.from_config refuses it too).
"""

import inspect

import numpy as np

from fastdense import object_registry
from fastdense.layers.layer import Layer
from fastdense.object_registry import LAMBDA_FUNCTION, register_builtin, serialize_function
from fastdense.saving import serialization_lib

_UNSAFE_MESSAGE = (
    "Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda. This carries a "
    "potential risk of arbitrary code execution and thus it is disallowed by default. If you trust the source of "
    "the artifact, you can override this error by passing `safe_mode=False` to the loading function."
)


def _argument_names(function):
    try:
        return inspect.getfullargspec(function).args
    except TypeError:
        return []


@register_builtin("layers", "keras.layers")
class Lambda(Layer):
    """Wraps `function(inputs, **arguments)` as a layer.

    Args:
        function: the function; takes the input array (or list of arrays) first. If it takes
            `training` or `mask` arguments they are passed too.
        output_shape: the output shape without the batch axis (a tuple), or a function of the
            full input shape; None infers it by calling the function on zeros.
        mask: None, a function `mask(inputs, mask)` or a fixed mask (kept for the config:
            fastdense models carry no masks).
        arguments: a dict of keyword arguments passed to the function.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: function must be callable, got {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        names = _argument_names(function)
        self._fn_expects_training_arg = "training" in names
        self._fn_expects_mask_arg = "mask" in names

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            try:
                return super().compute_output_shape(input_shape)
            except Exception:
                raise NotImplementedError("We could not automatically infer the shape of the Lambda's output. "
                                          "Please specify the `output_shape` argument for this Lambda layer.") from None
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        batch = input_shape[0][0] if input_shape and isinstance(input_shape[0], (list, tuple)) else input_shape[0]
        return (batch,) + tuple(self._output_shape)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        config = super().get_config()
        config["function"] = serialize_function(self.function)
        if self._output_shape is not None:
            config["output_shape"] = (serialize_function(self._output_shape) if callable(self._output_shape)
                                      else list(self._output_shape))
        if self.mask is not None:
            config["mask"] = serialize_function(self.mask) if callable(self.mask) else np.asarray(self.mask).tolist()
        config["arguments"] = dict(self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        # Inside a load the loader has already decided (and refused lambdas under safe_mode=True);
        # a direct call is safe unless told otherwise, as Keras's from_config outside a SafeModeScope.
        in_load = serialization_lib.loading_source() is not None
        allow_code = safe_mode is False or (safe_mode is None and in_load)
        source = serialization_lib.loading_source() or "Lambda.from_config"
        config = dict(config)
        for key in ("function", "output_shape", "mask"):
            if key in config:
                config[key] = _read_function(config, key, allow_code, custom_objects, source)
        for key in ("function_type", "module", "output_shape_type", "output_shape_module"):  # Keras 2 entries
            config.pop(key, None)
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        return cls(**config)


def _read_function(config, key, allow_code, custom_objects, source):
    value = config[key]
    if callable(value) or value is None:
        return value
    keras2_type = config.get("function_type" if key == "function" else f"{key}_type")
    if isinstance(value, dict) and value.get("class_name") == LAMBDA_FUNCTION:
        if not allow_code:
            raise ValueError(_UNSAFE_MESSAGE)
        return serialization_lib.load_lambda(value, source)
    if keras2_type == "lambda" and isinstance(value, (list, tuple)):  # tf.keras's [code, defaults, closure]
        if not allow_code:
            raise ValueError(_UNSAFE_MESSAGE)
        code, defaults, closure = (list(value) + [None, None])[:3]
        return serialization_lib.load_lambda({"config": {"code": code, "defaults": defaults, "closure": closure}},
                                             source)
    name = None
    if isinstance(value, dict) and value.get("class_name") == "function":
        name = value.get("config")
    elif isinstance(value, str) and (key == "function" or keras2_type == "function"):
        name = value
    if name is not None:
        found = object_registry.get_registered_object(name, custom_objects)
        if found is None and isinstance(value, dict):
            found = object_registry.get_registered_object(value.get("registered_name"), custom_objects)
        if found is None:
            raise ValueError(f"{source}: the {key} of a Lambda layer is the function {name!r}, which is not known; "
                             "pass it with custom_objects={...} or register it with "
                             "@fastdense.saving.register_keras_serializable()")
        return found
    return value
