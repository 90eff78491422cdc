"""Metrics that the native engine cannot compute (AUC, Precision, Recall, R2Score, user functions)
run here, on the same batches and predictions as the native ones.

Keras computes a training step's metrics on that step's forward pass, before the weight update.
The engine keeps that batch (its predictions, gathered targets and sample weights) until the
next step, so the wrapper below drives the engine one batch per call and feeds each batch to
the Python metrics in between. Models without Python metrics keep the plain native Network and
its many-batches-per-call speed.
"""

import copy
import math

import numpy as np


def attach(network, compiled_outputs, output_shapes, y_true_shapes):
    """`network` itself when every metric is native, else a NetworkWithPythonMetrics around it."""
    slots = _python_slots(compiled_outputs)
    if not slots:
        return network
    return NetworkWithPythonMetrics(network, compiled_outputs, output_shapes, y_true_shapes)


def _python_slots(compiled_outputs):
    """(output index, CompiledMetric) of every metric that runs in Python, in compile order.

    A Metric object listed twice (for two outputs, or in metrics and weighted_metrics) would
    count every batch twice, so later listings get their own copy.
    """
    slots, seen = [], set()
    for o, output in enumerate(compiled_outputs):
        for metric in output.metrics:
            if metric.python is None:
                continue
            if id(metric.python) in seen:
                metric.python = copy.deepcopy(metric.python)
                metric.python.reset_state()
            seen.add(id(metric.python))
            slots.append((o, metric))
    return slots


class NetworkWithPythonMetrics:
    """A native Network whose train/evaluate also update the model's Python metrics.

    Everything else (predict, target_cols, ...) is the wrapped Network's.
    """

    def __init__(self, network, compiled_outputs, output_shapes, y_true_shapes):
        self._network = network
        self._compiled_outputs = compiled_outputs
        self._slots = _python_slots(compiled_outputs)
        self._output_shapes = [tuple(shape[1:]) for shape in output_shapes]
        self._target_shapes = [_known_shape(shape) for shape in y_true_shapes]
        for _, compiled in self._slots:  # like the new native network's, the metrics start from zero
            compiled.python.reset_state()

    def __getattr__(self, name):
        if name == "_network":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self._network, name)

    # -------------------------------------------------------------------------- steps
    def train(self, inputs, targets, sample_weight, index, batch_size, learning_rates):
        """The native train, one batch per call, each followed by the Python metrics' update."""
        index = np.arange(len(inputs[0]), dtype=np.int64) if index is None else np.asarray(index, dtype=np.int64)
        constant = isinstance(learning_rates, float)  # else one rate per step
        for step, start in enumerate(range(0, len(index), batch_size)):
            rate = learning_rates if constant else learning_rates[step:step + 1]
            self._network.train(inputs, targets, sample_weight, index[start:start + batch_size], batch_size, rate)
            self._update_python_metrics()

    def evaluate(self, inputs, targets, sample_weight, batch_size, index=None):
        count = len(inputs[0]) if index is None else len(index)
        index = np.arange(count, dtype=np.int64) if index is None else np.asarray(index, dtype=np.int64)
        for start in range(0, count, batch_size):
            self._network.evaluate(inputs, targets, sample_weight, batch_size, index[start:start + batch_size])
            self._update_python_metrics()

    def _update_python_metrics(self):
        predictions, targets, sample_weight = self._network.last_batch()
        for o, compiled in self._slots:
            rows = predictions[o].shape[0]
            y_pred = predictions[o].reshape((rows,) + self._output_shapes[o])
            y_true = self._shaped_targets(targets[o], o)
            compiled.python.update_state(y_true, y_pred, sample_weight=sample_weight if compiled.weighted else None)

    def _shaped_targets(self, target, o):
        """The batch's targets in the shape the user gave them (the engine keeps them flat)."""
        shape = self._target_shapes[o]
        if shape is None or math.prod(shape) != target.shape[1]:
            return target
        return target.reshape((target.shape[0],) + shape)

    # -------------------------------------------------------------------------- results
    def reset_metrics(self):
        self._network.reset_metrics()
        for _, compiled in self._slots:
            compiled.python.reset_state()

    def results(self):
        """(loss, per-output losses, every metric's result in compile order)."""
        loss, output_losses, native_values = self._network.results()
        native_values = iter(native_values)
        values = []
        for output in self._compiled_outputs:
            for metric in output.metrics:
                values.append(next(native_values) if metric.python is None else _as_log_value(metric.python.result()))
        return loss, output_losses, values


def _known_shape(batch_shape):
    """A target's per-sample shape, or None when it is unknown."""
    if batch_shape is None or any(d is None for d in batch_shape[1:]):
        return None
    return tuple(batch_shape[1:])


def _as_log_value(result):
    value = np.asarray(result)
    return float(value) if value.size == 1 else value
