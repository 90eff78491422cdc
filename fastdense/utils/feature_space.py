"""FeatureSpace: one object that preprocesses and encodes a table's columns, as
keras/src/layers/preprocessing/feature_space.py (exported as `keras.utils.FeatureSpace`).

Built on fastdense's preprocessing layers: each feature has a preprocessor (Identity,
Rescaling, Normalization, Discretization, IntegerLookup, StringLookup or Hashing), categorical
outputs are one-hot encoded with CategoryEncoding(multi_hot) as Keras does, crosses hash the
preprocessed features with HashedCrossing, and `output_mode="concat"` concatenates everything
(features sorted by name, then crosses sorted by name: Keras's order).

Two ways to use it, as in Keras:
- eagerly: `feature_space(dict_of_columns)` returns the encoded NumPy array (or dict);
- symbolically: `get_inputs()` are the Inputs (one per column, shape (1,)) and
  `get_encoded_features()` the encoded tensor; a `Model(get_inputs(), head(encoded))` trains on
  `dict(df)` directly, its string/integer preprocessing running once per fit call before the
  native engine (fastdense/layers/preprocessing/stage.py).
"""

import os

import numpy as np

from fastdense import layers
from fastdense.layers.layer import Layer
from fastdense.layers.preprocessing.preprocessing_layer import as_array
from fastdense.object_registry import register_builtin
from fastdense.saving import api as saving_api
from fastdense.saving import serialization_lib
from fastdense.utils import naming, tf_graph_call

_FEATURE_MODULE = "keras.src.layers.preprocessing.feature_space"


class Cross:
    """A crossing of features, hashed into `crossing_dim` bins."""

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in {"int", "one_hot"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot'}. "
                             f"Received: output_mode={output_mode}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self):
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {"feature_names": list(self.feature_names), "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """A column's dtype ('float32', 'int32' or 'string'), preprocessor layer and output mode
    ('int', 'one_hot' or 'float')."""

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in {"int", "one_hot", "float"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'int', 'one_hot', 'float'}. "
                             f"Received: output_mode={output_mode}")
        self.dtype = dtype
        if isinstance(preprocessor, dict):
            preprocessor = serialization_lib.deserialize_layer(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self):
        return {"dtype": self.dtype, "preprocessor": serialization_lib.serialize_layer(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _serialize(obj):
    return {"module": _FEATURE_MODULE, "class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": type(obj).__name__}


def _deserialize(value, cls):
    if isinstance(value, cls):
        return value
    if isinstance(value, dict) and value.get("class_name") == cls.__name__:
        return cls.from_config(value["config"])
    return None


@register_builtin("layers", _FEATURE_MODULE, registered_name="TFDIdentity")
class TFDIdentity(layers.Identity):
    """The preprocessor of `FeatureSpace.float` features: the identity, named as Keras names it
    (its configs and saved files call it TFDIdentity)."""


@register_builtin("layers", "keras.utils")
class FeatureSpace(Layer):
    """Preprocesses and encodes a dict of feature columns.

    Args:
        features: dict name -> feature: a kind name ('float', 'float_rescaled', 'float_normalized',
            'float_discretized', 'integer_categorical', 'string_categorical', 'integer_hashed',
            'string_hashed') or a Feature from the class methods of the same names.
        output_mode: 'concat' (one float array) or 'dict' (one encoded array per feature).
        crosses: list of crosses: tuples of feature names or `FeatureSpace.cross(...)`.
        crossing_dim: hashing bins of crosses given as tuples of names.
        hashing_dim: bins of the '*_hashed' kinds given by name.
        num_discretization_bins: bins of 'float_discretized' given by name.
    """

    # ------------------------------------------------------------------ feature kinds
    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        name = name or naming.auto_name("float")
        return Feature("float32", TFDIdentity(name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        name = name or naming.auto_name("float_rescaled")
        return Feature("float32", layers.Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_normalized(cls, name=None):
        name = name or naming.auto_name("float_normalized")
        return Feature("float32", layers.Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
        name = name or naming.auto_name("float_discretized")
        preprocessor = layers.Discretization(num_bins=None if bin_boundaries is not None else num_bins,
                                             bin_boundaries=bin_boundaries, name=f"{name}_preprocessor")
        return Feature("float32", preprocessor, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        name = name or naming.auto_name("integer_categorical")
        preprocessor = layers.IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                            num_oov_indices=num_oov_indices)
        return Feature("int32", preprocessor, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        name = name or naming.auto_name("string_categorical")
        preprocessor = layers.StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                           num_oov_indices=num_oov_indices)
        return Feature("string", preprocessor, output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or naming.auto_name("string_hashed")
        return Feature("string", layers.Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or naming.auto_name("integer_hashed")
        return Feature("int32", layers.Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    # ---------------------------------------------------------------------- construction
    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32, hashing_dim=32,
                 num_discretization_bins=32, name=None, **kwargs):
        super().__init__(name=name, **{k: v for k, v in kwargs.items() if k in ("trainable", "dtype")})
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {name: self._standardize_feature(name, value) for name, value in features.items()}
        self.crosses = []
        for cross in crosses or ():
            found = _deserialize(cross, Cross)
            if found is not None:
                self.crosses.append(found)
                continue
            if not crossing_dim:
                raise ValueError("When specifying `crosses`, the argument `crossing_dim` (dimensionality of the "
                                 "crossing space) should be specified as well.")
            if any(key not in self.features for key in cross):
                raise ValueError("All features referenced in the `crosses` argument should be present in the "
                                 f"`features` dict. Received unknown features: {cross}")
            self.crosses.append(Cross(cross, crossing_dim=crossing_dim))
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        if output_mode not in {"dict", "concat"}:
            raise ValueError("Invalid value for argument `output_mode`. Expected one of {'dict', 'concat'}. "
                             f"Received: output_mode={output_mode}")
        self.output_mode = output_mode
        self.inputs = {name: layers.Input(shape=(1,), dtype=feature.dtype, name=name)
                       for name, feature in self.features.items()}
        self.preprocessors = {name: feature.preprocessor for name, feature in self.features.items()}
        self.crossers = {cross.name: layers.HashedCrossing(cross.crossing_dim, name=cross.name)
                         for cross in self.crosses}
        self.one_hot_encoders = None
        self.encoded_features = None
        self._is_adapted = False

    def _standardize_feature(self, name, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            found = _deserialize(feature, Feature)
            if found is None:
                raise ValueError(f"Invalid feature config for {name!r}: {feature}")
            return found
        kinds = {
            "float": lambda: self.float(name=name),
            "float_normalized": lambda: self.float_normalized(name=name),
            "float_rescaled": lambda: self.float_rescaled(name=name),
            "float_discretized": lambda: self.float_discretized(name=name, num_bins=self.num_discretization_bins),
            "integer_categorical": lambda: self.integer_categorical(name=name),
            "string_categorical": lambda: self.string_categorical(name=name),
            "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
            "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name),
        }
        if not isinstance(feature, str) or feature not in kinds:
            raise ValueError(f"Invalid feature type: {feature}")
        return kinds[feature]()

    # ----------------------------------------------------------------------------- adapt
    def _adaptable(self):
        names = []
        for name, preprocessor in self.preprocessors.items():
            if isinstance(preprocessor, layers.Normalization) and preprocessor.input_mean is not None:
                continue
            if isinstance(preprocessor, layers.Discretization) and preprocessor.num_bins is None:
                continue  # given bin_boundaries: nothing to learn
            if hasattr(preprocessor, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset):
        """Adapts every preprocessor that learns from data (Normalization, Discretization, the
        lookups) on its column of `dataset`: a dict of arrays/lists, a pandas DataFrame, a list
        of dict batches, or a tf.data Dataset of dicts (batched or not, labels ignored)."""
        columns = _column_batches(dataset, self._adaptable())
        for name in self._adaptable():
            if name not in columns:
                raise ValueError(f"FeatureSpace.adapt: the data has no column {name!r}")
            dtype, preprocessor = self.features[name].dtype, self.preprocessors[name]
            data = columns[name]
            if isinstance(data, list):
                data = [_as_feature_column(batch, dtype) for batch in data]
            else:  # a whole column, batched by 32 rows as Keras's from_tensor_slices(...).batch(32)
                column = _as_feature_column(data, dtype)
                data = [column[start:start + _ADAPT_BATCH] for start in range(0, len(column), _ADAPT_BATCH)]
            if not isinstance(preprocessor, layers.Discretization):
                # Only the quantile summaries depend on how the data is batched: the other
                # preprocessors learn the same state from the whole column at once, much faster.
                data = np.concatenate(data, axis=0)
            preprocessor.adapt(data)
        self._is_adapted = True
        self.get_encoded_features()
        self.built = True

    def _check_if_adapted(self):
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace before you can start "
                                 "using it.")
            self._is_adapted = True

    # -------------------------------------------------------------------------- encoding
    def _encoders(self):
        """CategoryEncoding(multi_hot) of every 'one_hot' feature and cross, sized from its
        preprocessor once adapted (Keras's `_merge_features`)."""
        if self.one_hot_encoders is None:
            encoders = {}
            specs = {**self.features, **self.crosses_by_name}
            for name in sorted(self.features) + sorted(self.crosses_by_name):  # Keras's order (and file layout)
                spec = specs[name]
                if spec.output_mode != "one_hot":
                    continue
                preprocessor = self.preprocessors.get(name) or self.crossers.get(name)
                if isinstance(preprocessor, (layers.IntegerLookup, layers.StringLookup)):
                    cardinality = preprocessor.vocabulary_size()
                elif isinstance(preprocessor, layers.CategoryEncoding):
                    cardinality = preprocessor.num_tokens
                elif isinstance(preprocessor, layers.Discretization):
                    cardinality = (preprocessor.num_bins if preprocessor.num_bins is not None
                                   else len(preprocessor.bin_boundaries) + 1)
                elif isinstance(preprocessor, (layers.HashedCrossing, layers.Hashing)):
                    cardinality = preprocessor.num_bins
                else:
                    raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. However it isn't a standard "
                                     "feature and the dimensionality of its output space is not known, thus it "
                                     "cannot be one-hot encoded. Try using `output_mode='int'`.")
                encoders[name] = layers.CategoryEncoding(num_tokens=cardinality, output_mode="multi_hot")
            self.one_hot_encoders = encoders
        return self.one_hot_encoders

    def _encode(self, features, concatenate):
        """Preprocess, cross, one-hot encode and merge `features` (tensors or arrays by name)."""
        preprocessed = {name: self.preprocessors[name](features[name]) for name in self.features}
        crossed = {cross.name: self.crossers[cross.name]([preprocessed[n] for n in cross.feature_names])
                   for cross in self.crosses}
        encoders = self._encoders()
        merged = {}
        for name in sorted(preprocessed) + sorted(crossed):
            value = preprocessed[name] if name in preprocessed else crossed[name]
            merged[name] = encoders[name](value) if name in encoders else value
        if self.output_mode == "dict":
            return merged
        for name in merged:
            spec = self.features.get(name) or self.crosses_by_name[name]
            if spec.output_mode == "int":
                raise ValueError(f"Cannot concatenate features because feature '{name}' has not been encoded (it "
                                 "has an integer dtype). Consider using `output_mode='dict'`.")
        return concatenate(list(merged.values()))

    def get_inputs(self):
        """The Inputs, one per feature: {name: Input(shape=(1,), dtype=feature dtype)}."""
        self._check_if_adapted()
        return self.inputs

    def get_encoded_features(self):
        """The encoded features as symbolic tensors computed from `get_inputs()`."""
        self._check_if_adapted()
        if self.encoded_features is None:
            if self.output_mode == "concat":
                self.concat = layers.Concatenate(axis=-1)  # an attribute, as Keras's (a group of the saved file)
            self.encoded_features = self._encode(self.inputs, lambda values: self.concat(values))
        return self.encoded_features

    def __call__(self, data):
        """The encoded features of a dict of columns (arrays, lists, pandas Series, scalars)."""
        self._check_if_adapted()
        self.get_encoded_features()
        if not isinstance(data, dict):
            raise ValueError(f"A FeatureSpace can only be called with a dict. Received: data={data} (of type "
                             f"{type(data)})")
        tf = tf_graph_call.tensorflow_graph(data.values())
        if tf is not None:  # inside tf.data's map: one NumPy node computing this call per batch
            missing = [name for name in self.features if name not in data]
            if missing:
                raise ValueError(f"FeatureSpace: the data has no feature {missing[0]!r} (it has {sorted(data)})")
            return tf_graph_call.call_in_graph(tf, self.__call__, data, list(self.features), self.encoded_features)
        columns, single = {}, False
        for name in self.features:
            if name not in data:
                raise ValueError(f"FeatureSpace: the data has no feature {name!r} (it has {sorted(data)})")
            column = _as_feature_column(data[name], self.features[name].dtype)
            single = single or np.ndim(_host(data[name])) == 0
            columns[name] = column
        result = self._encode(columns, lambda values: np.concatenate(
            [np.asarray(v, dtype="float32") for v in values], axis=-1))
        if single:  # a single sample in, a single sample out (Keras's rebatching)
            if isinstance(result, dict):
                return {name: value[0] for name, value in result.items()}
            return result[0]
        return result

    # -------------------------------------------------------------------------- config
    def get_config(self):
        return {
            "features": {name: _serialize(feature) for name, feature in self.features.items()},
            "output_mode": self.output_mode,
            "crosses": [_serialize(cross) for cross in self.crosses],
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        return {name: feature.preprocessor.get_build_config() for name, feature in self.features.items()}

    def build_from_config(self, config):
        for name, build_config in (config or {}).items():
            preprocessor = self.features[name].preprocessor
            if build_config and not preprocessor.built:
                preprocessor.build_from_config(build_config)
        self._is_adapted = True

    # -------------------------------------------------------------------------- saving
    # keras.saving.load_model (and fastdense.saving.load_model) returns the FeatureSpace itself.
    _saved_as_archive = True

    def save(self, filepath):
        """Saves the adapted FeatureSpace to a `.keras` file, as Keras's FeatureSpace.save: its
        config (features, crosses, bin edges), the Normalization statistics in model.weights.h5
        and the lookups' vocabularies in assets/. `keras.saving.load_model(filepath)` returns it,
        in fastdense or in Keras."""
        path = os.fspath(filepath)
        if not path.endswith(".keras"):
            raise ValueError(f"Invalid `filepath` argument: expected a `.keras` extension. Received: filepath={path}")
        self._check_if_adapted()
        self.get_encoded_features()
        self.built = True
        saving_api.save_model(self, path)


# ------------------------------------------------------------------------------ data
def _host(value):
    """A NumPy view of a column value (tf tensors through .numpy())."""
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    return value


def _as_feature_column(value, dtype):
    """A column as an (N, 1) array of the feature's dtype; strings as str, not bytes."""
    array = as_array(_host(value))
    if array.dtype == object and array.size and isinstance(array.flat[0], bytes):
        array = np.char.decode(array.astype("S"), "utf-8")
    if dtype == "string":
        array = array.astype(str)
    elif dtype.startswith("int"):
        array = array.astype("int64")
    else:
        array = array.astype(dtype)
    if array.ndim == 0:
        return array.reshape(1, 1)
    if array.ndim == 1:
        return array.reshape(-1, 1)
    return array


# Keras adapts a dict of columns as tf.data.Dataset.from_tensor_slices(dict).batch(32), and the
# quantile summaries of Discretization depend on the batches: the same batches give the same bins.
_ADAPT_BATCH = 32


def _column_batches(dataset, names):
    """The wanted columns of a dict or DataFrame ({name: whole column}), or of a list of dict
    batches or a tf.data Dataset of dicts or (dict, label) pairs ({name: [batches]}; an unbatched
    Dataset's elements grouped by 32)."""
    if hasattr(dataset, "columns") and hasattr(dataset, "__getitem__") and hasattr(dataset, "to_numpy"):
        dataset = {name: dataset[name].to_numpy() for name in names if name in dataset.columns}
    if isinstance(dataset, dict):  # whole columns as arrays (a list here is a column, not batches)
        return {name: as_array(_host(dataset[name])) for name in names if name in dataset}
    if not hasattr(dataset, "__iter__"):
        raise ValueError("`adapt()` can only be called on a dict of arrays/lists, a DataFrame, a list of dict "
                         f"batches or a tf.data.Dataset. Received instead: {dataset} (of type {type(dataset)})")
    parts = {name: [] for name in names}
    pending = {name: [] for name in names}  # scalars of an unbatched dataset, grouped into batches
    for element in dataset:
        if isinstance(element, tuple):
            element = element[0]
        if not isinstance(element, dict):
            raise ValueError(f"`adapt()`: every element must be a dict of columns, got {type(element).__name__}")
        for name in names:
            if name not in element:
                continue
            value = as_array(_host(element[name]))
            if value.ndim == 0:
                pending[name].append(value)
                if len(pending[name]) == _ADAPT_BATCH:
                    parts[name].append(np.stack(pending[name]))
                    pending[name] = []
            else:
                parts[name].append(value)
    for name, values in pending.items():
        if values:
            parts[name].append(np.stack(values))
    return {name: batches for name, batches in parts.items() if batches}
