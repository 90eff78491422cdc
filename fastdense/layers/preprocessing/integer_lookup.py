"""IntegerLookup (keras/src/layers/preprocessing/integer_lookup.py)."""

import numpy as np

from fastdense.layers.preprocessing.index_lookup import IndexLookup
from fastdense.object_registry import register_builtin


@register_builtin("layers", "keras.layers")
class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices (or one/multi-hot, count, tf-idf vectors).

    Arguments as StringLookup's, with integer tokens: mask_token (None), oov_token (-1),
    vocabulary_dtype ('int64' or 'int32'); several OOV buckets take `value % num_oov_indices`
    (oov_method='floormod') or a FarmHash64 of the value's decimal string ('farmhash').
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, name=None, oov_method="floormod", salt=None, **kwargs):
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"`vocabulary_dtype` must be 'int64' or 'int32'. Received: {vocabulary_dtype}")
        if max_tokens is not None and max_tokens <= 0:
            raise ValueError(f"If `max_tokens` is set for `IntegerLookup`, it must be greater than 0. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if vocabulary is not None and not isinstance(vocabulary, str):
            vocabulary = np.asarray(vocabulary).astype(vocabulary_dtype)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, vocabulary_dtype=vocabulary_dtype,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, name=name, oov_method=oov_method, salt=salt,
                         **kwargs)
