"""OnnxGraph: the ONNX graph under construction while a model is exported.

Converters add operators with `op`, weights with `constant` and scalars with `scalar`, and get
back the names of the tensors they made. Tensor names are unique within the graph (a layer's
name plus what the tensor is: "dense_1/Gemm"); the model's input and output names are reserved
first so no intermediate tensor takes them. The whole graph computes in one dtype, the model's
(fastdense runs a whole network in the dtype of its first input).

Imports onnx: only fastdense.export.onnx imports this module, when a model is exported.
"""

import numpy as np
from onnx import helper, numpy_helper

# Operators onnxruntime (1.32, CPU) runs in float32 only: in float64 they fail to load, except a
# few at opset 18, where onnxruntime expands them into their ONNX function bodies. A float64 graph
# composes them from elementwise operators instead.
_FLOAT32_ONLY_IN_ONNXRUNTIME = frozenset({
    "Celu", "Elu", "Erf", "Gelu", "HardSigmoid", "HardSwish", "LeakyRelu", "Mish", "PRelu", "Selu", "Softplus",
    "Softsign",
})


class OnnxGraph:
    """Nodes and initializers of one ONNX graph.

    Args:
        dtype: 'float32' or 'float64', the dtype every tensor of the graph has.
        opset: the ONNX opset the graph is written for (converters pick operators by it).
    """

    def __init__(self, dtype, opset):
        self.dtype = np.dtype(dtype)
        self.elem_type = helper.np_dtype_to_tensor_dtype(self.dtype)
        self.opset = int(opset)
        self.nodes = []
        self.initializers = []
        self._taken = set()
        self._constants = {}  # cache key -> initializer name: a weight or scalar is stored once
        self._bound = {}  # tensor -> the output name it was renamed to by bind_output

    def has_operator(self, op_type, since=1):
        """Whether converters may use `op_type`: it exists at this opset (`since` = the opset
        that introduced it) and onnxruntime runs it in this graph's dtype."""
        if self.opset < since:
            return False
        return self.dtype.name != "float64" or op_type not in _FLOAT32_ONLY_IN_ONNXRUNTIME

    # -------------------------------------------------------------------------------- names
    def reserve(self, name):
        """Claims `name` exactly (a graph input or output name); ValueError if it is taken."""
        if name in self._taken:
            raise ValueError(f"the ONNX tensor name {name!r} is used twice")
        self._taken.add(name)
        return name

    def fresh_name(self, hint):
        """`hint`, or `hint_1`, `hint_2`, ... : the first of them no tensor has yet."""
        name, counter = hint, 0
        while name in self._taken:
            counter += 1
            name = f"{hint}_{counter}"
        self._taken.add(name)
        return name

    # ----------------------------------------------------------------------------- contents
    def op(self, op_type, inputs, hint, **attributes):
        """Adds one `op_type` node reading `inputs` (names; "" for an omitted optional input)
        and returns the name of its single output."""
        output = self.fresh_name(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=output, **attributes))
        return output

    def constant(self, array, hint, key=None, dtype=None):
        """An initializer holding `array` (in the graph's dtype unless `dtype` is given).

        `key` identifies the value across calls, so a shared layer's weights, converted once
        per call of the layer, are stored once."""
        if key is not None and key in self._constants:
            return self._constants[key]
        value = np.ascontiguousarray(np.asarray(array, dtype=dtype or self.dtype))
        name = self.fresh_name(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        if key is not None:
            self._constants[key] = name
        return name

    def scalar(self, value):
        """A rank-0 initializer of the graph's dtype holding `value` (one per distinct value)."""
        value = self.dtype.type(value)
        return self.constant(value, f"const_{float(value):g}", key=("scalar", value.tobytes()))

    def int64s(self, values, hint):
        """A 1-D int64 initializer (shapes and axes given as operator inputs)."""
        values = tuple(int(v) for v in values)
        return self.constant(np.array(values, dtype=np.int64), hint, key=("int64", values), dtype=np.int64)

    def clip(self, x, low, high, hint):
        """``min(max(x, low), high)``: Clip, or in float64 Max then Min, because onnxruntime
        1.32 fuses a Relu followed by a Clip into one kernel that fails on float64."""
        if self.dtype.name != "float64":
            return self.op("Clip", [x, self.scalar(low), self.scalar(high)], f"{hint}/Clip")
        return self.op("Min", [self.op("Max", [x, self.scalar(low)], f"{hint}/Max"), self.scalar(high)], f"{hint}/Min")

    def reduce(self, op_type, x, axes, hint):
        """A Reduce* node over `axes` keeping them as size 1. The axes became an input instead
        of an attribute in opset 13 for ReduceSum, in opset 18 for the others."""
        if self.opset >= (13 if op_type == "ReduceSum" else 18):
            return self.op(op_type, [x, self.int64s(axes, f"{hint}/axes")], hint, keepdims=1)
        return self.op(op_type, [x], hint, axes=list(axes), keepdims=1)

    # -------------------------------------------------------------------------- graph ends
    def value_info(self, name, shape, batch_dim="batch"):
        """The declared type of a graph input/output: None dims become symbolic (the batch axis
        is called `batch_dim`, any other unknown axis `<name>_dim<i>`)."""
        dims = []
        for axis, size in enumerate(shape):
            if size is not None:
                dims.append(int(size))
            else:
                dims.append(batch_dim if axis == 0 else f"{name}_dim{axis}")
        return helper.make_tensor_value_info(name, self.elem_type, dims)

    def bind_output(self, tensor, name):
        """Makes the graph output `name` (already reserved) carry `tensor`.

        The node that made `tensor` is changed to write `name` directly; an Identity is added
        instead when `tensor` is no node's output (a graph input passed straight through) or
        already carries another output."""
        if tensor in self._bound:
            self.nodes.append(helper.make_node("Identity", [self._bound[tensor]], [name], name=name))
            return
        producer = next((node for node in self.nodes if tensor in node.output), None)
        if producer is None:
            self.nodes.append(helper.make_node("Identity", [tensor], [name], name=name))
            return
        for node in self.nodes:
            node.output[:] = [name if out == tensor else out for out in node.output]
            node.input[:] = [name if inp == tensor else inp for inp in node.input]
        producer.name = name
        self._bound[tensor] = name

    def model(self, inputs, outputs, graph_name, producer_version):
        """The ModelProto: `inputs`/`outputs` are value infos; IR version = the oldest that
        knows the opset (onnx 1.23 would write IR 14, which older onnxruntime releases refuse)."""
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.initializers)
        opset_imports = [helper.make_opsetid("", self.opset)]
        return helper.make_model(graph, opset_imports=opset_imports,
                                 ir_version=helper.find_min_ir_version_for(opset_imports),
                                 producer_name="fastdense", producer_version=producer_version)
