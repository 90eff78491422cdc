"""Metrics shaped like ``keras.metrics`` (Keras 3): stateless functions that return per-sample
values, and stateful ``Metric`` classes that accumulate them over batches.

The loss-named metric functions are the loss functions of :mod:`fastdense.losses` (same
objects), except ``cosine_similarity``, which as a metric is the positive similarity.

A stateful metric is updated batch by batch (``update_state``), read at any time (``result``)
and cleared between epochs (``reset_state``). Its state lives in ``variables`` of the metric's
dtype (float32 by default, like Keras), so the accumulated numbers round as Keras's do.

Inside ``fit``/``evaluate``, a metric whose ``_native_metric_spec(...)`` is a dict runs in the
native engine; the others (AUC, Precision, Recall, R2Score, user functions) run here in Python,
on each batch's predictions.
"""

import inspect
import math
import warnings

import numpy as np

from fastdense import backend, initializers
from fastdense import object_registry
from fastdense import losses as _losses
from fastdense.object_registry import unknown_name_error
from fastdense.losses import (  # noqa: F401  (re-exported)
    MAE, MAPE, MSE, MSLE, binary_crossentropy, categorical_crossentropy, categorical_hinge, hinge,
    huber, kl_divergence, log_cosh, mae, mape, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, mse, msle, poisson,
    sparse_categorical_crossentropy, squared_hinge,
)
from fastdense.losses import squeeze_or_expand_to_same_rank
from fastdense.utils import naming
from fastdense.variables import Variable

__all__ = [
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "cosine_similarity",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "huber", "log_cosh",
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "RootMeanSquaredError", "LogCoshError", "CosineSimilarity", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
    "AUC", "Precision", "Recall", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
    "R2Score", "get", "serialize", "deserialize",
]

_FLOATX = np.float32


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where (y_pred > threshold) equals y_true, elementwise (Keras returns no mean here)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return np.equal(y_true, predicted).astype(_FLOATX)


def categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_true) == argmax(y_pred) over the last axis (first maximum wins)."""
    y_pred = np.asarray(y_pred)
    true_class = np.argmax(np.asarray(y_true), axis=-1)
    return _class_matches(true_class, y_pred)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the class index y_true equals argmax(y_pred) over the last axis."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true, dtype=y_pred.dtype if y_pred.dtype.kind == "f" else _FLOATX)
    matches = _class_matches(y_true, y_pred, squeeze_only_unit=True)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return matches


def _class_matches(true_class, y_pred, squeeze_only_unit=False):
    """Compares class indices with argmax(y_pred); a y_true of y_pred's rank is squeezed first
    and the result takes its shape back, as Keras does."""
    original_shape = true_class.shape
    reshape = true_class.ndim == y_pred.ndim and (not squeeze_only_unit or true_class.shape[-1] == 1)
    if reshape:
        true_class = np.squeeze(true_class, axis=-1)
    matches = np.equal(true_class, np.argmax(y_pred, axis=-1)).astype(_FLOATX)
    return matches.reshape(original_shape) if reshape else matches


def _in_top_k(targets, predictions, k):
    """TF's in_top_k: the target's score has fewer than k strictly greater scores (ties count as
    inside); False for out-of-range targets and rows with non-finite scores."""
    rows, classes = predictions.shape
    valid = (targets >= 0) & (targets < classes) & np.all(np.isfinite(predictions), axis=1)
    target_score = predictions[np.arange(rows), np.where(valid, targets, 0)]
    greater = np.sum(predictions > target_score[:, None], axis=1)
    return valid & (greater < k)


def _top_k_matches(true_class, y_pred, k):
    """in_top_k over y_pred flattened to (samples, classes); the result has y_true's shape."""
    y_pred = np.asarray(y_pred)
    flat_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _in_top_k(true_class.reshape(-1), flat_pred, k).astype(_FLOATX)
    return matches.reshape(true_class.shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the class argmax(y_true) is among the k highest scores of y_pred."""
    true_class = np.argmax(np.asarray(y_true), axis=-1).astype(np.int64)
    return _top_k_matches(true_class, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1 where the class index y_true is among the k highest scores of y_pred.

    With from_sorted_ids=True, y_pred holds class ids sorted by decreasing score instead.
    """
    y_pred = np.asarray(y_pred)
    if from_sorted_ids:
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        flat_ids = y_pred.reshape(-1, y_pred.shape[-1])[:, :k]
        matches = np.any(flat_ids == y_true.reshape(-1, 1), axis=1).astype(_FLOATX)
        return matches.reshape(y_true.shape)
    true_class = np.asarray(y_true).astype(np.int64)
    return _top_k_matches(true_class, y_pred, k)


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred)) over ``axis``: the loss negated."""
    return -_losses.cosine_similarity(y_true, y_pred, axis=axis)


def _accuracy(y_true, y_pred):
    """1 where y_true equals y_pred exactly (the function behind the Accuracy class)."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true, dtype=y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return np.equal(y_true, y_pred).astype(_FLOATX)


# ---------------------------------------------------------------------------------------------
# Base classes.

def _divide_no_nan(numerator, denominator):
    """numerator / denominator, and 0 wherever the denominator is 0 (TensorFlow's divide_no_nan)."""
    numerator, denominator = np.asarray(numerator), np.asarray(denominator)
    safe = np.where(denominator == 0, np.ones_like(denominator), denominator)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(denominator == 0, np.zeros_like(numerator), numerator / safe)


class Metric:
    """Base class of stateful metrics (Keras 3's ``keras.metrics.Metric``).

    Subclasses create their state in ``__init__`` with ``add_variable`` and implement
    ``update_state`` and ``result``. ``reset_state`` sets every variable back to zero.

    Args:
        dtype: float type of the state and the result (default ``backend.floatx()``).
        name: the metric's name; by default the snake_case class name, made unique.
    """

    def __init__(self, dtype=None, name=None):
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self._dtype = backend.standardize_dtype(dtype)
        self._variables = []

    @property
    def dtype(self):
        return self._dtype

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A non-trainable state Variable named '<metric name>/<name>'."""
        dtype = backend.standardize_dtype(dtype or self._dtype)
        value = initializers.get(initializer)(tuple(shape), dtype=dtype)
        variable = Variable(value, name=name, trainable=False, dtype=dtype, path=f"{self.name}/{name}")
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape))

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def __call__(self, *args, **kwargs):
        """Updates the state with one batch, then returns the result so far."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _native_metric_spec(self, y_true_shape, y_pred_shape):
        """The engine's description of this metric for compile(), or None to run it in Python."""
        return None

    def _add(self, variable, amount):
        """variable += amount, rounded to the variable's dtype as Keras's assign_add is."""
        state = variable.value
        np.add(state, np.asarray(amount, dtype=state.dtype), out=state)

    def _scalar(self, value):
        """A result as a numpy scalar (or array) of the metric's dtype."""
        return np.asarray(value, dtype=self._dtype)[()]

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _per_sample(values, sample_weight, reduce, dtype):
    """Keras's reduction of metric values to one value per sample, weights applied.

    Values with more axes than the weights are first reduced over the extra axes; weights are
    then broadcast to the values, multiplied in, and reduced the same way.
    """
    values = np.asarray(values, dtype=dtype)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        if values.ndim > sample_weight.ndim:
            values = reduce(values, axis=tuple(range(sample_weight.ndim, values.ndim)))
        sample_weight = np.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if sample_weight.ndim > 1:
            sample_weight = reduce(sample_weight, axis=tuple(range(1, sample_weight.ndim)))
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The running (weighted) sum of the values given to update_state."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = _per_sample(values, sample_weight, np.sum, self._dtype)
        self._add(self.total, np.sum(values, dtype=np.float64))

    def result(self):
        return self._scalar(self.total.value)


class Mean(Metric):
    """The running (weighted) mean of the values: total / count over every sample seen.

    A value with several axes counts as one sample: its non-batch axes are averaged first.
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        values, sample_weight = _per_sample(values, sample_weight, np.mean, self._dtype)
        self._add(self.total, np.sum(values, dtype=np.float64))
        if sample_weight is not None:
            samples = np.sum(sample_weight, dtype=np.float64)
        else:
            samples = values.shape[0] if values.ndim >= 1 else 1
        self._add(self.count, samples)

    def result(self):
        return self._scalar(_divide_no_nan(self.total.value, self.count.value))


# ---------------------------------------------------------------------------------------------
# Metrics that average a per-sample function.

_ACCURACY_FUNCTIONS = {}  # metric function -> native kind; filled in below the function table


def _native_function_spec(fn, kwargs):
    """The engine's metric spec for the built-in function ``fn`` called with ``kwargs``, or None."""
    try:
        kind = _ACCURACY_FUNCTIONS.get(fn)
    except TypeError:  # an unhashable callable
        return None
    if fn is cosine_similarity:
        if set(kwargs) - {"axis"} or kwargs.get("axis", -1) != -1:
            return None
        return {"kind": "loss", "loss": {"name": "cosine_similarity"}, "negate": True}
    if kind is not None:
        allowed = {"binary_accuracy": {"threshold"}, "top_k_categorical_accuracy": {"k"},
                   "sparse_top_k_categorical_accuracy": {"k", "from_sorted_ids"}}.get(kind, set())
        if set(kwargs) - allowed or kwargs.get("from_sorted_ids", False):
            return None
        spec = {"kind": kind}
        if "threshold" in allowed:
            spec["threshold"] = float(kwargs.get("threshold", 0.5))
        if "k" in allowed:
            spec["k"] = int(kwargs.get("k", 5))
        return spec
    try:
        config = _losses._engine_config(fn, kwargs)
    except (TypeError, ValueError):
        return None
    return None if config is None else {"kind": "loss", "loss": config}


def _fits_native_targets(spec, y_true_shape, y_pred_shape):
    """True when the targets have the columns the engine's kernel for `spec` reads: one class
    index for the sparse kinds, one value per prediction otherwise. Other layouts (Keras would
    broadcast them) run in Python."""
    if y_true_shape is None or y_pred_shape is None:
        return True
    sparse = spec["kind"].startswith("sparse_") or spec.get("loss", {}).get("name") == "sparse_categorical_crossentropy"
    true_dims, pred_dims = tuple(y_true_shape[1:]), tuple(y_pred_shape[1:])
    if any(d is None for d in true_dims + pred_dims):
        return True
    return math.prod(true_dims) == (1 if sparse else math.prod(pred_dims))


def _is_builtin_loss(fn):
    try:
        return fn in _losses._ENGINE_NAMES or isinstance(fn, _losses.Loss)
    except TypeError:
        return False


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred, **kwargs)``, a function of per-sample values.

    A function that returns one value per batch counts that batch as one sample.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if _is_builtin_loss(fn):
            self._direction = "min"  # a loss is minimized (EarlyStopping's auto mode)

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "fn": serialize(self._fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def _native_metric_spec(self, y_true_shape, y_pred_shape):
        spec = _native_function_spec(self._fn, self._fn_kwargs)
        return spec if spec is not None and _fits_native_targets(spec, y_true_shape, y_pred_shape) else None


class _FunctionMetric(MeanMetricWrapper):
    """A built-in MeanMetricWrapper: its config is its constructor's arguments, not its function."""

    _config_keys = ()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **{key: getattr(self, key) for key in self._config_keys}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Accuracy(_FunctionMetric):
    """How often y_pred equals y_true exactly."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(_accuracy, name=name, dtype=dtype)
        self._direction = "max"


class BinaryAccuracy(_FunctionMetric):
    """How often (y_pred > threshold) matches the 0/1 label y_true."""

    _config_keys = ("threshold",)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold
        self._direction = "max"


class CategoricalAccuracy(_FunctionMetric):
    """How often argmax(y_pred) matches argmax of the one-hot y_true."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)
        self._direction = "max"


class SparseCategoricalAccuracy(_FunctionMetric):
    """How often argmax(y_pred) matches the class index y_true."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "max"


class TopKCategoricalAccuracy(_FunctionMetric):
    """How often the one-hot target's class is among the k highest predictions."""

    _config_keys = ("k",)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "max"


class SparseTopKCategoricalAccuracy(_FunctionMetric):
    """How often the class index y_true is among the k highest predictions."""

    _config_keys = ("k",)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids
        self._direction = "max"

    def get_config(self):
        config = super().get_config()
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config


class MeanSquaredError(_FunctionMetric):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)
        self._direction = "min"


class MeanAbsoluteError(_FunctionMetric):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)
        self._direction = "min"


class MeanAbsolutePercentageError(_FunctionMetric):
    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)
        self._direction = "min"


class MeanSquaredLogarithmicError(_FunctionMetric):
    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)
        self._direction = "min"


class LogCoshError(_FunctionMetric):
    """The mean of log(cosh(y_pred - y_true)); Keras names it 'logcosh'."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)
        self._direction = "min"


class CosineSimilarity(_FunctionMetric):
    """The mean cosine similarity between y_true and y_pred along ``axis`` (positive: 1 is best)."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis
        self._direction = "max"

    def get_config(self):
        # Keras leaves axis out (so its round trip resets it to -1); fastdense keeps a non-default one.
        config = super().get_config()
        if self.axis != -1:
            config["axis"] = self.axis
        return config


class BinaryCrossentropy(_FunctionMetric):
    _config_keys = ("from_logits", "label_smoothing")

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self._direction = "min"


class CategoricalCrossentropy(_FunctionMetric):
    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self._direction = "min"


class SparseCategoricalCrossentropy(_FunctionMetric):
    _config_keys = ("from_logits", "ignore_class", "axis")

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        if ignore_class is not None:
            raise NotImplementedError("SparseCategoricalCrossentropy: ignore_class is not supported by fastdense")
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
        self._direction = "min"


class KLDivergence(_FunctionMetric):
    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


class Poisson(_FunctionMetric):
    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)


class Hinge(_FunctionMetric):
    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)
        self._direction = "min"


class SquaredHinge(_FunctionMetric):
    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)
        self._direction = "min"


class CategoricalHinge(_FunctionMetric):
    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
        self._direction = "min"


class RootMeanSquaredError(Mean):
    """sqrt of the running mean of the squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "min"

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(y_true, dtype=self._dtype)
        y_pred = np.asarray(y_pred, dtype=self._dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return self._scalar(np.sqrt(super().result()))

    def _native_metric_spec(self, y_true_shape, y_pred_shape):
        spec = {"kind": "loss", "loss": {"name": "mean_squared_error"}, "root": True}
        return spec if _fits_native_targets(spec, y_true_shape, y_pred_shape) else None


# ---------------------------------------------------------------------------------------------
# Confusion-matrix metrics: counts of true/false positives/negatives at decision thresholds.

_NEG_INF = -1e10  # the default threshold with top_k: every kept prediction counts as positive


def _threshold_list(thresholds, default):
    """The thresholds as a list; user values must lie in [0, 1]."""
    def as_list(value):
        return [float(v) for v in value] if isinstance(value, (list, tuple, np.ndarray)) else [value]

    if thresholds is not None:
        invalid = [t for t in as_list(thresholds) if t is None or t < 0 or t > 1]
        if invalid:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return as_list(default if thresholds is None else thresholds)


def _evenly_spaced(thresholds):
    """True for at least 3 thresholds at i / (n - 1): the bucketed counting below applies."""
    count = len(thresholds)
    if count < 3:
        return False
    return bool(np.allclose(thresholds, np.arange(count, dtype=np.float32) / (count - 1), atol=backend.epsilon()))


def _keep_top_k(y_pred, k):
    """Predictions outside each row's k largest (ties: the lower index wins) become -1e10."""
    top = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    kept = np.zeros(y_pred.shape, dtype=bool)
    np.put_along_axis(kept, top, True, axis=-1)
    return np.where(kept, y_pred, y_pred.dtype.type(_NEG_INF))


def _confusion_counts(y_true, y_pred, thresholds, evenly, dtype, sample_weight=None, top_k=None, class_id=None,
                      multi_label=False, label_weights=None):
    """(tp, fp, tn, fn) of one batch, weighted, per threshold (and per label with multi_label).

    A prediction is positive at a threshold when it is strictly greater; a label is positive
    when it is non-zero. Without multi_label every prediction of the batch is pooled.
    """
    y_true = np.asarray(y_true, dtype=dtype)
    y_pred = np.asarray(y_pred, dtype=dtype)
    thresholds = np.asarray(thresholds, dtype=dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=dtype)[..., None]
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _keep_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    y_true = np.broadcast_to(y_true, y_pred.shape)
    weights = np.ones(y_pred.shape, dtype) if sample_weight is None else np.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None:
        weights = weights * np.broadcast_to(np.asarray(label_weights, dtype)[None], y_pred.shape)
    if not multi_label:  # one pooled column
        y_true, y_pred, weights = (a.reshape(-1, 1) for a in (y_true, y_pred, weights))
    positive = y_true != 0
    true_weight = np.where(positive, weights, 0).astype(np.float64)
    false_weight = np.where(positive, 0, weights).astype(np.float64)
    count_above = _bucketed_counts if evenly else _compared_counts
    tp, fp = count_above(y_pred, (true_weight, false_weight), thresholds)
    tn = false_weight.sum(axis=0) - fp
    fn = true_weight.sum(axis=0) - tp
    counts = (tp, fp, tn, fn)
    return counts if multi_label else tuple(c[:, 0] for c in counts)


def _bucketed_counts(y_pred, weights, thresholds):
    """For each array of `weights`: Σ weight where y_pred > threshold, per (threshold, column),
    for evenly spaced thresholds.

    Keras's fast path: each prediction falls in bucket ceil(p·(n-1)) - 1 (computed in the
    metric's dtype, so borderline values land where Keras puts them), and the count above
    threshold j is the sum over buckets ≥ j. Thresholds padded with ±epsilon put p = 0 in bucket 0.
    """
    count, columns = len(thresholds), y_pred.shape[1]
    with_epsilon = thresholds[0] < 0 or thresholds[-1] > 1
    with np.errstate(invalid="ignore"):
        bucket = np.ceil(np.clip(y_pred, 0, 1) * y_pred.dtype.type(count - 1)) - 1
    if with_epsilon:
        bucket = np.maximum(bucket, 0)
    keep = np.isfinite(bucket) & (bucket >= 0)  # bucket -1: never above any threshold
    column = np.broadcast_to(np.arange(columns), y_pred.shape)
    slot = (column * count + np.where(keep, bucket, 0).astype(np.int64))[keep]
    results = []
    for weight in weights:
        per_bucket = np.bincount(slot, weights=weight[keep], minlength=columns * count).reshape(columns, count)
        results.append(np.cumsum(per_bucket[:, ::-1], axis=1)[:, ::-1].T)
    return results


def _compared_counts(y_pred, weights, thresholds):
    """For each array of `weights`: Σ weight where y_pred > threshold, per (threshold, column),
    by sorting each column."""
    results = [np.empty((len(thresholds), y_pred.shape[1])) for _ in weights]
    for column in range(y_pred.shape[1]):
        values = np.nan_to_num(y_pred[:, column], nan=-np.inf)  # NaN is above no threshold
        order = np.argsort(values, kind="stable")
        first_above = np.searchsorted(values[order], thresholds, side="right")
        for weight, result in zip(weights, results):
            weight_up_to = np.concatenate([[0.0], np.cumsum(weight[order, column])])
            result[:, column] = weight_up_to[-1] - weight_up_to[first_above]
    return results


class _ConfusionMetric(Metric):
    """Shared by the metrics built on counts at given thresholds (Precision, Recall, TruePositives...)."""

    _counts_kept = ()  # which of "tp", "fp", "tn", "fn" this metric accumulates
    _variable_names = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
                       "fn": "false_negatives"}

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None, default_threshold=0.5):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _threshold_list(thresholds, default_threshold)
        self._thresholds_distributed_evenly = _evenly_spaced(self.thresholds)
        for key in self._counts_kept:
            setattr(self, self._variable_names[key],
                    self.add_variable((len(self.thresholds),), name=self._variable_names[key]))

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, tn, fn = _confusion_counts(y_true, y_pred, self.thresholds, self._thresholds_distributed_evenly,
                                           self._dtype, sample_weight=sample_weight, top_k=self.top_k,
                                           class_id=self.class_id)
        counts = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
        for key in self._counts_kept:
            self._add(getattr(self, self._variable_names[key]), counts[key])

    def _per_threshold(self, values):
        values = self._scalar(values)
        return values[0] if len(self.thresholds) == 1 else values


class _ConfusionCount(_ConfusionMetric):
    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    def result(self):
        return self._per_threshold(getattr(self, self._variable_names[self._counts_kept[0]]).value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The (weighted) number of positive labels predicted above the threshold(s)."""
    _counts_kept = ("tp",)


class FalsePositives(_ConfusionCount):
    """The (weighted) number of negative labels predicted above the threshold(s)."""
    _counts_kept = ("fp",)


class TrueNegatives(_ConfusionCount):
    """The (weighted) number of negative labels predicted at or below the threshold(s)."""
    _counts_kept = ("tn",)


class FalseNegatives(_ConfusionCount):
    """The (weighted) number of positive labels predicted at or below the threshold(s)."""
    _counts_kept = ("fn",)


class _PrecisionOrRecall(_ConfusionMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        # With top_k, a kept prediction is positive whatever its value.
        super().__init__(thresholds, top_k, class_id, name, dtype,
                         default_threshold=0.5 if top_k is None else _NEG_INF)
        self._direction = "max"

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionOrRecall):
    """tp / (tp + fp): the fraction of positive predictions that are right, per threshold.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5; with top_k, none).
        top_k: only the k highest predictions of each sample can be positive.
        class_id: count only this class (column) of y_pred.
    """

    _counts_kept = ("tp", "fp")

    def result(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        return self._per_threshold(_divide_no_nan(tp, tp + fp))


class Recall(_PrecisionOrRecall):
    """tp / (tp + fn): the fraction of positive labels predicted positive, per threshold
    (arguments as for Precision)."""

    _counts_kept = ("tp", "fn")

    def result(self):
        tp, fn = self.true_positives.value, self.false_negatives.value
        return self._per_threshold(_divide_no_nan(tp, tp + fn))


_AUC_CURVES = {"roc": "ROC", "ROC": "ROC", "pr": "PR", "PR": "PR", "prgain": "PRGAIN", "PRGAIN": "PRGAIN"}
_AUC_SUMMATIONS = {"interpolation": "interpolation", "Interpolation": "interpolation", "majoring": "majoring",
                   "Majoring": "majoring", "minoring": "minoring", "Minoring": "minoring"}


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at fixed thresholds.

    Args:
        num_thresholds: thresholds evenly spaced over [0, 1] (the ends padded by ±epsilon).
        curve: 'ROC', 'PR' or 'PRGAIN'.
        summation_method: 'interpolation' (trapezoids; for PR, Davis & Goadrich's
            interpolation), 'minoring' or 'majoring' (lower or upper Riemann sums).
        thresholds: explicit thresholds in [0, 1] instead of num_thresholds.
        multi_label: one curve per label column, averaged (weighted by label_weights);
            otherwise every prediction is pooled into one curve.
        label_weights: per-label weights (of the counts without multi_label, of the areas with).
        from_logits: apply a sigmoid to y_pred first.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        self._direction = "max"
        if curve not in _AUC_CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        if summation_method not in _AUC_SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             '["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(float(t) for t in thresholds)
            self._thresholds_distributed_evenly = _evenly_spaced(np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                                 f"num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        # The padded ends make predictions of exactly 0 and 1 fall inside the curve.
        self._thresholds = np.array([0.0 - backend.epsilon()] + thresholds + [1.0 + backend.epsilon()])
        self.curve = _AUC_CURVES[curve]
        self.summation_method = _AUC_SUMMATIONS[summation_method]
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=self._dtype)
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build([None, num_labels])
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                                 f"Full shape received for `y_pred`: {shape}")
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        self._build_input_shape = shape
        self.true_positives = self.add_variable(variable_shape, name="true_positives")
        self.false_positives = self.add_variable(variable_shape, name="false_positives")
        self.true_negatives = self.add_variable(variable_shape, name="true_negatives")
        self.false_negatives = self.add_variable(variable_shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, dtype=self._dtype)
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            with np.errstate(over="ignore"):
                y_pred = (1 / (1 + np.exp(-y_pred))).astype(self._dtype)
        counts = _confusion_counts(y_true, y_pred, self._thresholds, self._thresholds_distributed_evenly,
                                   self._dtype, sample_weight=sample_weight, multi_label=self.multi_label,
                                   label_weights=None if self.multi_label else self.label_weights)
        for variable, count in zip((self.true_positives, self.false_positives, self.true_negatives,
                                    self.false_negatives), counts):
            self._add(variable, count)

    def result(self):
        tp, fp, tn, fn = (v.value for v in (self.true_positives, self.false_positives, self.true_negatives,
                                            self.false_negatives))
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._scalar(self._average_labels(self._interpolated_pr_areas(tp, fp, fn)))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:
            x, y = self._precision_recall_gains(tp, fp, tn, fn)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / y.dtype.type(2)
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        areas = np.sum((x[:-1] - x[1:]) * heights, axis=0)
        return self._scalar(self._average_labels(areas))

    @staticmethod
    def _interpolated_pr_areas(tp, fp, fn):
        """Davis & Goadrich (2006): between two thresholds precision is interpolated along the
        line of tp against predicted positives p, which integrates to a log term."""
        p = tp + fp
        dtp = tp[:-1] - tp[1:]
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both_positive, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), np.ones_like(p[1:]))
        with np.errstate(divide="ignore", invalid="ignore"):
            increments = _divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                                        np.maximum(tp[1:] + fn[1:], 0))
        return np.sum(increments, axis=0)

    @staticmethod
    def _precision_recall_gains(tp, fp, tn, fn):
        scale = _divide_no_nan(tp + fn, tn + fp)
        one = tp.dtype.type(1)
        recall_gain = one - scale * _divide_no_nan(fn, tp)
        precision_gain = one - scale * _divide_no_nan(fp, tp)
        recall_gain = np.maximum(np.where(tp == 0, 0, recall_gain), 0).astype(tp.dtype)
        precision_gain = np.where(tp == 0, 1, precision_gain).astype(tp.dtype)
        return recall_gain, precision_gain

    def _average_labels(self, areas):
        if not self.multi_label:
            return areas
        if self.label_weights is None:
            return np.mean(areas)
        return _divide_no_nan(np.sum(areas * self.label_weights), np.sum(self.label_weights))

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config = {"num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": label_weights, "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return {**super().get_config(), **config}


# ---------------------------------------------------------------------------------------------
# R².

class R2Score(Metric):
    """The coefficient of determination, 1 - Σ(y - ŷ)² / Σ(y - ȳ)², per output column.

    Args:
        class_aggregation: 'uniform_average' (mean over columns), 'variance_weighted_average'
            (weighted by each column's variance), or None (one score per column).
        num_regressors: p > 0 gives the adjusted R², 1 - (1 - R²)(n - 1)/(n - p - 1), where n
            counts every target value seen.
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "max"
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one of "
                             "(None, 'uniform_average', 'variance_weighted_average'). "
                             f"Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError("R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={y_pred_shape} and y_true.shape={y_true_shape}.")
        columns = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(columns, name="squared_sum")
        self.sum = self.add_variable(columns, name="sum")
        self.total_mse = self.add_variable(columns, name="residual")
        self.count = self.add_variable(columns, name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(y_true, dtype=self._dtype)
        y_pred = np.asarray(y_pred, dtype=self._dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        weight = np.asarray(1 if sample_weight is None else sample_weight, dtype=self._dtype)
        if weight.ndim == 1:
            weight = weight[:, None]
        weight = np.broadcast_to(weight, y_true.shape)
        weighted_y_true = y_true * weight
        self._add(self.sum, np.sum(weighted_y_true, axis=0))
        self._add(self.squared_sum, np.sum(y_true * weighted_y_true, axis=0))
        self._add(self.total_mse, np.sum(np.square(y_true - y_pred) * weight, axis=0))
        self._add(self.count, np.sum(weight, axis=0))
        self._add(self.num_samples, y_true.size)

    def result(self):
        if not self._built:
            return self._scalar(np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.value / self.count.value
            total = self.squared_sum.value - self.sum.value * mean
            raw_scores = 1 - self.total_mse.value / total
        raw_scores = np.where(np.isinf(raw_scores), 0, raw_scores).astype(self._dtype)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw_scores)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw_scores) / np.sum(total)
        else:
            score = raw_scores
        return self._scalar(self._adjusted(score))

    def _adjusted(self, score):
        if self.num_regressors == 0:
            return score
        n, p = float(self.num_samples.value), float(self.num_regressors)
        if p > n - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                          "standard R2 score.", stacklevel=3)
            return score
        if p == n - 1:
            warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.", stacklevel=3)
            return score
        n, p = np.float32(n), np.float32(p)
        return 1 - (1 - score) * (n - 1) / (n - p - 1)

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


# ---------------------------------------------------------------------------------------------
# Identifiers, serialization.

_ACCURACY_FUNCTIONS.update({
    binary_accuracy: "binary_accuracy", categorical_accuracy: "categorical_accuracy",
    sparse_categorical_accuracy: "sparse_categorical_accuracy",
    top_k_categorical_accuracy: "top_k_categorical_accuracy",
    sparse_top_k_categorical_accuracy: "sparse_top_k_categorical_accuracy",
})

_CLASSES = [
    Metric, Mean, Sum, MeanMetricWrapper, MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, R2Score, AUC,
    FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives, Hinge, SquaredHinge,
    CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
]
# Every string metrics.get accepts, as in Keras 3: class names, their snake_case, a few aliases.
_IDENTIFIERS = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{naming.to_snake_case(cls.__name__): cls for cls in _CLASSES},
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
}
# Functions a serialized {"class_name": "function", "config": name} may name.
_FUNCTIONS = {
    fn.__name__: fn for fn in (
        binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
        sparse_top_k_categorical_accuracy, cosine_similarity, mean_squared_error, mean_absolute_error,
        mean_absolute_percentage_error, mean_squared_logarithmic_error, binary_crossentropy,
        categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge,
        categorical_hinge, huber, log_cosh)
}


def get(identifier):
    """A metric from a name ('auc', 'AUC', 'mse', ...; a new instance), a config dict, a Metric
    class (instantiated), or a Metric instance or function (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier not in _IDENTIFIERS:  # Keras's message, then the close matches
            raise ValueError(f"Could not interpret metric identifier: {identifier}. "
                             f"{unknown_name_error('metric', identifier, _IDENTIFIERS)}")
        obj = _IDENTIFIERS[identifier]
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


def serialize(metric):
    """A Keras 3 config dict for a Metric instance or a metric function (names pass through)."""
    if metric is None or isinstance(metric, str):
        return metric
    if isinstance(metric, Metric):
        cls = type(metric)
        builtin = cls in _CLASSES
        return {"module": "keras.metrics" if builtin else cls.__module__, "class_name": cls.__name__,
                "config": metric.get_config(),
                "registered_name": None if builtin else getattr(cls, "_registered_name", cls.__name__)}
    if callable(metric) and hasattr(metric, "__name__"):
        return {"module": "builtins", "class_name": "function", "config": metric.__name__,
                "registered_name": "function"}
    raise ValueError(f"Could not serialize metric: {metric!r}")


def deserialize(config, custom_objects=None):
    """The metric described by a name or a config dict (Keras 2 or 3 style).

    ``custom_objects`` maps names to user classes or functions and takes precedence.
    """
    if isinstance(config, str):
        obj = object_registry.get_registered_object(config, custom_objects) or _IDENTIFIERS.get(config)
        if obj is None:
            raise ValueError(f"Could not interpret metric identifier: {config}")
        return obj() if inspect.isclass(obj) else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize metric: {config!r}")
    if config["class_name"] == "function":
        name = config.get("config")
        fn = object_registry.get_registered_object(name, custom_objects) or _FUNCTIONS.get(name)
        if fn is None:
            raise ValueError(f"Unknown metric function: {name!r}. Pass it in custom_objects.")
        return fn
    registered = config.get("registered_name")
    cls = (object_registry.get_registered_object(registered, custom_objects) if registered else None) or \
        object_registry.get_registered_object(config["class_name"], custom_objects) or \
        _IDENTIFIERS.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown metric class: {config['class_name']!r}. Pass it in custom_objects.")
    return cls.from_config(dict(config.get("config") or {}))
