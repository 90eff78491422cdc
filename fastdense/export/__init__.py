"""Exporting a model for inference elsewhere: `model.export(path, format="onnx")`.

Keras 3's `Model.export` (keras/src/models/model.py) also writes "tf_saved_model", "openvino",
"litert" and "torch" artifacts, each through its own framework; fastdense runs without any of
them and writes ONNX, which every one of those runtimes can import.
"""

EXPORT_FORMATS = ("onnx",)
# The formats Keras's export knows that fastdense does not write, and what each would need.
_KERAS_FORMATS = {
    "tf_saved_model": "TensorFlow",
    "openvino": "OpenVINO",
    "litert": "TensorFlow Lite",
    "torch": "PyTorch",
}


def export_model(model, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
    """Writes `model` to `filepath` in `format` (only "onnx"); see Model.export."""
    if format in _KERAS_FORMATS:
        raise ValueError(
            f"format='{format}' is not supported: it is written by {_KERAS_FORMATS[format]}'s own exporter, which "
            f"fastdense does not use. fastdense exports format='onnx' only (supported formats: "
            f"{list(EXPORT_FORMATS)}). To get a {format} artifact, save the model as .keras and export it from "
            f"Keras: keras.saving.load_model(path).export(..., format='{format}').")
    if format not in EXPORT_FORMATS:
        raise ValueError(f"Unrecognized format={format!r}. Supported formats are: {list(EXPORT_FORMATS)}.")
    from fastdense.export.onnx import export_onnx

    export_onnx(model, filepath, verbose=verbose, input_signature=input_signature, **kwargs)
