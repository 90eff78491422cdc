"""Dense, Activation, Dropout, GaussianNoise, Flatten and Reshape."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fastdense import activations, autodiff, constraints, dtype_policies, initializers, regularizers
from fastdense import random as fd_random
from fastdense.layers.layer import Layer
from fastdense.native import lowp, python_nodes
from fastdense.object_registry import register_builtin
# Built-in regularizers and constraints run natively; a user's runs as a Python callback.
from fastdense.native.python_nodes import network_constraint, network_regularizer

_LINEAR = {"name": "linear"}


def python_activation_name(activation, layer):
    """How errors name a user's activation: "activation 'scaled_tanh' of layer 'dense_1'"."""
    name = getattr(activation, "__name__", type(activation).__name__)
    return f"activation {name!r} of layer '{layer.name}'"


def flat_width(shape):
    width = 1
    for d in shape[1:]:
        width *= d
    return width


@register_builtin("layers", "keras.layers")
class Dense(Layer):
    """Densely connected layer: `output = activation(inputs @ kernel + bias)`.

    Args:
        units: dimensionality of the output.
        activation: activation function (name, function or None for linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers of the weights.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to the loss.
        kernel_constraint, bias_constraint: projections applied after each update.

    Input shape: (batch_size, ..., input_dim); the leading axes are rows.
    Output shape: (batch_size, ..., units).
    """

    def __init__(self, units: int, activation: str | Callable[..., Any] | None = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, lora_rank: int | None = None,
                 quantization_config: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        if lora_rank:
            raise ValueError("Dense: LoRA is not supported by fastdense")
        self.quantization_config = _int8_quantization_config(quantization_config, self.quantization_mode)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = self.bias = None

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known, got {input_shape}")
        if self.quantization_mode == "int8":  # a quantized layer read from a config: filled by its weights
            self._int8_build((input_dim, self.units))
        else:
            self.kernel = self.add_weight(name="kernel", shape=(input_dim, self.units),
                                          initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                          constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _check_input_shape(self, input_shape):
        if input_shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected axis -1 of input shape "
                f"to have value {self.kernel.shape[0]}, but received input with shape {tuple(input_shape)}"
            )

    def call(self, inputs):
        if self.quantization_mode == "int8":
            outputs = _int8_matmul(np.asarray(inputs, np.float32), self.kernel.value, self.kernel_scale.value)
        elif self.compute_dtype == "bfloat16" and not autodiff.is_traced(inputs):
            # mixed_bfloat16: the product the native layer runs (bf16 operands, float32 sums).
            outputs = lowp.bfloat16_matmul(inputs, self.kernel.value)
        else:
            # The variables themselves (not their .value): inside a custom layer's trace they are differentiated.
            outputs = np.matmul(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def _lower(self, network, input_ids):
        # On inputs of rank > 2 the leading axes of each sample are rows (Keras's matmul on the last axis).
        input_shape = self._inbound_nodes[0].inputs[0].shape if self._inbound_nodes else self._build_shapes
        rows_per_sample = flat_width(input_shape) // input_shape[-1]
        native_activation = activations.native_config(self.activation)
        if self.quantization_mode == "int8":
            if native_activation is None:
                raise NotImplementedError(f"Dense '{self.name}': an int8 layer runs natively with a built-in activation")
            return network.add_quantized_dense(
                input_ids[0], self.kernel.value, self.kernel_scale.value, self.bias.value if self.use_bias else None,
                native_activation, bias_regularizer=network_regularizer(self.bias_regularizer),
                bias_constraint=network_constraint(self.bias_constraint), trainable=self.trainable)
        if rows_per_sample > 1 and (native_activation or {}).get("name") in ("softmax", "log_softmax"):
            native_activation = None  # normalizes each row: runs after the Dense as its own node
        dense = network.add_dense(
            input_ids[0], self.kernel.value, self.bias.value if self.use_bias else None, native_activation or _LINEAR,
            kernel_regularizer=network_regularizer(self.kernel_regularizer),
            bias_regularizer=network_regularizer(self.bias_regularizer),
            activity_regularizer=network_regularizer(self.activity_regularizer) if native_activation else None,
            kernel_constraint=network_constraint(self.kernel_constraint),
            bias_constraint=network_constraint(self.bias_constraint),
            trainable=self.trainable, compute_dtype=self.compute_dtype, rows_per_sample=rows_per_sample)
        if native_activation is not None:
            return dense
        # A user's activation: the Dense runs natively as linear, the activation in Python after it.
        return python_nodes.add_activation(network, self.activation, dense, tuple(input_shape[:-1]) + (self.units,),
                                           network_regularizer(self.activity_regularizer),
                                           python_activation_name(self.activation, self))

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": self.quantization_config,
        })
        return config

    # -------------------------------------------------------------------------- quantization
    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the kernel as Keras 3's Dense.quantize("int8") does: int8 values with one scale
        per output unit (abs-max over the inputs), inputs quantized per row when called."""
        if type_check and type(self) is not Dense:
            raise NotImplementedError(f"Layer {type(self).__name__} does not have a `quantize` method implemented.")
        if mode != "int8":
            raise NotImplementedError(f"fastdense quantizes Dense layers with mode='int8' only, got mode={mode!r}")
        if not self.built:
            raise ValueError(f"Cannot quantize layer '{self.name}': it is not built yet")
        if self.quantization_mode is not None:
            raise ValueError(f"Layer '{self.name}' is already quantized with mode '{self.quantization_mode}'")
        kernel = self.kernel.numpy()
        # keras/src/quantizers/quantizers.py abs_max_quantize(axis=0): 127 / (max|W| + epsilon).
        scale = np.divide(127.0, np.add(np.max(np.abs(kernel), axis=0, keepdims=True), 1e-7)).astype(kernel.dtype)
        values = np.clip(np.round(kernel * scale), -127, 127).astype(np.int8)
        self._variables.remove(self.kernel)
        self.dtype_policy = dtype_policies.QuantizedDTypePolicy(mode, self.dtype_policy.name)
        self.quantization_config = _int8_quantization_config(config, mode)
        self._int8_build(kernel.shape)
        self.kernel.assign(values)
        self.kernel_scale.assign(scale[0])

    def _int8_build(self, kernel_shape):
        self.kernel = self.add_weight(name="kernel", shape=kernel_shape, initializer="zeros", dtype="int8",
                                      trainable=False)
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=(self.units,), initializer="ones",
                                            trainable=False)

    def _natively_copied_variables(self):
        """The variables whose values a native network copies when it is built (QuantizedDense packs
        the int8 kernel and keeps its scales) rather than reading their memory in place."""
        return [self.kernel, self.kernel_scale] if self.quantization_mode == "int8" else []

    def _serialized_variables(self):
        """The order of Keras's vars/0, 1, ...: kernel, bias (and kernel_scale when quantized);
        none before the layer is built."""
        if not self.built:
            return []
        own = [self.kernel] + ([self.bias] if self.use_bias else [])
        return own + [self.kernel_scale] if self.quantization_mode == "int8" else own


# keras/src/quantizers/quantization_config.py's Int8QuantizationConfig with its default quantizers,
# as Keras writes it into a quantized Dense's config.
_INT8_ACTIVATION_QUANTIZER = {"module": "keras.quantizers", "class_name": "AbsMaxQuantizer",
                              "config": {"value_range": [-127, 127], "epsilon": 1e-7, "output_dtype": "int8"},
                              "registered_name": None}


def _int8_quantization_config(config, mode):
    """The quantization_config of an int8 layer (Keras's default one), None for a float layer; a
    config asking for other quantizers than the defaults the native layer runs is refused."""
    if mode is None:
        if config is not None:
            raise ValueError("Dense: quantization_config is only meaningful for a quantized dtype policy")
        return None
    default = {"module": "keras.quantizers", "class_name": "Int8QuantizationConfig",
               "config": {"weight_quantizer": None, "activation_quantizer": _INT8_ACTIVATION_QUANTIZER},
               "registered_name": None}
    if config is None:
        return default
    inner = config.get("config", {}) if isinstance(config, dict) else None
    quantizer = (inner or {}).get("activation_quantizer") or {}
    quantizer_config = quantizer.get("config", {}) if isinstance(quantizer, dict) else None
    if (not isinstance(config, dict) or config.get("class_name") != "Int8QuantizationConfig"
            or inner.get("weight_quantizer") is not None or quantizer.get("class_name") != "AbsMaxQuantizer"
            or list(quantizer_config.get("value_range", [-127, 127])) != [-127, 127]
            or quantizer_config.get("epsilon", 1e-7) != 1e-7):
        raise NotImplementedError(f"fastdense runs Keras's default int8 quantization only (per-channel abs-max "
                                  f"kernel, per-row abs-max inputs), got quantization_config={config!r}")
    return default


def _int8_matmul(x, kernel, kernel_scale):
    """Keras's _int8_call product in NumPy: inputs quantized per row, int32 sums, de-scaled."""
    x_scale = np.divide(np.float32(127.0), np.max(np.abs(x), axis=-1, keepdims=True) + np.float32(1e-7))
    x_q = np.clip(np.round(x * x_scale), -127, 127).astype(np.int32)
    sums = (x_q @ kernel.astype(np.int32)).astype(np.float32)
    return sums / (kernel_scale * x_scale)


@register_builtin("layers", "keras.layers")
class Activation(Layer):
    """Applies an activation function: `Activation('relu')`.

    Input shape: any. Output shape: the same.
    """

    def __init__(self, activation: str | Callable[..., Any] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _lower(self, network, input_ids):
        config = activations.native_config(self.activation)
        regularizer = network_regularizer(self.activity_regularizer)
        if config is not None:
            return network.add_activation(input_ids[0], config, activity_regularizer=regularizer)
        return python_nodes.add_activation(network, self.activation, input_ids[0], self._inbound_nodes[0].inputs[0].shape,
                                           regularizer, python_activation_name(self.activation, self))

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


@register_builtin("layers", "keras.layers")
class Dropout(Layer):
    """Sets a fraction `rate` of inputs to 0 while training and scales the rest by 1/(1-rate).

    Args:
        rate: fraction of the inputs to drop, in [0, 1).
        noise_shape: must be None (per-value dropout).
        seed: seed of the dropout mask (fastdense seeds per model; kept for the config).
    """

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        if noise_shape is not None:
            raise ValueError("Dropout: noise_shape is not supported by fastdense")
        self.rate = float(rate)
        self.seed = seed
        self.noise_shape = None

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        keep = fd_random.global_generator().random(np.shape(inputs)) >= self.rate
        return inputs * keep / (1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _lower(self, network, input_ids):
        return network.add_dropout(input_ids[0], self.rate)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed, "noise_shape": None})
        return config


@register_builtin("layers", "keras.layers")
class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation `stddev` while training."""

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = seed

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return inputs + fd_random.global_generator().normal(0.0, self.stddev, np.shape(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _lower(self, network, input_ids):
        return network.add_gaussian_noise(input_ids[0], self.stddev)

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


@register_builtin("layers", "keras.layers")
class Flatten(Layer):
    """Flattens every axis but the batch axis: (batch, a, b) → (batch, a*b)."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, inputs):
        return np.reshape(inputs, (np.shape(inputs)[0], -1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], flat_width(input_shape))

    def _lower(self, network, input_ids):
        return input_ids[0]  # the engine stores every sample flat already

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format or "channels_last"
        return config


@register_builtin("layers", "keras.layers")
class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1)."""

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs):
        return np.reshape(inputs, (np.shape(inputs)[0],) + self.target_shape)

    def compute_output_shape(self, input_shape):
        shape = list(self.target_shape)
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            shape[shape.index(-1)] = flat_width(input_shape) // known
        if int(np.prod(shape)) != flat_width(input_shape):
            raise ValueError(f"Reshape '{self.name}': cannot reshape {tuple(input_shape[1:])} to {self.target_shape}")
        return (input_shape[0],) + tuple(shape)

    def _lower(self, network, input_ids):
        return input_ids[0]

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config
