"""Embedding: integer ids → rows of a learned table (Keras 3, keras/src/layers/core/embedding.py).

It runs natively (src/engine/layer/Embedding.h): the ids reach the engine as floats like every
input and are checked there (integers in [0, input_dim), else an error naming the layer). The
table's gradient is dense with the rows of a repeated id summed, so every optimizer takes the
step of the same model written as one-hot + Dense(use_bias=False), as Keras's torch and jax
backends do; tf.keras's Adam, RMSprop, Adagrad and Nadam differ from that when an id repeats
within a batch (they apply their rule to each gathered row before summing).

`mask_zero` is accepted and kept in the config; no fastdense layer consumes masks, so it changes
nothing downstream (Flatten, Dense and pooling in Keras ignore the mask too, apart from
GlobalAveragePooling1D and the recurrent layers, which fastdense does not have).
"""

import numpy as np

from fastdense import constraints, initializers, regularizers
from fastdense.layers.layer import Layer
from fastdense.native.python_nodes import network_constraint, network_regularizer
from fastdense.object_registry import register_builtin


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{what}` must be a positive integer. Received: {what}={value!r} "
                         f"(of type {type(value).__name__}).")
    return int(value)


@register_builtin("layers", "keras.layers")
class Embedding(Layer):
    """Turns non-negative integer ids into dense vectors: `[[4], [20]] → [[0.25, 0.1], [0.6, -0.2]]`.

    Args:
        input_dim: size of the vocabulary (largest id + 1).
        output_dim: dimension of each embedding vector.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint: of the
            (input_dim, output_dim) `embeddings` table.
        mask_zero: kept for the config; fastdense computes no masks (see the module docstring).
        weights: optional initial table, an array of shape (input_dim, output_dim) or a list of one.
        lora_rank, lora_alpha, quantization_config: must be None (not supported).

    Input shape: (batch, ...) integer ids. Output shape: (batch, ..., output_dim).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        input_dim = _positive_int(input_dim, "input_dim")
        output_dim = _positive_int(output_dim, "output_dim")
        if lora_rank or lora_alpha:
            raise ValueError("Embedding: LoRA (lora_rank, lora_alpha) is not supported by fastdense")
        if quantization_config is not None:
            raise ValueError("Embedding: quantization is not supported by fastdense")
        kwargs.pop("input_length", None)  # deprecated and ignored by Keras 3 as well
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.embeddings = None
        if weights is not None:
            self._make_table()
            self.built = True
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1 else [weights])

    def _make_table(self):
        if self.embeddings is None:
            self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim, self.output_dim),
                                              initializer=self.embeddings_initializer,
                                              regularizer=self.embeddings_regularizer,
                                              constraint=self.embeddings_constraint)

    def build(self, input_shape=None):
        self._make_table()

    def call(self, inputs):
        ids = np.asarray(inputs)
        if not np.all(np.isfinite(ids)) or not np.array_equal(ids, np.floor(ids)):
            raise ValueError(f"Embedding '{self.name}': ids must be integers")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise IndexError(f"Embedding '{self.name}': ids must be in [0, {self.input_dim}), "
                             f"got values in [{ids.min()}, {ids.max()}]")
        return np.take(np.asarray(self.embeddings.value), ids, axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def _lower(self, network, input_ids):
        return network.add_embedding(
            input_ids[0], self.embeddings.value,
            embeddings_regularizer=network_regularizer(self.embeddings_regularizer),
            embeddings_constraint=network_constraint(self.embeddings_constraint),
            activity_regularizer=network_regularizer(self.activity_regularizer),
            trainable=self.trainable, name=self.name)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        })
        return config
