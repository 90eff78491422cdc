"""ONNX operators for fastdense's built-in layers, one converter per layer class, and the walk
over a model's graph that applies them (nested models are inlined).

A converter takes (graph, layer, node, inputs): the OnnxGraph, the layer, the graph Node being
converted (one call of the layer: its `inputs`/`outputs` KerasTensors give the shapes) and the
names of the ONNX tensors feeding it. It returns the name of the output tensor. Weights are
read through the public API (`layer.weights`, `get_config()`); a weight is keyed by its
variable, so a shared layer's weights are stored once however many times it is called.

Layers are looked up by their exact class: a user's subclass of a built-in layer may compute
anything in `call`, so it is refused like any other custom layer.
"""

import numpy as np
from onnx import TensorProto

from fastdense import activations
from fastdense.export.onnx_activations import convert_activation, softmax_along
from fastdense.layers import activations as activation_layers
from fastdense.layers import core, embedding, merging, normalization, reshaping
from fastdense.layers.core import python_activation_name
from fastdense.models.graph import map_graph
from fastdense.models.model import Model

LAYER_CONVERTERS = {}


def converts(*layer_classes):
    """Registers the decorated function as the converter of these layer classes."""
    def register(converter):
        for layer_class in layer_classes:
            LAYER_CONVERTERS[layer_class] = converter
        return converter
    return register


def not_exportable(component, why):
    return ValueError(f"Cannot export to ONNX: {component} {why}. Only fastdense's built-in layers and "
                      f"activations map to ONNX operators; custom Python code has no ONNX equivalent.")


def convert_graph(graph, model, input_names):
    """Adds `model`'s layers to `graph`, its inputs fed by the tensors `input_names`; returns
    the names of the tensors holding its outputs (in `model.outputs` order)."""
    names = {id(tensor): name for tensor, name in zip(model.inputs, input_names)}
    nodes, _ = map_graph(model.inputs, model.outputs)
    for node in nodes:
        if not node.inputs:  # an Input
            continue
        layer = node.layer
        inputs = [names[id(tensor)] for tensor in node.inputs]
        if isinstance(layer, Model):
            if layer.inputs is None:
                raise ValueError(f"Cannot export to ONNX: the nested model '{layer.name}' is not built")
            outputs = convert_graph(graph, layer, inputs)
        else:
            converter = LAYER_CONVERTERS.get(type(layer))
            if converter is None:
                raise not_exportable(f"layer '{layer.name}' ({type(layer).__name__})", "is a custom layer")
            outputs = converter(graph, layer, node, inputs)
        for tensor, name in zip(node.outputs, outputs if isinstance(outputs, list) else [outputs]):
            names[id(tensor)] = name
    return [names[id(tensor)] for tensor in model.outputs]


def _weights(layer):
    """{weight name: variable}: 'kernel', 'bias', 'gamma', 'moving_mean', ..."""
    return {variable.name: variable for variable in layer.weights}


def _weight(graph, layer, variable, shape=None):
    value = variable.numpy()
    if shape is not None:
        value = value.reshape(shape)
    return graph.constant(value, f"{layer.name}/{variable.name}", key=(id(variable), shape))


def _rank(node, index=0):
    return len(node.inputs[index].shape)


def _activation(graph, function, layer, x):
    config = activations.native_config(function)
    if config is None:
        raise not_exportable(python_activation_name(function, layer), "is a Python function")
    return convert_activation(graph, x, config, layer.name)


# ------------------------------------------------------------------------------- core
@converts(core.Dense)
def dense(graph, layer, node, inputs):
    """Gemm on (batch, features) inputs; MatMul and Add on higher ranks (Gemm is 2-D only)."""
    if layer.quantization_mode is not None:
        raise NotImplementedError(f"Dense '{layer.name}' is quantized ({layer.quantization_mode}): export the float "
                                  "model and quantize the ONNX file (onnxruntime.quantization.quantize_dynamic)")
    weights = _weights(layer)
    kernel = _weight(graph, layer, weights["kernel"])
    bias = _weight(graph, layer, weights["bias"]) if layer.use_bias else None
    if _rank(node) == 2:
        y = graph.op("Gemm", [inputs[0], kernel] + ([bias] if bias is not None else []), f"{layer.name}/Gemm")
    else:
        y = graph.op("MatMul", [inputs[0], kernel], f"{layer.name}/MatMul")
        if bias is not None:
            y = graph.op("Add", [y, bias], f"{layer.name}/BiasAdd")
    return _activation(graph, layer.activation, layer, y)


@converts(core.Activation)
def activation(graph, layer, node, inputs):
    return _activation(graph, layer.activation, layer, inputs[0])


@converts(core.Dropout, core.GaussianNoise)
def inference_identity(graph, layer, node, inputs):
    """Dropout and noise act only while training: at inference the output is the input."""
    return inputs[0]


@converts(core.Flatten)
def flatten(graph, layer, node, inputs):
    if _rank(node) == 2:
        return inputs[0]
    return graph.op("Flatten", [inputs[0]], f"{layer.name}/Flatten", axis=1)


@converts(core.Reshape)
def reshape(graph, layer, node, inputs):
    # 0 copies the batch axis from the input; the others are the resolved target shape.
    shape = graph.int64s([0] + list(node.outputs[0].shape[1:]), f"{layer.name}/shape")
    return graph.op("Reshape", [inputs[0], shape], f"{layer.name}/Reshape")


@converts(reshaping.RepeatVector)
def repeat_vector(graph, layer, node, inputs):
    """(batch, features) → Unsqueeze to (batch, 1, features) → Tile n times along axis 1."""
    expanded = graph.op("Unsqueeze", [inputs[0], graph.int64s([1], f"{layer.name}/axes")], f"{layer.name}/Unsqueeze")
    repeats = graph.int64s([1, layer.n, 1], f"{layer.name}/repeats")
    return graph.op("Tile", [expanded, repeats], f"{layer.name}/Tile")


@converts(reshaping.Permute)
def permute(graph, layer, node, inputs):
    return graph.op("Transpose", [inputs[0]], f"{layer.name}/Transpose", perm=[0] + list(layer.dims))


@converts(embedding.Embedding)
def embedding_lookup(graph, layer, node, inputs):
    """The ids arrive in the model's float dtype (as in predict): Cast to int64, then Gather rows
    of the table. onnxruntime rejects out-of-range ids itself."""
    ids = graph.op("Cast", [inputs[0]], f"{layer.name}/ids", to=TensorProto.INT64)
    table = _weight(graph, layer, _weights(layer)["embeddings"])
    return graph.op("Gather", [table, ids], f"{layer.name}/Gather", axis=0)


# ------------------------------------------------------------------------ activation layers
@converts(activation_layers.ReLU)
def relu_layer(graph, layer, node, inputs):
    config = layer.get_config()
    return convert_activation(graph, inputs[0], {"name": "relu", "alpha": config["negative_slope"],
                                                 "max_value": config["max_value"],
                                                 "threshold": config["threshold"]}, layer.name)


@converts(activation_layers.LeakyReLU)
def leaky_relu_layer(graph, layer, node, inputs):
    return convert_activation(graph, inputs[0], {"name": "leaky_relu", "alpha": layer.get_config()["negative_slope"]},
                              layer.name)


@converts(activation_layers.ELU)
def elu_layer(graph, layer, node, inputs):
    return convert_activation(graph, inputs[0], {"name": "elu", "alpha": layer.get_config()["alpha"]}, layer.name)


@converts(activation_layers.Softmax)
def softmax_layer(graph, layer, node, inputs):
    axis = layer.get_config()["axis"]
    rank = _rank(node)
    axes = sorted({a % rank for a in (axis if isinstance(axis, list) else [axis])})
    return softmax_along(graph, inputs[0], axes, layer.name)


@converts(activation_layers.PReLU)
def prelu(graph, layer, node, inputs):
    # alpha has the input's shape without the batch axis (1 along shared axes): it broadcasts.
    alpha = _weight(graph, layer, _weights(layer)["alpha"])
    if graph.has_operator("PRelu"):
        return graph.op("PRelu", [inputs[0], alpha], f"{layer.name}/PRelu")
    positive = graph.op("Greater", [inputs[0], graph.scalar(0.0)], f"{layer.name}/positive")
    scaled = graph.op("Mul", [alpha, inputs[0]], f"{layer.name}/scaled")
    return graph.op("Where", [positive, inputs[0], scaled], f"{layer.name}/prelu")


# --------------------------------------------------------------------------- normalization
@converts(normalization.BatchNormalization)
def batch_normalization(graph, layer, node, inputs):
    """Inference form folded into one Mul and one Add: ``x * s + (beta - mean * s)`` with
    ``s = gamma / sqrt(moving_variance + epsilon)``, the constants computed in the model's
    dtype in the engine's order (src/engine/layer/BatchNormalization.h), so the exported model
    rounds as `predict` does."""
    config, weights = layer.get_config(), _weights(layer)
    rank = _rank(node)
    axis = config["axis"] % rank
    dtype = graph.dtype.type
    mean = weights["moving_mean"].numpy().astype(dtype)
    variance = weights["moving_variance"].numpy().astype(dtype)
    scale = dtype(1.0) / np.sqrt(variance + dtype(config["epsilon"]))
    if config["scale"]:
        scale = scale * weights["gamma"].numpy().astype(dtype)
    shift = -mean * scale
    if config["center"]:
        shift = weights["beta"].numpy().astype(dtype) + shift
    broadcast = [1] * rank
    broadcast[axis] = scale.shape[0]
    # Keyed by the layer: a shared layer's constants are stored once.
    scale_name = graph.constant(scale.reshape(broadcast), f"{layer.name}/scale", key=(id(layer), "scale"))
    shift_name = graph.constant(shift.reshape(broadcast), f"{layer.name}/shift", key=(id(layer), "shift"))
    scaled = graph.op("Mul", [inputs[0], scale_name], f"{layer.name}/Mul")
    return graph.op("Add", [scaled, shift_name], f"{layer.name}/Add")


@converts(normalization.LayerNormalization)
def layer_normalization(graph, layer, node, inputs):
    """The LayerNormalization operator (opset 17) when the normalized axes are the trailing
    ones, as they are for (batch, features) inputs; other axes are composed from ReduceMean:
    ``x * s + (beta - mean * s)``, ``s = gamma / sqrt(var + epsilon)``."""
    config, weights = layer.get_config(), _weights(layer)
    rank = _rank(node)
    axes = sorted(a % rank for a in config["axis"])
    weight_shape = [node.inputs[0].shape[a] for a in axes]
    if axes == list(range(axes[0], rank)):
        gamma = (_weight(graph, layer, weights["gamma"]) if config["scale"]
                 else graph.constant(np.ones(weight_shape), f"{layer.name}/ones", key=("ones", tuple(weight_shape))))
        operands = [inputs[0], gamma] + ([_weight(graph, layer, weights["beta"])] if config["center"] else [])
        return graph.op("LayerNormalization", operands, f"{layer.name}/LayerNormalization", axis=axes[0],
                        epsilon=float(config["epsilon"]))
    broadcast = [1] * rank
    for axis, size in zip(axes, weight_shape):
        broadcast[axis] = size
    x, hint = inputs[0], layer.name
    mean = graph.reduce("ReduceMean", x, axes, f"{hint}/mean")
    centered = graph.op("Sub", [x, mean], f"{hint}/centered")
    variance = graph.reduce("ReduceMean", graph.op("Mul", [centered, centered], f"{hint}/squared"), axes,
                            f"{hint}/variance")
    std = graph.op("Sqrt", [graph.op("Add", [variance, graph.scalar(config["epsilon"])], f"{hint}/plus_epsilon")],
                   f"{hint}/std")
    scale = graph.op("Reciprocal", [std], f"{hint}/inv_std")
    if config["scale"]:
        scale = graph.op("Mul", [scale, _weight(graph, layer, weights["gamma"], tuple(broadcast))], f"{hint}/scale")
    shift = graph.op("Neg", [graph.op("Mul", [mean, scale], f"{hint}/mean_scaled")], f"{hint}/shift")
    if config["center"]:
        shift = graph.op("Add", [_weight(graph, layer, weights["beta"], tuple(broadcast)), shift], f"{hint}/shift_beta")
    return graph.op("Add", [graph.op("Mul", [x, scale], f"{hint}/Mul"), shift], f"{hint}/Add")


# ---------------------------------------------------------------------------------- merging
def _variadic(op_type):
    def converter(graph, layer, node, inputs):
        return graph.op(op_type, inputs, f"{layer.name}/{op_type}")
    return converter


converts(merging.Add)(_variadic("Sum"))
converts(merging.Maximum)(_variadic("Max"))
converts(merging.Minimum)(_variadic("Min"))


@converts(merging.Subtract)
def subtract(graph, layer, node, inputs):
    return graph.op("Sub", inputs, f"{layer.name}/Sub")


@converts(merging.Multiply)
def multiply(graph, layer, node, inputs):
    product = inputs[0]
    for other in inputs[1:]:
        product = graph.op("Mul", [product, other], f"{layer.name}/Mul")
    return product


@converts(merging.Average)
def average(graph, layer, node, inputs):
    # Sum times 1/n, as the engine computes it (ONNX's Mean has no float64 kernel in onnxruntime).
    total = graph.op("Sum", inputs, f"{layer.name}/Sum")
    return graph.op("Mul", [total, graph.scalar(1.0 / len(inputs))], f"{layer.name}/Mean")


@converts(merging.Concatenate)
def concatenate(graph, layer, node, inputs):
    return graph.op("Concat", inputs, f"{layer.name}/Concat", axis=layer.get_config()["axis"] % _rank(node))
