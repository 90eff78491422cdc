"""Custom components inside the native network: the Python side of the engine's callbacks.

A model's built-in parts run natively. A user's layer, activation, loss, regularizer or
constraint becomes a callback of the native Network (src/bindings/python_callbacks.h) that the
engine calls once per batch (a weight's penalty and constraint: once per step), taking the GIL
only for it. The user's NumPy code runs through :mod:`fastdense.autodiff`: a training forward
records a trace with ``autodiff.vjp`` and the backward pulls the engine's output gradient back
through it. Inference (predict, evaluate) runs the plain, untraced function.

The engine hands over read-only views of its buffers, valid during the call only; whatever a
callback returns is validated and copied by the engine.
"""

import inspect

import numpy as np

from fastdense import autodiff, losses
from fastdense.regularizers import Regularizer


class PythonNode:
    """The forward/backward callbacks of one layer node computing ``fn(inputs, training)``.

    ``fn`` takes the list of input batches, shaped like the layer's inputs, and returns one
    array. Between a recording forward and its backward the node keeps the pullback, which
    refers to that batch's values without copying them.
    """

    def __init__(self, fn, input_shapes, variables, name):
        self._fn = fn
        self._input_shapes = [tuple(shape[1:]) for shape in input_shapes]
        self._variables = list(variables)
        self.name = name
        self._pullback = None
        self._argnums = ()
        self._output_shape = None

    def forward(self, inputs, training, differentiate):
        rows = inputs[0].shape[0]
        batches = [x.reshape((rows,) + shape) for x, shape in zip(inputs, self._input_shapes)]
        self._pullback = None  # never reuse the trace of an earlier batch
        if differentiate is None:
            return self._single(self._fn(batches, training))
        self._argnums = tuple(k for k, wanted in enumerate(differentiate) if wanted)
        output, pullback = autodiff.vjp(lambda *traced: self._fn(list(traced), training), *batches,
                                        argnums=self._argnums, variables=self._variables)
        output = self._single(output)
        self._pullback, self._output_shape = pullback, output.shape
        return output

    def backward(self, output_grad):
        pullback, self._pullback = self._pullback, None
        if pullback is None:
            raise RuntimeError(f"{self.name}: backward without a recorded forward pass")
        grads = pullback(output_grad.reshape(self._output_shape))
        input_grads = [None] * len(self._input_shapes)
        for k, grad in zip(self._argnums, grads.inputs):
            input_grads[k] = grad
        return input_grads, grads.variables

    def _single(self, output):
        if isinstance(output, (list, tuple, dict)):
            raise TypeError(f"{self.name} returned {len(output)} outputs; inside a model fastdense supports custom "
                            "layers with one output array")
        return output


def _accepts_training(fn):
    try:
        return "training" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _call_of(layer, list_input):
    """fn(inputs, training) running layer.call directly (Layer.__call__ would take plain arrays only)."""
    takes_training = _accepts_training(layer.call)

    def call(inputs, training):
        kwargs = {"training": training} if takes_training else {}
        losses_before = len(layer._losses)
        output = layer.call(inputs if list_input else inputs[0], **kwargs)
        if len(layer._losses) != losses_before:
            del layer._losses[losses_before:]  # a term per batch would pile up
            if training:  # ignoring it would train on the wrong loss
                raise NotImplementedError(f"Layer '{layer.name}' calls add_loss() in call(); fastdense does not add "
                                          "such terms to the training loss yet (a custom regularizer can)")
        return output

    return call


def _flat_width(shape):
    return int(np.prod(shape[1:], dtype=np.int64))


def add_layer(network, layer, input_ids):
    """Adds a user's layer as a Python node running ``layer.call``; returns its id.

    The layer's trainable weights become the node's weights: the native optimizer updates them
    in place with the others, and their regularizers and constraints apply as for built-in layers.
    """
    if not layer._inbound_nodes:
        raise ValueError(f"Layer '{layer.name}' has never been called on a symbolic input, so its shapes are unknown")
    node = layer._inbound_nodes[0]
    if len(node.outputs) != 1:
        raise NotImplementedError(f"Layer '{layer.name}' has {len(node.outputs)} outputs; inside a model fastdense "
                                  "supports custom layers with one output")
    callbacks = PythonNode(_call_of(layer, node.list_input), [t.shape for t in node.inputs], layer.trainable_weights,
                           f"layer '{layer.name}'")
    weights = callbacks._variables
    return network.add_python_layer(
        input_ids, _flat_width(node.outputs[0].shape), callbacks.forward, callbacks.backward,
        weights=[v.value for v in weights],
        regularizers=[network_regularizer(v.regularizer) for v in weights],
        constraints=[network_constraint(v.constraint) for v in weights],
        activity_regularizer=network_regularizer(layer.activity_regularizer), name=callbacks.name)


def add_activation(network, activation, input_id, shape, activity_regularizer, name):
    """Adds a user's activation function as a Python node on batches of ``shape``; returns its id."""
    callbacks = PythonNode(lambda inputs, training: activation(inputs[0]), [shape], [], name)
    return network.add_python_layer([input_id], _flat_width(shape), callbacks.forward, callbacks.backward,
                                    activity_regularizer=activity_regularizer, name=name)


# ------------------------------------------------------------------------ weights' extras
def _total(value):
    """A penalty as one scalar (Keras sums each term of model.losses)."""
    return np.sum(value) if getattr(value, "ndim", 0) else value


def _hand_written_gradient(regularizer):
    """The regularizer's own gradient method (fastdense.regularizers.Regularizer.gradient), if overridden."""
    method = getattr(type(regularizer), "gradient", None)
    if isinstance(regularizer, Regularizer) and method is not Regularizer.gradient:
        return regularizer.gradient
    return None


def penalty(regularizer):
    """The engine callback of a regularizer: ``callback(values, with_grad) -> (penalty, gradient or None)``."""
    gradient_of = _hand_written_gradient(regularizer)

    def callback(values, with_grad):
        if not with_grad:
            return float(_total(regularizer(values))), None
        if gradient_of is not None:
            gradient = gradient_of(values)
            if gradient is not None:
                return float(_total(regularizer(values))), gradient
        value, pullback = autodiff.vjp(lambda w: _total(regularizer(w)), values)
        return float(value), pullback(np.ones_like(value)).inputs[0]

    return callback


def network_regularizer(regularizer):
    """What the native network takes for a regularizer: None, a built-in's config, or a callback."""
    if regularizer is None:
        return None
    config = regularizer._native_config() if hasattr(regularizer, "_native_config") else None
    return config if config is not None else penalty(regularizer)


def network_constraint(constraint):
    """What the native network takes for a constraint: None, a built-in's config, or the callable
    itself (the engine calls ``constraint(values)`` after each update and copies the result in)."""
    if constraint is None:
        return None
    config = constraint._native_config() if hasattr(constraint, "_native_config") else None
    return config if config is not None else constraint


# ------------------------------------------------------------------------------- losses
class LossCallback:
    """The engine callback of a user's loss on one output, reduced as Keras reduces it.

    ``loss``: a ``fastdense.losses.Loss`` (its reduction applies) or a function returning
    per-sample losses (wrapped like Keras's compile does: squeeze/expand y_true to y_pred's
    rank, weight by sample_weight, sum over the batch divided by its size).
    """

    def __init__(self, loss, y_true_shape, y_pred_shape, dtype):
        if not isinstance(loss, losses.Loss):
            loss = losses.LossFunctionWrapper(loss, name=getattr(loss, "__name__", None), dtype=dtype)
        self.loss = loss
        self._y_true_shape = tuple(y_true_shape[1:])
        self._y_pred_shape = tuple(y_pred_shape[1:])

    def __call__(self, y_true, y_pred, sample_weight, with_grad):
        rows = y_pred.shape[0]
        y_true = y_true.reshape((rows,) + self._y_true_shape)
        y_pred = y_pred.reshape((rows,) + self._y_pred_shape)
        if not with_grad:
            return float(_total(self.loss(y_true, y_pred, sample_weight))), None
        value, pullback = autodiff.vjp(lambda p: _total(self.loss(y_true, p, sample_weight)), y_pred)
        return float(value), pullback(np.ones_like(value)).inputs[0]
