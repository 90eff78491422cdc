"""IndexLookup: the vocabulary table behind StringLookup and IntegerLookup
(keras/src/layers/preprocessing/index_lookup.py), as a Python dict.

Index layout (output_mode='int'): [mask (when mask_token is set)] [num_oov_indices OOV
buckets] [vocabulary]. An adapted vocabulary is ordered by descending frequency, ties by
descending token (Keras's `np.lexsort((tokens, counts))[::-1]`). With several OOV buckets, an
unknown integer goes to `value % num_oov_indices`, an unknown string (or any value with
oov_method='farmhash') to its FarmHash64 (or salted SipHash) bucket.
"""

import collections
import os

import numpy as np

from fastdense.layers.preprocessing import adapt_data, encoding
from fastdense.layers.preprocessing.hashing import hash_buckets, standard_salt
from fastdense.layers.preprocessing.preprocessing_layer import PreprocessingLayer, as_array

VOCABULARY_ASSET = "vocabulary.txt"  # the file Keras writes under the layer's assets


class IndexLookup(PreprocessingLayer):
    """Maps tokens to indices (or, with invert=True, indices back to tokens); see StringLookup."""

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", name=None, salt=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"Unknown value for `oov_method`: {oov_method!r}; allowed: 'floormod', 'farmhash'")
        if salt is not None and vocabulary_dtype != "string" and oov_method != "farmhash":
            raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. Received: oov_method={oov_method}")
        salt = standard_salt(salt, "IndexLookup")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in ("int", "one_hot", "multi_hot", "count", "tf_idf"):
            raise ValueError(f"Unknown value for `output_mode`: {output_mode!r}; allowed: 'int', 'one_hot', "
                             "'multi_hot', 'count', 'tf_idf'")
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. Received: output_mode={output_mode}")
        if sparse:
            raise ValueError(f"fastdense computes dense outputs: {type(self).__name__}(sparse=True) is not supported")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                             f"Received: idf_weights={idf_weights} and output_mode={output_mode}")
        frozen_size = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self._frozen_vocab_size = frozen_size
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        self._tokens = []  # the learned/given vocabulary, special tokens excluded
        self._index = {}
        self.idf_weights = None
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output mode, the `idf_weights` "
                             "argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0

    @property
    def output_dtype(self):
        if self.invert:
            return "string" if self.vocabulary_dtype == "string" else self.vocabulary_dtype
        return "int64" if self.output_mode == "int" else "float32"

    # ----------------------------------------------------------------------------- vocabulary
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def _convert_token(self, token):
        if self.vocabulary_dtype == "string":
            return token.decode("utf-8") if isinstance(token, bytes) else str(token)
        return int(token)

    def vocabulary_size(self):
        """The number of indices: special tokens and vocabulary."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        vocab = [self.oov_token] * self._token_start_index() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list, an array, or a text file with one token per line)."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. Received: "
                             f"output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            path = os.fspath(vocabulary)
            if not os.path.exists(path):
                raise ValueError(f"Vocabulary file {path} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a vocabulary from file.")
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            vocabulary = lines
            from_file = True
        else:
            from_file = False
        tokens = [self._convert_token(t) for t in as_array(vocabulary).reshape(-1).tolist()]
        if not tokens:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        token_start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        found_special = not from_file and tokens[:token_start] == special
        if found_special:
            tokens = tokens[token_start:]
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please uniquify your dataset. "
                             f"The repeated terms are: {repeated}")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"Found reserved mask token at unexpected location in `vocabulary`. Note that passed "
                             f"`vocabulary` does not need to include the OOV and mask tokens. Either remove all mask "
                             f"and OOV tokens, or include them only at the start of the vocabulary in precisely this "
                             f"order: {special}. Received: mask_token={self.mask_token}")
        if self.oov_token is not None and self.invert and self.oov_token in tokens:
            raise ValueError(f"Found reserved OOV token at unexpected location in `vocabulary`. Either remove all "
                             f"mask and OOV tokens, or include them only at the start of the vocabulary in precisely "
                             f"this order: {special}. Received: oov_token={self.oov_token}")
        if self.max_tokens is not None and token_start + len(tokens) > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                             f"size is {token_start + len(tokens)}; `max_tokens` is {self.max_tokens}.")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(as_array(vocabulary).reshape(-1)):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. len(idf_weights) is "
                                 f"{len(weights)}; len(vocabulary) is {len(as_array(vocabulary).reshape(-1))}")
            front = 0 if found_special else token_start
            back = self.max_tokens - front - len(weights) if self.pad_to_max_tokens and self.max_tokens else 0
            self.idf_weights = np.pad(weights, (front, back), constant_values=(np.average(weights), 0)).astype(
                np.float32)

    def _set_tokens(self, tokens):
        start = self._token_start_index()
        self._tokens = list(tokens)
        self._index = {t: start + i for i, t in enumerate(self._tokens)}
        self._record_vocabulary_size()

    def _record_vocabulary_size(self):
        size = self.vocabulary_size()
        if (self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is not None
                and self._frozen_vocab_size != size and self.built):
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, the "
                               f"vocabulary size cannot be changed after the layer is called. Old vocab size is "
                               f"{self._frozen_vocab_size}, new vocab size is {size}")
        self._frozen_vocab_size = size

    # ---------------------------------------------------------------------------------- adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary from `data` (arrays, DataFrames, Series, lists of tokens,
        Sequences or iterables of batches): the most frequent tokens, up to max_tokens."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` "
                             "argument or `set_vocabulary()` method.")
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0
        for batch in adapt_data.batches(data, batch_size, steps):
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        values = as_array(data)
        if values.ndim == 0:
            values = values.reshape(1, 1)
        elif values.ndim == 1:
            values = values.reshape(1, -1) if self.output_mode == "tf_idf" else values.reshape(-1, 1)
        flat_values = values.reshape(-1)
        if flat_values.dtype.kind in "iuU":
            # Count each distinct token once in NumPy: a table's column has few distinct values, and
            # converting every one of its rows in Python dominated adapt() (finalize_state's order
            # depends on the counts and tokens only, not on how they were added up).
            distinct, counts = np.unique(flat_values, return_counts=True)
            for token, count in zip(distinct.tolist(), counts.tolist()):
                self._token_counts[self._convert_token(token)] += count
        else:
            self._token_counts.update(self._convert_token(t) for t in flat_values.tolist())
        if self.output_mode == "tf_idf":
            rows = values.reshape(values.shape[0], -1)
            for row in rows.tolist():
                self._document_counts.update({self._convert_token(t) for t in row})
            self._num_documents += rows.shape[0]

    def finalize_state(self):
        counts = self._token_counts
        if not counts:
            return
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        # Descending count, ties by descending token: Keras's lexsort((tokens, counts))[::-1].
        ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens:
            ordered = ordered[:self.max_tokens - self._token_start_index()]
        tokens = [t for t, _ in ordered]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            document_counts = np.array([self._document_counts[t] for t in tokens], dtype=np.float64)
            idf = np.log(1 + self._num_documents / (1 + document_counts)).astype(np.float32)
            idf = np.pad(idf, (self._token_start_index(), 0), constant_values=np.mean(idf))
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.pad(idf, (0, self.max_tokens - idf.size))
            self.idf_weights = idf.astype(np.float32)
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0

    # ----------------------------------------------------------------------------------- call
    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        return encoding.encoded_shape(input_shape, self.output_mode if self.output_mode != "tf_idf" else "count",
                                      depth)

    def call(self, inputs):
        if self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is None:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must "
                               "set the layer's vocabulary before calling it. Either pass a `vocabulary` argument to "
                               "the layer, or call `adapt` with some sample data.")
        values = as_array(inputs)
        original_ndim = values.ndim
        if values.ndim == 0:
            values = values.reshape(1)
        lookups = self._invert_lookup(values) if self.invert else self._lookup(values)
        if self.output_mode == "int":
            return lookups.reshape(()) if original_ndim == 0 else lookups
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        output = encoding.encode(lookups, mode, depth, "float32")
        if self.output_mode == "tf_idf":
            output = output * self.idf_weights
        return output

    def _lookup(self, values):
        missing = -1
        uniques, inverse = np.unique(values.reshape(-1), return_inverse=True)  # each distinct value looked up once
        found = np.fromiter((self._index.get(self._convert_token(v), missing) for v in uniques.tolist()),
                            dtype=np.int64, count=len(uniques))
        indices = found[inverse].reshape(values.shape)
        oov = indices == missing
        if self.num_oov_indices == 0:
            if oov.any():
                raise ValueError(f"When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                                 f"{values[oov][:10].tolist()}, consider setting `num_oov_indices=1`.")
        elif oov.any():
            if self.num_oov_indices == 1:
                buckets = np.zeros(values.shape, np.int64)
            elif self.vocabulary_dtype != "string" and self.oov_method != "farmhash":
                buckets = values.astype(np.int64) % self.num_oov_indices  # floormod
            else:
                buckets = hash_buckets(values, self.num_oov_indices, self.salt)
            indices = np.where(oov, buckets + self._oov_start_index(), indices)
        if self.mask_token is not None:
            mask_value = 0 if self.output_mode == "int" else np.iinfo(np.int64).max
            indices = np.where(_equal(values, self.mask_token), mask_value, indices)
        return indices

    def _invert_lookup(self, values):
        vocab = self.get_vocabulary()
        size = len(vocab)
        out_dtype = object if self.vocabulary_dtype == "string" else np.int64
        result = np.array([vocab[i] if self._token_start_index() <= i < size else self.oov_token
                           for i in values.reshape(-1).astype(np.int64).tolist()], dtype=out_dtype)
        result = result.reshape(values.shape)
        if self.mask_token is not None:
            result = np.where(values == 0, self.mask_token, result)
        if self.vocabulary_dtype == "string":
            result = result.astype(str)
        return result

    # ------------------------------------------------------------------------------ saving
    def get_config(self):
        config = super().get_config()
        config.update({
            "invert": self.invert, "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token, "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": _listify(self.input_idf_weights),
            "vocabulary": _listify(self.input_vocabulary), "vocabulary_size": self._frozen_vocab_size,
            "oov_method": self.oov_method, "salt": self.salt,
        })
        return config

    def get_build_config(self):
        return {}

    def build_from_config(self, config):
        self.built = True

    def save_own_variables(self, store):
        if self.output_mode == "tf_idf":
            store["idf_weights"] = self.idf_weights

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf" and store:
            self.idf_weights = np.asarray(next(iter(store.values())), dtype=np.float32)

    def save_assets(self, dir_path):
        """Writes an adapted vocabulary to dir_path/vocabulary.txt, as Keras does (a given
        vocabulary is in the config instead)."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, VOCABULARY_ASSET), "w", encoding="utf-8") as f:
            f.write("\n".join(str(w) for w in self.get_vocabulary(include_special_tokens=True)))

    def load_assets(self, dir_path):
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, VOCABULARY_ASSET), encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        values = [str(line) if self.vocabulary_dtype == "string" else int(line) for line in lines]
        idf_weights = self.idf_weights
        self._frozen_vocab_size = None
        if self.output_mode == "tf_idf":
            self.set_vocabulary(values, idf_weights=idf_weights)
            self.idf_weights = idf_weights
        else:
            self.set_vocabulary(values)


def _equal(values, token):
    if values.dtype.kind in "iuf" and isinstance(token, str):
        return np.zeros(values.shape, bool)
    return values == token


def _listify(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
