"""Lowering a built model to one native Network (`fastdense._core.Network`).

Every layer adds its own node through `Layer._lower(network, input_ids)` (a built-in layer a
native node, a user's layer a Python node, see python_nodes.py); the model's
`_lower_graph` walks its graph in order. For training, `build_network` then adds each output's
loss (losses.py) and native metrics and the optimizer, and wraps the network when some metric
runs in Python (python_metrics.py).
"""

import numpy as np

from fastdense import _core
from fastdense import random as fd_random
from fastdense.native import python_metrics
from fastdense.native.losses import engine_loss_config, network_loss


class OutputInfo:
    """What the data conversion needs to know about one output."""

    def __init__(self, name, shape, target_cols, sparse_classes):
        self.name = name
        self.shape = shape
        self.target_cols = target_cols  # columns of the (samples, columns) targets the engine reads
        self.sparse_classes = sparse_classes  # class count when targets are class indices, else None


def build_network(model, compiled_outputs=None, y_true_shapes=None, engine_inputs=None, computed_outside=()):
    """(network, one OutputInfo per output) for a built model.

    compiled_outputs: one compile_utils.CompiledOutput per model output for a training network
    (y_true_shapes: the batch shape of each output's targets, which sets the columns the engine
    reads); None for an inference network. The optimizer is `model.optimizer`, built for the
    model's trainable weights.

    engine_inputs / computed_outside: when part of the graph runs before the engine (the
    preprocessing stage, layers/preprocessing/stage.py), the tensors the engine reads instead of
    the model's Inputs, and the ids of the graph nodes it must not lower.
    """
    training = compiled_outputs is not None
    dtype = model._dtype
    network = _core.Network(dtype)
    network.seed(int(fd_random.global_generator().integers(0, 2**63 - 1)))
    if engine_inputs is None:
        input_ids = [t._keras_history[0]._lower(network, []) for t in model.inputs]
        output_ids = model._lower_graph(network, input_ids)
    else:
        output_ids = _lower_after_stage(model, network, engine_inputs, computed_outside)
    if training:
        for o, native_id in enumerate(output_ids):
            compiled = compiled_outputs[o]
            loss, target_cols = network_loss(compiled.loss, model.outputs[o].shape, y_true_shapes[o], dtype)
            network.add_output(native_id, loss, compiled.loss_weight, target_cols)
            for metric in compiled.metrics:
                if metric.native is not None:
                    network.add_metric(o, metric.native)
        variables = model.trainable_weights
        native_optimizer, indices = model.optimizer._native_for(variables)
        network.set_optimizer(native_optimizer, [v.value for v in variables], indices)
        attach = getattr(model.optimizer, "_attach_to_network", None)  # fastdense.horovod's gradient averaging
        if attach is not None:
            attach(network)
    else:
        for native_id in output_ids:
            network.add_output(native_id)
    output_infos = []
    for o, tensor in enumerate(model.outputs):
        width = int(np.prod(tensor.shape[1:]))
        sparse = None
        if training and (engine_loss_config(compiled_outputs[o].loss) or {}).get("name") == \
                "sparse_categorical_crossentropy":
            sparse = tensor.shape[-1]  # class ids index the last axis (per row on rank > 2 outputs)
        target_cols = network.target_cols(o) if training else width
        output_infos.append(OutputInfo(model._output_keys[o], tensor.shape, target_cols, sparse))
    if training:  # metrics the engine lacks run in Python on each batch's predictions
        network = python_metrics.attach(network, compiled_outputs, [t.shape for t in model.outputs], y_true_shapes)
    return network, output_infos


def _lower_after_stage(model, network, engine_inputs, computed_outside):
    """Lowers the graph nodes not computed before the engine; each engine input is a network
    input as wide as one sample of the tensor. Returns the output ids."""
    ids = {id(t): network.add_input(int(np.prod(t.shape[1:]))) for t in engine_inputs}
    for node in model._graph_nodes:
        if not node.inputs or id(node) in computed_outside:
            continue
        result = node.layer._lower(network, [ids[id(t)] for t in node.inputs])
        for tensor, native_id in zip(node.outputs, result if isinstance(result, list) else [result]):
            ids[id(tensor)] = native_id
    return [ids[id(t)] for t in model.outputs]
