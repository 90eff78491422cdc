"""`model.export(path, format="onnx")`: a standalone ONNX file of the model's inference pass.

The graph is written with `onnx.helper` directly from the model's layers (no tracing, so a
model that was built but never called exports too): every built-in layer and activation maps to
standard ONNX operators (fastdense.export.onnx_layers, onnx_activations). The batch axis is
dynamic; the opset defaults to 18 and the IR version is the oldest that knows it (IR 8), which
onnxruntime has read since 1.14. Keras's own export (keras/src/export/onnx.py) goes through
tf2onnx or torch.onnx instead and needs the model to have been called.

onnx is imported here, on first export only: importing fastdense never imports it.
"""

import numpy as np

from fastdense import backend
from fastdense.saving.atomic import atomic_path
from fastdense.utils.io_utils import print_msg

DEFAULT_OPSET = 18
# LayerNormalization became an ONNX operator in opset 17.
MIN_OPSET = 17


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None, **kwargs):
    """Writes `model` to `filepath` as an ONNX model for inference.

    Args:
        model: a built fastdense Model or Sequential of built-in layers.
        filepath: `str` or `pathlib.Path`, the file to write.
        verbose: whether to print where the file was written (default True, as Keras).
        input_signature: optional, one spec per model input (a list, or a dict by input name):
            anything with a `.shape` (a KerasTensor, a Keras `InputSpec`, a `tf.TensorSpec`, a
            NumPy array). A fixed first dimension fixes the batch size; None keeps it dynamic.
            A spec's `name`, when it has one, names the ONNX input. Default: the model's inputs.
        opset_version: the ONNX opset, >= 17 (default 18).

    Inputs are named after the model's Input layers, outputs after the layers that produce them.
    """
    if kwargs:
        raise TypeError(f"export(format='onnx') got unexpected keyword argument(s) {sorted(kwargs)}; it takes "
                        "verbose, input_signature and opset_version")
    opset = _opset(opset_version)
    if model.inputs is None:
        raise ValueError(f"Model '{model.name}' cannot be exported before it is built: give it an Input, call "
                         f"model.build(input_shape), or use it on data first")
    try:
        import onnx
    except ImportError as error:
        raise ImportError("Exporting to ONNX needs the onnx package: pip install 'fastdense[onnx]'") from error
    from fastdense import __version__
    from fastdense.export.onnx_graph import OnnxGraph
    from fastdense.export.onnx_layers import convert_graph

    dtype = model.inputs[0].dtype
    inputs = _input_specs(model, input_signature, dtype)
    graph = OnnxGraph(dtype, opset)
    for name, _ in inputs:
        graph.reserve(name)
    output_names = [graph.fresh_name(name) for name in model.output_names]
    output_tensors = convert_graph(graph, model, [name for name, _ in inputs])
    for tensor, name in zip(output_tensors, output_names):
        graph.bind_output(tensor, name)

    batch = inputs[0][1][0]  # the outputs share the inputs' batch axis, fixed or dynamic
    proto = graph.model(
        inputs=[graph.value_info(name, shape) for name, shape in inputs],
        outputs=[graph.value_info(name, (batch,) + tuple(tensor.shape[1:]))
                 for name, tensor in zip(output_names, model.outputs)],
        graph_name=model.name, producer_version=__version__)
    onnx.checker.check_model(proto)
    with atomic_path(filepath) as temp_path:
        onnx.save_model(proto, temp_path)
    if verbose is None or verbose:
        print_msg(f"Saved artifact at '{filepath}'.")


def _opset(opset_version):
    if opset_version is None:
        return DEFAULT_OPSET
    if isinstance(opset_version, bool) or not isinstance(opset_version, (int, np.integer)) or \
            opset_version < MIN_OPSET:
        raise ValueError(f"opset_version must be an integer >= {MIN_OPSET} (LayerNormalization needs 17), "
                         f"got {opset_version!r}")
    return int(opset_version)


def _input_specs(model, input_signature, dtype):
    """[(ONNX input name, batch shape)] for the model's inputs, from `input_signature` if given."""
    names = model.input_names
    shapes = [tuple(tensor.shape) for tensor in model.inputs]
    if input_signature is None:
        return list(zip(names, shapes))
    specs = _flat_specs(input_signature, names)
    if len(specs) != len(names):
        raise ValueError(f"input_signature has {len(specs)} spec(s), but model '{model.name}' has "
                         f"{len(names)} input(s) {names}")
    result = []
    for spec, name, shape in zip(specs, names, shapes):
        spec_shape = tuple(None if d is None else int(d) for d in spec.shape)
        compatible = len(spec_shape) == len(shape) and all(
            model_dim is None or model_dim == spec_dim for spec_dim, model_dim in zip(spec_shape, shape))
        if not compatible:
            raise ValueError(f"input_signature gives shape {spec_shape} for input '{name}', whose shape is {shape}")
        spec_dtype = getattr(spec, "dtype", None)
        if spec_dtype is not None and backend.standardize_dtype(spec_dtype) != dtype:
            raise ValueError(f"input_signature gives dtype {spec_dtype} for input '{name}', but the model computes "
                             f"in {dtype}")
        spec_name = getattr(spec, "name", None)
        result.append((spec_name if isinstance(spec_name, str) and spec_name else name, spec_shape))
    return result


def _flat_specs(signature, names):
    """The specs of a signature: a dict by input name, or a (nested) list or tuple of specs."""
    if isinstance(signature, dict):
        missing = [name for name in names if name not in signature]
        if missing:
            raise ValueError(f"input_signature has no spec for input(s) {missing}")
        return [signature[name] for name in names]
    if isinstance(signature, (list, tuple)):
        return [spec for item in signature for spec in _flat_specs(item, names)]
    if not hasattr(signature, "shape"):
        raise ValueError(f"input_signature entries must have a shape (an InputSpec, KerasTensor, TensorSpec or "
                         f"array), got {signature!r}")
    return [signature]
