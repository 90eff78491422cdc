"""HashedCrossing: crosses of categorical features hashed into bins, the bins of Keras's
`tf.sparse.cross_hashed` (keras/src/layers/preprocessing/hashed_crossing.py): starting from
the op's default key, each feature's hash (a string's FarmHash64 fingerprint, an integer's own
value) is folded in with FingerprintCat64, and the result taken modulo num_bins."""

import numpy as np

from fastdense.layers.preprocessing import encoding, fingerprint
from fastdense.layers.preprocessing.hashing import hash_text
from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer
from fastdense.object_registry import register_builtin


@register_builtin("layers", "keras.layers")
class HashedCrossing(PreprocessingLayer):
    """Hashes the cross of two or more categorical inputs of equal shape ((), (batch,) or
    (batch, 1)) into `num_bins` bins.

    Args:
        num_bins: the number of bins.
        output_mode: 'int' or 'one_hot'.
        sparse: must be False.
    """

    _takes_list = True

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise ValueError("fastdense computes dense outputs: HashedCrossing(sparse=True) is not supported")
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"Unknown value for `output_mode`. Allowed values are ('int', 'one_hot'). "
                             f"Received: output_mode={output_mode}")
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = sparse

    def compute_output_shape(self, input_shape):
        if not (len(input_shape) >= 2 and all(isinstance(s, tuple) for s in input_shape)):
            raise ValueError(f"Expected as input a list/tuple of 2 tensors. Received input_shape={input_shape}")
        first = tuple(input_shape[0])
        if any(tuple(s)[-1:] != first[-1:] for s in input_shape[1:]):
            raise ValueError(f"Expected the two input tensors to have identical shapes. Received input_shape={input_shape}")
        if self.output_mode == "int":
            return first
        if first[-1] != 1:
            return first + (self.num_bins,)
        return first[:-1] + (self.num_bins,)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"`HashedCrossing` should be called on at least two inputs. Received: inputs={inputs}")
        arrays = [np.asarray(x) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError("All `HashedCrossing` inputs should have shape `()`, `(batch_size)` or `(batch_size, 1)`. "
                             f"Received shapes {[a.shape for a in arrays]}")
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError(f"All `HashedCrossing` inputs should have equal shape. Received shapes "
                             f"{[a.shape for a in arrays]}")
        if not all(a.dtype.kind in "iuUSO" for a in arrays):
            raise ValueError("All `HashedCrossing` inputs should have an integer or string dtype. Received dtypes "
                             f"{[str(a.dtype) for a in arrays]}")
        crossed = np.full(arrays[0].size, fingerprint.CROSS_HASH_KEY, dtype=np.uint64)
        for array in arrays:
            crossed = fingerprint.fingerprint_cat64_array(crossed, _feature_hashes(array.reshape(-1)))
        crossed = (crossed % np.uint64(self.num_bins)).astype(np.int64).reshape(shape)
        return encoding.encode(crossed, self.output_mode, self.num_bins, self._keras_dtype)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name,
                "dtype": self._keras_dtype}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("trainable", None)
        return cls(**config)


def _feature_hashes(values):
    """One uint64 per value, as cross_hashed hashes features: strings by Fingerprint64, integers
    as their own two's-complement value."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64).view(np.uint64)
    uniques, inverse = np.unique(values, return_inverse=True)
    hashed = np.asarray([fingerprint.fingerprint64(hash_text(v)) for v in uniques.tolist()], dtype=np.uint64)
    return hashed[inverse]
