"""ONNX operators for fastdense's built-in activations, one converter per activation name.

A converter takes (graph, x, config, hint): the OnnxGraph, the input tensor's name, the
activation's native config (`{"name": "elu", "alpha": 0.5}`, as `fastdense.activations`
gives it; missing parameters take Keras's defaults) and a prefix for the tensors it makes. It
returns the name of the activated tensor. Activations that have an ONNX operator use it (when
onnxruntime runs it in the graph's dtype: `OnnxGraph.has_operator`); the others are composed
from elementwise operators following the engine's formulas (src/engine/Activation.cpp), so the
exported model computes what `predict` computes.
"""

import math

from onnx import TensorProto

ACTIVATION_CONVERTERS = {}


def converts(*names):
    """Registers the decorated function as the converter of these activation names."""
    def register(converter):
        for name in names:
            ACTIVATION_CONVERTERS[name] = converter
        return converter
    return register


def convert_activation(graph, x, config, hint):
    """The tensor `config`'s activation makes of `x`; ValueError for an unknown name."""
    converter = ACTIVATION_CONVERTERS.get(config["name"])
    if converter is None:
        raise ValueError(f"the activation {config['name']!r} has no ONNX conversion")
    return converter(graph, x, config, hint)


# ------------------------------------------------------------------------------ operators
@converts("linear")
def linear(graph, x, config, hint):
    return x


def _single_op(op_type, **attributes):
    def converter(graph, x, config, hint):
        return graph.op(op_type, [x], f"{hint}/{op_type}", **attributes)
    converter.__name__ = op_type.lower()
    return converter


for _name, _op in (("sigmoid", "Sigmoid"), ("tanh", "Tanh"), ("exponential", "Exp")):
    converts(_name)(_single_op(_op))


@converts("relu")
def relu(graph, x, config, hint):
    """Keras's general relu (the engine's GeneralRelu): ``kept = x > t ? x : 0``, clipped to
    [0, max_value] when a max_value is given, minus ``slope * max(t - x, 0)``."""
    slope = float(config.get("alpha") or 0.0)
    max_value = config.get("max_value")
    threshold = float(config.get("threshold") or 0.0)
    if threshold == 0.0 and max_value is None:
        if slope == 0.0:
            return graph.op("Relu", [x], f"{hint}/Relu")
        return leaky_relu(graph, x, {"alpha": slope}, hint)
    if threshold == 0.0:
        kept = x  # the clip below does the zeroing
    else:
        above = graph.op("Greater", [x, graph.scalar(threshold)], f"{hint}/above_threshold")
        kept = graph.op("Where", [above, x, graph.scalar(0.0)], f"{hint}/kept")
    if max_value is not None:
        kept = graph.clip(kept, 0.0, max_value, hint)
    if slope == 0.0:
        return kept
    below = graph.op("Relu", [graph.op("Sub", [graph.scalar(threshold), x], f"{hint}/threshold_minus_x")],
                     f"{hint}/below")
    leak = graph.op("Mul", [graph.scalar(slope), below], f"{hint}/leak")
    return graph.op("Sub", [kept, leak], f"{hint}/relu")


def _exp_minus_one_of_negative_part(graph, x, hint):
    """``exp(min(x, 0)) - 1``, the negative branch of elu and selu as TF's kernels compute it."""
    negative = graph.op("Min", [x, graph.scalar(0.0)], f"{hint}/negative_part")
    return graph.op("Sub", [graph.op("Exp", [negative], f"{hint}/Exp"), graph.scalar(1.0)], f"{hint}/expm1")


@converts("leaky_relu")
def leaky_relu(graph, x, config, hint):
    """``x > 0 ? x : alpha * x``."""
    alpha = float(config.get("alpha", 0.2))
    if graph.has_operator("LeakyRelu"):
        return graph.op("LeakyRelu", [x], f"{hint}/LeakyRelu", alpha=alpha)
    positive = graph.op("Greater", [x, graph.scalar(0.0)], f"{hint}/positive")
    scaled = graph.op("Mul", [graph.scalar(alpha), x], f"{hint}/scaled")
    return graph.op("Where", [positive, x, scaled], f"{hint}/leaky_relu")


@converts("relu6")
def relu6(graph, x, config, hint):
    return graph.clip(x, 0.0, 6.0, f"{hint}/relu6")


@converts("hard_tanh")
def hard_tanh(graph, x, config, hint):
    return graph.clip(x, -1.0, 1.0, f"{hint}/hard_tanh")


@converts("elu")
def elu(graph, x, config, hint):
    """``max(x, 0) + alpha * (exp(min(x, 0)) - 1)``."""
    alpha = float(config.get("alpha", 1.0))
    if graph.has_operator("Elu"):
        return graph.op("Elu", [x], f"{hint}/Elu", alpha=alpha)
    negative = graph.op("Mul", [graph.scalar(alpha), _exp_minus_one_of_negative_part(graph, x, hint)],
                        f"{hint}/negative_branch")
    return graph.op("Add", [graph.op("Max", [x, graph.scalar(0.0)], f"{hint}/positive_part"), negative], f"{hint}/elu")


# Keras's (tf.nn.selu's) constants; the Selu operator's defaults are their float32 roundings.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@converts("selu")
def selu(graph, x, config, hint):
    """``scale * max(x, 0) + scale * alpha * (exp(min(x, 0)) - 1)``."""
    if graph.has_operator("Selu"):
        return graph.op("Selu", [x], f"{hint}/Selu", alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
    positive = graph.op("Mul", [graph.scalar(_SELU_SCALE), graph.op("Max", [x, graph.scalar(0.0)],
                                                                      f"{hint}/positive_part")], f"{hint}/positive")
    negative = graph.op("Mul", [graph.scalar(_SELU_SCALE * _SELU_ALPHA),
                                _exp_minus_one_of_negative_part(graph, x, hint)], f"{hint}/negative_branch")
    return graph.op("Add", [positive, negative], f"{hint}/selu")


@converts("celu")
def celu(graph, x, config, hint):
    """``max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)``."""
    alpha = float(config.get("alpha", 1.0))
    if graph.has_operator("Celu"):
        return graph.op("Celu", [x], f"{hint}/Celu", alpha=alpha)
    negative = graph.op("Min", [x, graph.scalar(0.0)], f"{hint}/negative_part")
    scaled = graph.op("Div", [negative, graph.scalar(alpha)], f"{hint}/over_alpha")
    expm1 = graph.op("Sub", [graph.op("Exp", [scaled], f"{hint}/Exp"), graph.scalar(1.0)], f"{hint}/expm1")
    positive = graph.op("Max", [x, graph.scalar(0.0)], f"{hint}/positive_part")
    return graph.op("Add", [positive, graph.op("Mul", [graph.scalar(alpha), expm1], f"{hint}/scaled_expm1")],
                    f"{hint}/celu")


@converts("softplus")
def softplus(graph, x, config, hint):
    """``max(x, 0) + log(1 + exp(-|x|))``: no overflow for large x."""
    if graph.has_operator("Softplus"):
        return graph.op("Softplus", [x], f"{hint}/Softplus")
    exp = graph.op("Exp", [graph.op("Neg", [graph.op("Abs", [x], f"{hint}/abs")], f"{hint}/minus_abs")],
                   f"{hint}/Exp")
    log = graph.op("Log", [graph.op("Add", [graph.scalar(1.0), exp], f"{hint}/one_plus_exp")], f"{hint}/Log")
    return graph.op("Add", [graph.op("Max", [x, graph.scalar(0.0)], f"{hint}/positive_part"), log],
                    f"{hint}/softplus")


@converts("softsign")
def softsign(graph, x, config, hint):
    """``x / (1 + |x|)``."""
    if graph.has_operator("Softsign"):
        return graph.op("Softsign", [x], f"{hint}/Softsign")
    denominator = graph.op("Add", [graph.scalar(1.0), graph.op("Abs", [x], f"{hint}/abs")], f"{hint}/one_plus_abs")
    return graph.op("Div", [x, denominator], f"{hint}/softsign")


@converts("hard_sigmoid")
def hard_sigmoid(graph, x, config, hint):
    """Keras 3's ``relu6(x + 3) / 6`` = ``clip(x / 6 + 0.5, 0, 1)``."""
    if graph.has_operator("HardSigmoid"):
        return graph.op("HardSigmoid", [x], f"{hint}/HardSigmoid", alpha=1.0 / 6.0, beta=0.5)
    shifted = graph.op("Add", [x, graph.scalar(3.0)], f"{hint}/x_plus_3")
    clipped = graph.clip(shifted, 0.0, 6.0, f"{hint}/relu6")
    return graph.op("Div", [clipped, graph.scalar(6.0)], f"{hint}/hard_sigmoid")


@converts("hard_silu")
def hard_silu(graph, x, config, hint):
    """``x * hard_sigmoid(x)``: the HardSwish operator."""
    if graph.has_operator("HardSwish"):
        return graph.op("HardSwish", [x], f"{hint}/HardSwish")
    return graph.op("Mul", [x, hard_sigmoid(graph, x, config, hint)], f"{hint}/hard_silu")


@converts("silu")
def silu(graph, x, config, hint):
    return graph.op("Mul", [x, graph.op("Sigmoid", [x], f"{hint}/Sigmoid")], f"{hint}/silu")


@converts("mish")
def mish(graph, x, config, hint):
    """``x * tanh(softplus(x))``: the Mish operator from opset 18."""
    if graph.has_operator("Mish", since=18):
        return graph.op("Mish", [x], f"{hint}/Mish")
    tanh = graph.op("Tanh", [softplus(graph, x, config, hint)], f"{hint}/Tanh")
    return graph.op("Mul", [x, tanh], f"{hint}/mish")


@converts("gelu")
def gelu(graph, x, config, hint):
    """The Gelu operator from opset 20; before, composed: exact ``0.5 x (1 + erf(x / sqrt(2)))``,
    approximate ``x * sigmoid(2u)`` with ``u = sqrt(2 / pi) (x + 0.044715 x^3)``, which is
    ``0.5 x (1 + tanh(u))`` written as the engine computes it (accurate in the left tail, where
    1 + tanh(u) cancels). onnxruntime has no float64 Erf: a float64 graph computes erf in
    float32 between two Casts (an error of ~1e-7, far below the 1e-5 the export is held to)."""
    approximate = bool(config.get("approximate", False))
    if graph.has_operator("Gelu", since=20):
        return graph.op("Gelu", [x], f"{hint}/Gelu", approximate="tanh" if approximate else "none")
    if approximate:
        cube = graph.op("Mul", [graph.op("Mul", [x, x], f"{hint}/square"), x], f"{hint}/cube")
        inner = graph.op("Add", [x, graph.op("Mul", [graph.scalar(0.044715), cube], f"{hint}/cubic_term")],
                         f"{hint}/inner")
        two_u = graph.op("Mul", [graph.scalar(2.0 * math.sqrt(2.0 / math.pi)), inner], f"{hint}/two_u")
        return graph.op("Mul", [x, graph.op("Sigmoid", [two_u], f"{hint}/Sigmoid")], f"{hint}/gelu")
    scaled = graph.op("Mul", [x, graph.scalar(1.0 / math.sqrt(2.0))], f"{hint}/x_over_sqrt2")
    if graph.has_operator("Erf"):
        erf = graph.op("Erf", [scaled], f"{hint}/Erf")
    else:
        as_float = graph.op("Cast", [scaled], f"{hint}/to_float32", to=TensorProto.FLOAT)
        erf = graph.op("Cast", [graph.op("Erf", [as_float], f"{hint}/Erf")], f"{hint}/Erf_back", to=graph.elem_type)
    one_plus = graph.op("Add", [graph.scalar(1.0), erf], f"{hint}/one_plus_erf")
    half_x = graph.op("Mul", [graph.scalar(0.5), x], f"{hint}/half_x")
    return graph.op("Mul", [half_x, one_plus], f"{hint}/gelu")


@converts("log_sigmoid")
def log_sigmoid(graph, x, config, hint):
    """``-softplus(-x)``."""
    negated = graph.op("Neg", [x], f"{hint}/neg_x")
    return graph.op("Neg", [softplus(graph, negated, config, hint)], f"{hint}/log_sigmoid")


@converts("soft_shrink")
def soft_shrink(graph, x, config, hint):
    threshold = float(config.get("threshold", 0.5))
    return graph.op("Shrink", [x], f"{hint}/SoftShrink", bias=threshold, lambd=threshold)


@converts("hard_shrink")
def hard_shrink(graph, x, config, hint):
    return graph.op("Shrink", [x], f"{hint}/HardShrink", bias=0.0, lambd=float(config.get("threshold", 0.5)))


@converts("tanh_shrink")
def tanh_shrink(graph, x, config, hint):
    return graph.op("Sub", [x, graph.op("Tanh", [x], f"{hint}/Tanh")], f"{hint}/tanh_shrink")


@converts("squareplus")
def squareplus(graph, x, config, hint):
    """``(x + sqrt(x^2 + b)) / 2``."""
    square_plus_b = graph.op("Add", [graph.op("Mul", [x, x], f"{hint}/square"), graph.scalar(config.get("b", 4))],
                             f"{hint}/square_plus_b")
    total = graph.op("Add", [x, graph.op("Sqrt", [square_plus_b], f"{hint}/Sqrt")], f"{hint}/sum")
    return graph.op("Mul", [total, graph.scalar(0.5)], f"{hint}/squareplus")


@converts("sparse_plus")
def sparse_plus(graph, x, config, hint):
    """0 for x <= -1, ``(x + 1)^2 / 4`` for -1 < x < 1, x from 1 on."""
    x_plus_1 = graph.op("Add", [x, graph.scalar(1.0)], f"{hint}/x_plus_1")
    quadratic = graph.op("Mul", [graph.scalar(0.25), graph.op("Mul", [x_plus_1, x_plus_1], f"{hint}/square")],
                         f"{hint}/quadratic")
    below_one = graph.op("Less", [x, graph.scalar(1.0)], f"{hint}/below_one")
    upper = graph.op("Where", [below_one, quadratic, x], f"{hint}/upper")
    at_most_minus_one = graph.op("LessOrEqual", [x, graph.scalar(-1.0)], f"{hint}/at_most_minus_one")
    return graph.op("Where", [at_most_minus_one, graph.scalar(0.0), upper], f"{hint}/sparse_plus")


@converts("sparse_sigmoid")
def sparse_sigmoid(graph, x, config, hint):
    """``clip((x + 1) / 2, 0, 1)``: 0 up to -1, 1 from 1 on."""
    half = graph.op("Mul", [graph.scalar(0.5), graph.op("Add", [x, graph.scalar(1.0)], f"{hint}/x_plus_1")],
                    f"{hint}/half")
    return graph.clip(half, 0.0, 1.0, f"{hint}/sparse_sigmoid")


@converts("threshold")
def threshold(graph, x, config, hint):
    """``x`` where ``x > threshold``, ``default_value`` elsewhere."""
    above = graph.op("Greater", [x, graph.scalar(config["threshold"])], f"{hint}/above_threshold")
    return graph.op("Where", [above, x, graph.scalar(config["default_value"])], f"{hint}/threshold")


# ---------------------------------------------------------------------------- along axes
def softmax_along(graph, x, axes, hint, log=False):
    """(Log)Softmax over `axes`: the operator for one axis; for several, composed as
    ``exp(x - max) / sum(exp(x - max))`` (``x - max - log(sum(exp(x - max)))``) over them."""
    if len(axes) == 1:
        op_type = "LogSoftmax" if log else "Softmax"
        return graph.op(op_type, [x], f"{hint}/{op_type}", axis=int(axes[0]))
    shifted = graph.op("Sub", [x, graph.reduce("ReduceMax", x, axes, f"{hint}/max")], f"{hint}/shifted")
    exp = graph.op("Exp", [shifted], f"{hint}/Exp")
    total = graph.reduce("ReduceSum", exp, axes, f"{hint}/sum")
    if log:
        return graph.op("Sub", [shifted, graph.op("Log", [total], f"{hint}/log_sum")], f"{hint}/log_softmax")
    return graph.op("Div", [exp, total], f"{hint}/softmax")


@converts("softmax")
def softmax(graph, x, config, hint):
    return softmax_along(graph, x, [-1], hint)


@converts("log_softmax")
def log_softmax(graph, x, config, hint):
    return softmax_along(graph, x, [-1], hint, log=True)
