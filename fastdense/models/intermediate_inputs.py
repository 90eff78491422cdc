"""A functional model whose inputs are intermediate tensors of a graph, not Input tensors.

`Model(inputs=encoded_features, outputs=predictions)` (the keras.io FeatureSpace recipe) cuts
the graph at `encoded_features`: the layers above it are not part of the model. As Keras does
(`clone_graph_nodes` in keras/src/models/functional.py), each intermediate input becomes a new
Input named '<tensor name>CLONE' of the tensor's shape and dtype, and every call between the
inputs and the outputs is recorded again as a new node of the same layer (weights shared) on
copies of the tensors, so the original graph (and other models built on it, e.g. one from the
raw Inputs to the same outputs) keeps its own nodes.
"""

from fastdense.layers.input_layer import Input, InputLayer, KerasTensor, Node


def is_input_tensor(tensor):
    """Whether `tensor` is the output of an Input (an InputLayer's node)."""
    return isinstance(tensor, KerasTensor) and tensor._keras_history is not None and \
        isinstance(tensor._keras_history[0], InputLayer)


def clone_graph_nodes(inputs, outputs):
    """(inputs, outputs) of the same structures as given, over new nodes starting at new Inputs
    in place of every intermediate input."""
    flat_inputs = _flatten(inputs)
    flat_outputs = _flatten(outputs)
    replaced = {}  # id(original tensor) -> its copy in the cut graph
    for tensor in flat_inputs:
        if tensor._keras_history is None:
            raise ValueError(f"Model inputs must be tensors of a functional graph (an Input or a layer's output), "
                             f"got {tensor!r}")
        if is_input_tensor(tensor):
            replaced[id(tensor)] = tensor
        else:
            replaced[id(tensor)] = Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=f"{tensor.name}CLONE")
    for node in _nodes_between(set(replaced), flat_outputs):
        new_inputs = [replaced[id(t)] for t in node.inputs]
        new_outputs = [_copy(t, replaced) for t in node.outputs]
        Node(node.layer, new_inputs, new_outputs, node.arguments, list_input=node.list_input)
    return _pack(inputs, replaced), _pack(outputs, replaced)


def _nodes_between(input_ids, outputs):
    """The nodes computing `outputs` from the tensors of `input_ids`, in execution order (the
    walk stops at those tensors; a node above them belongs to the graph, not to the model)."""
    ordered, seen = [], set()

    def visit(tensor):
        if id(tensor) in input_ids:
            return
        if tensor._keras_history is None:
            raise ValueError(f"Model outputs must come from layers called on symbolic tensors, got {tensor!r}")
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if id(node) in seen:
            return
        seen.add(id(node))
        if not node.inputs:
            raise ValueError(f"Graph disconnected: the outputs need Input '{layer.name}', which is above the model's "
                             "inputs (or not among them)")
        for parent in node.inputs:
            visit(parent)
        ordered.append(node)

    for tensor in outputs:
        visit(tensor)
    return ordered


def _copy(tensor, replaced):
    if id(tensor) not in replaced:
        replaced[id(tensor)] = KerasTensor(tensor.shape, tensor.dtype, name=f"{tensor.name}_clone")
    return replaced[id(tensor)]


def _flatten(structure):
    if isinstance(structure, dict):
        return list(structure.values())
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [structure]


def _pack(structure, replaced):
    if isinstance(structure, dict):
        return {key: replaced.get(id(value), value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(replaced.get(id(value), value) for value in structure)
    return replaced.get(id(structure), structure)
