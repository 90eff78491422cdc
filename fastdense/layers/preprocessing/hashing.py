"""Hashing: values to bins by TensorFlow's string fingerprints, the same bins as Keras
(keras/src/layers/preprocessing/hashing.py: FarmHash64 `to_hash_bucket_fast`, or with a salt
the SipHash-2-4 `to_hash_bucket_strong`)."""

import numpy as np

from fastdense.layers.preprocessing import encoding, fingerprint
from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer
from fastdense.object_registry import register_builtin


def hash_text(value):
    """The bytes TensorFlow hashes for a value: strings as UTF-8, numbers as `tf.as_string`
    writes them (floats are first truncated to int64, as Keras casts them)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (float, np.floating)):
        value = int(value)
    return str(int(value)).encode("ascii")


def hash_buckets(values, num_buckets, salt=None):
    """`to_hash_bucket_fast` (salt None) or `to_hash_bucket_strong` (salt = [k0, k1]) of each
    value of an array, hashing every distinct value once."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        values = values.astype(np.int64)
    uniques, inverse = np.unique(values.reshape(-1), return_inverse=True)
    if salt is None:
        hashed = [fingerprint.fingerprint64(hash_text(v)) % num_buckets for v in uniques.tolist()]
    else:
        hashed = [fingerprint.siphash24(salt[0], salt[1], hash_text(v)) % num_buckets for v in uniques.tolist()]
    return np.asarray(hashed, dtype=np.int64)[inverse].reshape(values.shape)


def standard_salt(salt, owner):
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return list(salt)
    if isinstance(salt, int):
        return [salt, salt]
    raise ValueError(f"The `salt` argument for `{owner}` can only be a tuple of size 2 integers, or a single "
                     f"integer. Received: salt={salt}.")


@register_builtin("layers", "keras.layers")
class Hashing(PreprocessingLayer):
    """Hashes strings or integers into `num_bins` bins.

    Args:
        num_bins: the number of bins (bin 0 is the mask's when `mask_value` is set).
        mask_value: a value that always maps to bin 0.
        salt: an int or two ints: use the keyed SipHash instead of FarmHash.
        output_mode: 'int', 'one_hot', 'multi_hot' or 'count'.
        sparse: must be False.
    """

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                             f"Received: num_bins={num_bins}.")
        if output_mode == "int" and self._keras_dtype not in ("int32", "int64"):
            raise ValueError(f"When `output_mode=\"int\"`, `dtype` should be an integer type, 'int32' or 'in64'. "
                             f"Received: dtype={kwargs['dtype']}")
        if output_mode not in encoding.OUTPUT_MODES:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {encoding.OUTPUT_MODES}. "
                             f"Received: output_mode={output_mode}")
        if sparse:
            raise ValueError("fastdense computes dense outputs: Hashing(sparse=True) is not supported")
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = sparse
        self.salt = standard_salt(salt, "Hashing")

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def call(self, inputs):
        inputs = np.asarray(inputs)
        if self.output_mode == "one_hot" and inputs.ndim and inputs.shape[-1] == 1:
            inputs = inputs.reshape(inputs.shape[:-1])
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = inputs == self.mask_value
        indices = hash_buckets(inputs, bins, self.salt)
        if mask is not None:
            indices = np.where(mask, 0, indices + 1)
        return encoding.encode(indices, self.output_mode, self.num_bins, self._keras_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                       "output_mode": self.output_mode, "sparse": self.sparse})
        return config
