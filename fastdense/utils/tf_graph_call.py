"""Running NumPy preprocessing inside a TensorFlow graph, for `dataset.map(lambda x, y:
(feature_space(x), y))` (the keras.io FeatureSpace recipe's tf.data pipeline).

Inside `Dataset.map` the columns are symbolic tf.Tensors with no values; Keras's FeatureSpace
runs TensorFlow ops there. fastdense computes in NumPy, so the call becomes one
`tf.numpy_function` node that runs the eager call on each batch's values. TensorFlow is found
among the modules already imported (graph tensors come from it), never imported here.
"""

import sys


def tensorflow_graph(values):
    """The tensorflow module when some value is a symbolic (graph) tf.Tensor, else None."""
    tf = sys.modules.get("tensorflow")
    if tf is None or tf.executing_eagerly():
        return None
    if any(isinstance(value, tf.Tensor) for value in values):
        return tf
    return None


def call_in_graph(tf, eager_call, data, names, outputs):
    """`eager_call(dict)` as a graph node over the tensors data[name] for `names`; `outputs` is
    a KerasTensor or a dict of them describing the result per sample (dtype and shape after the
    batch axis). Unbatched (scalar) columns give one sample, as the eager call does."""
    columns = [tf.convert_to_tensor(data[name]) for name in names]
    keys = sorted(outputs) if isinstance(outputs, dict) else None
    specs = [outputs[key] for key in keys] if keys is not None else [outputs]
    dtypes = [tf.as_dtype(spec.dtype) for spec in specs]

    def run(*values):
        result = eager_call(dict(zip(names, values)))
        arrays = [result[key] for key in keys] if keys is not None else [result]
        return [array.astype(dtype.as_numpy_dtype, copy=False) for array, dtype in zip(arrays, dtypes)]

    results = tf.numpy_function(run, columns, dtypes, stateful=False)
    single = all(column.shape.rank == 0 for column in columns)
    for tensor, spec in zip(results, specs):
        tensor.set_shape(tuple(spec.shape[1:]) if single else (None,) + tuple(spec.shape[1:]))
    if keys is not None:
        return dict(zip(keys, results))
    return results[0]
