"""StringLookup (keras/src/layers/preprocessing/string_lookup.py)."""

from fastdense.layers.preprocessing.index_lookup import IndexLookup
from fastdense.object_registry import register_builtin


@register_builtin("layers", "keras.layers")
class StringLookup(IndexLookup):
    """Maps strings to integer indices (or one/multi-hot, count, tf-idf vectors).

    Args:
        max_tokens: the largest vocabulary (special tokens included) adapt() learns.
        num_oov_indices: buckets for out-of-vocabulary strings (hashed when more than one).
        mask_token: a string mapped to index 0 (None: no mask).
        oov_token: what invert=True returns for OOV indices.
        vocabulary: a list/array of strings or the path of a text file, one per line.
        idf_weights: with output_mode='tf_idf' and a vocabulary, its inverse document frequencies.
        invert: map indices back to strings.
        output_mode: 'int', 'one_hot', 'multi_hot', 'count' or 'tf_idf'.
        pad_to_max_tokens: make vector outputs max_tokens wide.
        encoding: the text encoding (utf-8).
        salt: keys SipHash for the OOV buckets.
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def _convert_token(self, token):
        return token.decode(self.encoding) if isinstance(token, bytes) else str(token)

    def get_config(self):
        config = super().get_config()
        del config["vocabulary_dtype"]
        config["encoding"] = self.encoding
        return config
