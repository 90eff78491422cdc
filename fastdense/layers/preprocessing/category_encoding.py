"""CategoryEncoding: integer categories to one-hot, multi-hot or count vectors
(keras/src/layers/preprocessing/category_encoding.py)."""

from fastdense.layers.preprocessing import encoding
from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer
from fastdense.object_registry import register_builtin


@register_builtin("layers", "keras.layers")
class CategoryEncoding(PreprocessingLayer):
    """Encodes integer features in [0, num_tokens).

    Args:
        num_tokens: the number of categories.
        output_mode: 'one_hot' (one vector per value), 'multi_hot' (one vector per sample
            marking the values present) or 'count' (how often each value occurs).
        sparse: must be False (fastdense computes dense outputs).
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("fastdense computes dense outputs: CategoryEncoding(sparse=True) is not supported")
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = sparse

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 0:
            return (self.num_tokens,)
        return encoding.encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. "
                             f"Received `count_weights={count_weights}`.")
        return encoding.encode(inputs, self.output_mode, self.num_tokens, self.output_dtype, count_weights)

    def get_config(self):
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})
        return config
