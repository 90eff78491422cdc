"""Discretization: floats to bucket indices, with boundaries given or adapted by Keras's
approximate quantiles (keras/src/layers/preprocessing/discretization.py: `summarize`,
`merge_summaries`, `compress_summary`, `get_bin_boundaries`)."""

import numpy as np

from fastdense.layers.preprocessing import adapt_data, encoding
from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer
from fastdense.object_registry import register_builtin


@register_builtin("layers", "keras.layers")
class Discretization(PreprocessingLayer):
    """Buckets continuous values: index i for bin_boundaries[i-1] <= x < bin_boundaries[i].

    Args:
        bin_boundaries: sorted boundaries, or None to adapt `num_bins` quantile bins.
        num_bins: the number of bins to adapt.
        epsilon: the error tolerance of the quantile summary (smaller: more exact, more memory).
        output_mode: 'int', 'one_hot', 'multi_hot' or 'count'.
        sparse: must be False.
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False, dtype=None,
                 name=None, **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        if sparse:
            raise ValueError("fastdense computes dense outputs: Discretization(sparse=True) is not supported")
        if output_mode not in encoding.OUTPUT_MODES:
            raise ValueError(f"Unknown value for `output_mode`. Allowed values are {encoding.OUTPUT_MODES}. "
                             f"Received: output_mode={output_mode}")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Both `num_bins` and `bin_boundaries` should not be set. Received: `num_bins={num_bins}` "
                             f"and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self.summary = None if bin_boundaries else np.array([[], []], dtype="float32")

    @property
    def output_dtype(self):
        return self._keras_dtype if self.output_mode != "int" else "int32"

    def adapt(self, data, batch_size=None, steps=None):
        """Finds `num_bins` quantile bins of `data` (arrays, DataFrames, Series, batches)."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`, "
                             "use `num_bins` instead.")
        self.summary = np.array([[], []], dtype="float32")
        for batch in adapt_data.batches(data, batch_size, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        summary = _summarize(np.asarray(data).astype("float32"), self.epsilon)
        self.summary = _merge_summaries(summary, self.summary, self.epsilon)

    def finalize_state(self):
        if self.num_bins is None:
            return
        self.bin_boundaries = _compress_summary(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        if self.output_mode == "one_hot":
            return encoding.encoded_shape(input_shape, "one_hot", depth)
        if input_shape and len(input_shape) >= 2:
            return (input_shape[0],) + tuple(input_shape[2:]) + (depth,)
        return (depth,)

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at construction time or call "
                             "`adapt(dataset)` before you can start using the `Discretization` layer.")
        indices = np.digitize(np.asarray(inputs, dtype=self.dtype), np.asarray(self.bin_boundaries, self.dtype))
        return encoding.encode(indices, self.output_mode, len(self.bin_boundaries) + 1, self.output_dtype)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": self._keras_dtype}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("trainable", None)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)

    def load_own_variables(self, store):
        if len(store) == 1:
            self.summary = store["0"]


def _summarize(values, epsilon):
    """An approximate summary (values, weights) of one batch: every step-th sorted value."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(np.size(values) / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def _merge_summaries(prev_summary, next_summary, epsilon):
    merged = np.concatenate((prev_summary, next_summary), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    return _compress_summary(merged, epsilon)


def _compress_summary(summary, epsilon):
    """The summary interpolated at quantiles epsilon, 2 epsilon, ..., 1 (unchanged when small)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_weight_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_weight_percents, summary[0])
    cum_weights = np.interp(percents, cum_weight_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")
