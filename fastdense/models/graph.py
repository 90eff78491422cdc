"""Ordering the nodes of a functional graph the way Keras does.

Depth of a node = the longest path from it to an output; a layer's depth is the largest of its
nodes'. Layers are listed deepest first (inputs first), ties in the order a depth-first walk
from the outputs meets them — which is the order of `model.layers`, and so of `get_weights()`.
"""


def map_graph(inputs, outputs):
    """Returns (nodes in execution order, layers in Keras's order) for the graph inputs → outputs."""
    finished, in_progress = set(), set()
    nodes_in_decreasing_depth = []
    layer_indices = {}

    def visit(tensor):
        layer, node_index, _ = tensor._keras_history
        node = layer._inbound_nodes[node_index]
        if node in in_progress:
            raise ValueError(f"The graph has a cycle through layer '{layer.name}'")
        if node in finished:
            return
        layer_indices.setdefault(layer, len(layer_indices))
        in_progress.add(node)
        for parent_tensor in node.inputs:
            visit(parent_tensor)
        in_progress.remove(node)
        finished.add(node)
        nodes_in_decreasing_depth.append(node)

    for tensor in outputs:
        if getattr(tensor, "_keras_history", None) is None:
            raise ValueError(f"Model outputs must come from layers called on Input tensors, got {tensor!r}")
        visit(tensor)

    node_depth, layer_depth = _depths(nodes_in_decreasing_depth)
    input_layers = {t._keras_history[0] for t in inputs}
    for node in nodes_in_decreasing_depth:
        if not node.inputs and node.layer not in input_layers:
            raise ValueError(
                f"Graph disconnected: the output needs Input '{node.layer.name}', which is not among the model's "
                f"inputs {[t._keras_history[0].name for t in inputs]}"
            )

    nodes = sorted(nodes_in_decreasing_depth, key=lambda n: -node_depth[n])
    layers = sorted(layer_indices, key=lambda layer: (-layer_depth[layer], layer_indices[layer]))
    # Inputs the outputs do not depend on still belong to the model.
    for tensor in inputs:
        if tensor._keras_history[0] not in layer_indices:
            layers.insert(0, tensor._keras_history[0])
    return nodes, layers


def _depths(nodes_in_decreasing_depth):
    """(depth of each node, depth of each layer), walking from the outputs back to the inputs."""
    node_depth, layer_depth = {}, {}
    for node in reversed(nodes_in_decreasing_depth):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node.layer, 0))
        node_depth[node] = layer_depth[node.layer] = depth
        for parent in node.parent_nodes:
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    return node_depth, layer_depth


def nodes_by_depth(nodes):
    """{depth: [nodes]} for a model's nodes in execution order (deepest, i.e. inputs, first)."""
    node_depth, _ = _depths(nodes)
    grouped = {}
    for node in nodes:
        grouped.setdefault(node_depth[node], []).append(node)
    return grouped
