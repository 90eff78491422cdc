"""The preprocessing stage of a model: its preprocessing layers fed only by Inputs (directly or
through each other), run in Python on the data before it reaches the native engine.

String and integer columns never enter the engine: StringLookup, Hashing, ... turn them into
numbers here, once per fit/evaluate/predict call (not once per epoch: they are stateless while
training, so Keras's results are the same). Normalization and Rescaling on float tensors are
left to the engine's affine node unless a layer of the stage reads their output. The engine's inputs are then the stage's outputs
that the rest of the model reads (and any Input it reads directly); `engine_view` describes
them to the data conversion in place of the model's own Inputs.
"""

from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer, as_array


class EngineView:
    """What trainers/data.py's `input_arrays` reads of a model: the engine's inputs."""

    def __init__(self, name, inputs):
        self.name = name
        self.inputs = inputs

    def _input_list(self, arrays):
        return list(arrays)


class PreprocessingStage:
    """nodes: the graph nodes computed in Python, in graph order; engine_inputs: the tensors the
    engine reads, in order; computed_outside: ids of the nodes the engine must not lower."""

    def __init__(self, model, nodes, engine_inputs):
        self.model = model
        self.nodes = nodes
        self.engine_inputs = engine_inputs
        self.computed_outside = {id(node) for node in nodes}
        self.engine_view = EngineView(model.name, engine_inputs)

    @classmethod
    def of(cls, model):
        """The model's stage, or None when no preprocessing layer reads its Inputs."""
        python_tensors = {id(t) for t in model.inputs}
        nodes = []
        for node in model._graph_nodes:
            if node.inputs and isinstance(node.layer, PreprocessingLayer) and \
                    all(id(t) in python_tensors for t in node.inputs):
                nodes.append(node)
                python_tensors.update(id(t) for t in node.outputs)
        nodes = _engine_capable_removed(nodes)
        if not nodes:
            return None
        python_tensors = {id(t) for t in model.inputs}
        python_tensors.update(id(t) for node in nodes for t in node.outputs)
        staged = {id(node) for node in nodes}
        read_by_engine = [t for node in model._graph_nodes if node.inputs and id(node) not in staged
                          for t in node.inputs if id(t) in python_tensors]
        read_by_engine += [t for t in model.outputs if id(t) in python_tensors]
        engine_inputs, seen = [], set()
        for tensor in read_by_engine:
            if id(tensor) not in seen:
                seen.add(id(tensor))
                engine_inputs.append(tensor)
        return cls(model, nodes, engine_inputs)

    def apply(self, x):
        """The engine's input arrays computed from the data `x` of the model's Inputs."""
        arrays = self.model._input_list(x)
        if len(arrays) != len(self.model.inputs):
            raise ValueError(f"Model '{self.model.name}' expects {len(self.model.inputs)} input(s), got {len(arrays)}")
        values = {}
        for k, (tensor, value) in enumerate(zip(self.model.inputs, arrays)):
            if value is None:
                raise ValueError(f"Input {k} of model '{self.model.name}' is None")
            values[id(tensor)] = _column(value, tensor.shape)
        for node in self.nodes:
            args = [values[id(t)] for t in node.inputs]
            result = node.layer(args if node.list_input else args[0], **node.arguments)
            for tensor, value in zip(node.outputs, result if isinstance(result, list) else [result]):
                values[id(tensor)] = value
        return [values[id(t)] for t in self.engine_inputs]


def _engine_capable_removed(nodes):
    """The nodes without those the engine computes itself: a float-to-float layer
    (Normalization, Rescaling: `numeric_in_engine`) on float tensors whose outputs no other
    node of the stage reads, so that e.g. Input -> Normalization -> Dense trains as one native
    network (the engine's affine node computes what call() computes)."""
    read_by_stage = set()
    kept = []
    for node in reversed(nodes):
        movable = node.layer.numeric_in_engine and \
            all(str(t.dtype) in ("float32", "float64") for t in node.inputs) and \
            not any(id(t) in read_by_stage for t in node.outputs)
        if not movable:
            kept.append(node)
            read_by_stage.update(id(t) for t in node.inputs)
    return kept[::-1]


def _column(value, shape):
    """A column given as (N,) for an Input of shape (1,) becomes (N, 1), as Keras feeds it."""
    array = as_array(value)
    if array.ndim == len(shape) - 1 and shape[-1] == 1:
        array = array.reshape(array.shape + (1,))
    return array
