"""Loss functions and classes shaped like ``keras.losses`` (Keras 3).

Every built-in loss is computed by the native engine (``fastdense._core.loss_evaluate``) with
Keras 3's formulas, so the numbers match tf.keras within float32 rounding.

Functions take arrays whose first axis is the batch and whose loss axis is the last one, and
return the per-sample losses (the shape of the remaining axes), like the Keras functions.
Classes wrap a function with a reduction: ``MeanSquaredError()(y_true, y_pred, sample_weight)``.
Inside traced code (``fastdense.autodiff``) functions and classes accept traced arrays and are
differentiable with respect to y_pred; the native loss supplies the gradient.

The native configuration of a loss, the dict handed to the engine by ``Model.compile``, comes
from :func:`native_config` (built-in functions and ``Loss`` objects also expose it as
``loss._fastdense_config()``). It describes the per-sample formula only; the reduction is the
``Loss.reduction`` attribute. User-defined losses have no native configuration (``None``).
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, TypeVar

import numpy as np

from fastdense import autodiff
from fastdense.utils import naming

# A loss function, its signature kept by the registering decorator.
_LossFunction = TypeVar("_LossFunction", bound=Callable[..., Any])

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Huber", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "LogCosh", "CosineSimilarity",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "huber", "hinge", "squared_hinge", "categorical_hinge",
    "kl_divergence", "poisson", "log_cosh", "cosine_similarity",
    "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "bce", "BCE",
    "kld", "KLD", "kullback_leibler_divergence", "logcosh",
    "get", "serialize", "deserialize", "native_config",
]

REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")

# ---------------------------------------------------------------------------------------------
# Native configuration: the one place that maps built-in functions and their keyword arguments
# to the engine's loss config.

# Parameters the engine reads, with their defaults, per engine loss name.
_ENGINE_PARAMS = {
    "binary_crossentropy": {"from_logits": False, "label_smoothing": 0.0},
    "categorical_crossentropy": {"from_logits": False, "label_smoothing": 0.0},
    "sparse_categorical_crossentropy": {"from_logits": False},
    "huber": {"delta": 1.0},
}
_ENGINE_NAMES = {}  # built-in function -> engine loss name


def _engine_config(fn, kwargs):
    """The engine config for built-in loss function ``fn`` called with ``kwargs``.

    None when ``fn`` is not a built-in or when the engine cannot compute this variant (a loss
    axis other than the last one, ``ignore_class``).
    """
    name = _ENGINE_NAMES.get(fn)
    if name is None:
        return None
    config = {"name": name, **_ENGINE_PARAMS.get(name, {})}
    for key, value in kwargs.items():
        if key == "axis":
            if value != -1:
                return None
        elif key == "ignore_class":
            if value is not None:
                return None
        elif key in config and key != "name":
            config[key] = type(config[key])(value)
        else:
            raise TypeError(f"{fn.__name__}() got an unexpected keyword argument '{key}'")
    return config


def _builtin(engine_name: str) -> Callable[[_LossFunction], _LossFunction]:
    """Registers a loss function as computed by the engine under ``engine_name``."""
    def register(fn: _LossFunction) -> _LossFunction:
        _ENGINE_NAMES[fn] = engine_name
        fn._fastdense_config = lambda: _engine_config(fn, {})
        return fn
    return register


def native_config(loss):
    """The engine config dict for a loss identifier, or None for a user-defined loss.

    Accepts what :func:`get` accepts. For a ``Loss`` object, apply ``loss.reduction`` on top.
    """
    loss = get(loss)
    config_fn = getattr(loss, "_fastdense_config", None)
    return config_fn() if config_fn is not None else None


# ---------------------------------------------------------------------------------------------
# Array plumbing.

def _float_array(x, what, dtype=None):
    """x as a float array: ``dtype`` if given, else float64 stays float64 and the rest is float32."""
    x = autodiff.asarray(x)  # a traced value stays traced
    if x.dtype.kind not in "fiub":
        raise ValueError(f"{what}: expected numeric data, got dtype {x.dtype}")
    if dtype is None:
        dtype = np.float64 if x.dtype == np.float64 else np.float32
    return x.astype(dtype, copy=False)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rank alignment: when the ranks differ by one and the bigger array's last axis has
    size 1, a rank-1 partner is expanded, otherwise the bigger one is squeezed."""
    x1, x2 = autodiff.asarray(x1), autodiff.asarray(x2)
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _dense_layout(y_true, y_pred, axis):
    """Both arrays with the same shape and the loss axis last."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if y_pred.ndim == 0:
        raise ValueError("y_pred: expected at least one dimension (the loss axis), got a scalar")
    if y_true.shape != y_pred.shape:
        try:
            y_true, y_pred = np.broadcast_arrays(y_true, y_pred)
        except ValueError:
            raise ValueError(f"y_true and y_pred have incompatible shapes {y_true.shape} and "
                             f"{y_pred.shape}") from None
    return np.moveaxis(y_true, axis, -1), np.moveaxis(y_pred, axis, -1)


def _sparse_layout(y_true, y_pred, axis):
    """Class indices of shape y_pred.shape[:-1] (a trailing axis of size 1 is squeezed)."""
    if y_pred.ndim == 0 or axis not in (-1, y_pred.ndim - 1):
        raise ValueError(f"sparse_categorical_crossentropy: only axis=-1 is supported, got axis={axis} "
                         f"for y_pred of shape {y_pred.shape}")
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"sparse_categorical_crossentropy: y_true of shape {y_true.shape} must match "
                         f"y_pred of shape {y_pred.shape} up to its last axis")
    return y_true[..., None], y_pred


def _per_sample(fn, y_true, y_pred, axis=-1, **params):
    """Per-sample losses of built-in ``fn``, shaped like y_pred without its loss axis."""
    config = _engine_config(fn, params)
    y_pred = _float_array(y_pred, "y_pred")
    y_true = _float_array(y_true, "y_true", dtype=y_pred.dtype)
    if config["name"] == "sparse_categorical_crossentropy":
        y_true, y_pred = _sparse_layout(y_true, y_pred, axis)
    else:
        y_true, y_pred = _dense_layout(y_true, y_pred, axis)
    batch_shape = y_pred.shape[:-1]
    rows = int(np.prod(batch_shape))
    y_pred = y_pred.reshape(rows, y_pred.shape[-1])
    y_true = y_true.reshape(rows, y_true.shape[-1])
    # _core.loss_evaluate's per-sample values; a differentiable primitive when y_pred is traced.
    return autodiff.native.loss(y_true, y_pred, config=config).reshape(batch_shape)


# ---------------------------------------------------------------------------------------------
# Loss functions (per-sample values).

@_builtin("mean_squared_error")
def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis."""
    return _per_sample(mean_squared_error, y_true, y_pred)


@_builtin("mean_absolute_error")
def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    return _per_sample(mean_absolute_error, y_true, y_pred)


@_builtin("mean_absolute_percentage_error")
def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis."""
    return _per_sample(mean_absolute_percentage_error, y_true, y_pred)


@_builtin("mean_squared_logarithmic_error")
def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2) over the last axis."""
    return _per_sample(mean_squared_logarithmic_error, y_true, y_pred)


@_builtin("binary_crossentropy")
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over ``axis`` of the elementwise binary crossentropy.

    Probabilities are clipped to [1e-7, 1 - 1e-7] (Keras 3); logits use the stable formula.
    Labels are smoothed towards 0.5: y * (1 - label_smoothing) + 0.5 * label_smoothing.
    """
    return _per_sample(binary_crossentropy, y_true, y_pred, axis=axis, from_logits=from_logits,
                       label_smoothing=label_smoothing)


@_builtin("categorical_crossentropy")
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(y_pred)) over ``axis``, y_pred renormalized then clipped (or log_softmax
    of logits). Labels are smoothed to y * (1 - label_smoothing) + label_smoothing / num_classes."""
    return _per_sample(categorical_crossentropy, y_true, y_pred, axis=axis, from_logits=from_logits,
                       label_smoothing=label_smoothing)


@_builtin("sparse_categorical_crossentropy")
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical crossentropy with integer class indices as y_true (shape y_pred.shape[:-1],
    or with a trailing axis of size 1)."""
    if ignore_class is not None:
        raise NotImplementedError("sparse_categorical_crossentropy: ignore_class is not supported by fastdense")
    return _per_sample(sparse_categorical_crossentropy, y_true, y_pred, axis=axis, from_logits=from_logits)


@_builtin("huber")
def huber(y_true, y_pred, delta=1.0):
    """Mean of 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2, with e = y_pred - y_true."""
    return _per_sample(huber, y_true, y_pred, delta=delta)


@_builtin("hinge")
def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)); 0/1 labels are mapped to -1/1 when all of them are 0 or 1."""
    return _per_sample(hinge, y_true, y_pred)


@_builtin("squared_hinge")
def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)^2), with the label mapping of :func:`hinge`."""
    return _per_sample(squared_hinge, y_true, y_pred)


@_builtin("categorical_hinge")
def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    return _per_sample(categorical_hinge, y_true, y_pred)


@_builtin("kl_divergence")
def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)) with both clipped to [1e-7, 1]."""
    return _per_sample(kl_divergence, y_true, y_pred)


@_builtin("poisson")
def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis."""
    return _per_sample(poisson, y_true, y_pred)


@_builtin("log_cosh")
def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))) over the last axis, computed stably."""
    return _per_sample(log_cosh, y_true, y_pred)


@_builtin("cosine_similarity")
def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over ``axis`` (0 for a zero vector)."""
    return _per_sample(cosine_similarity, y_true, y_pred, axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
bce = BCE = binary_crossentropy
kld = KLD = kullback_leibler_divergence = kl_divergence  # Keras 2 names
logcosh = log_cosh  # Keras 2 name


# ---------------------------------------------------------------------------------------------
# Loss classes.


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of {REDUCTIONS}. "
                         f"Received: reduction={reduction!r}")
    return reduction


def _standardize_dtype(dtype):
    name = np.dtype(dtype or "float32").name
    if name not in ("float32", "float64"):
        raise ValueError(f"Loss dtype must be float32 or float64, got {dtype!r}")
    return name


def reduce_weighted_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Weights per-sample losses elementwise and reduces them as Keras does.

    'sum_over_batch_size'/'mean' divide the weighted sum by the number of loss values (not by the
    weight sum); 'mean_with_sample_weight' divides by the weight sum; a zero divisor gives 0.
    """
    reduction = standardize_reduction(reduction)
    traced = autodiff.is_traced(values)  # then the result is a traced scalar, not a float
    values = autodiff.asarray(values)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            values = values * sample_weight
        except ValueError:
            raise ValueError(f"sample_weight of shape {sample_weight.shape} does not match the "
                             f"per-sample losses of shape {values.shape}") from None
    if reduction in (None, "none"):
        return values
    if values.ndim == 0:
        return values if traced else float(values)
    total = np.sum(values, dtype=np.float64)
    total = total if traced else float(total)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(np.sum(sample_weight, dtype=np.float64))
    else:
        divisor = float(values.size)
    return total / divisor if divisor != 0 else 0.0 * total


class Loss:
    """Base class of losses: ``__call__`` computes ``call`` per sample, weights and reduces it.

    Subclass it and implement ``call(y_true, y_pred)`` returning per-sample losses.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        self.name = name or naming.auto_name(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = _standardize_dtype(dtype)

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The reduced loss (a float), or the weighted per-sample losses for reduction 'none'."""
        y_pred = _float_array(y_pred, "y_pred", dtype=self.dtype)
        y_true = _float_array(y_true, "y_true", dtype=self.dtype)
        losses = _float_array(self.call(y_true, y_pred), "loss values", dtype=self.dtype)
        return reduce_weighted_values(losses, sample_weight, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _fastdense_config(self):
        """The engine config of the per-sample formula; None for user-defined losses."""
        return None


class LossFunctionWrapper(Loss):
    """A Loss computing ``fn(y_true, y_pred, **kwargs)`` after aligning the ranks of its inputs."""

    def __init__(self, fn: Callable[..., Any], reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = Loss.get_config(self)
        config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("fn"), (str, dict)):
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def _fastdense_config(self):
        return _engine_config(self.fn, self._fn_kwargs)

    def __repr__(self):
        return f"<{type(self).__name__}({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


class _BuiltinLoss(LossFunctionWrapper):
    """A built-in loss class: its config is Keras's (name, reduction, dtype plus the class's own
    arguments), without the wrapped function."""

    def get_config(self):
        return Loss.get_config(self)


class MeanSquaredError(_BuiltinLoss):
    """mean((y_true - y_pred)^2) per sample, reduced over the batch."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "mean_squared_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsoluteError(_BuiltinLoss):
    """mean(|y_true - y_pred|) per sample, reduced over the batch."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "mean_absolute_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsolutePercentageError(_BuiltinLoss):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) per sample."""

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str | None = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction, dtype=dtype)


class MeanSquaredLogarithmicError(_BuiltinLoss):
    """mean((log(y_pred + 1) - log(y_true + 1))^2) per sample, inputs floored at 1e-7."""

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str | None = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction, dtype=dtype)


class BinaryCrossentropy(_BuiltinLoss):
    """Binary crossentropy averaged over the last axis; see :func:`binary_crossentropy`."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = "binary_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class CategoricalCrossentropy(_BuiltinLoss):
    """Crossentropy with one-hot (or soft) labels; see :func:`categorical_crossentropy`."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(_BuiltinLoss):
    """Crossentropy with integer class labels; see :func:`sparse_categorical_crossentropy`."""

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str | None = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        if ignore_class is not None:
            raise NotImplementedError("SparseCategoricalCrossentropy: ignore_class is not supported by fastdense")
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": self.ignore_class}


class Huber(_BuiltinLoss):
    """Quadratic for |error| <= delta, linear beyond; see :func:`huber`. Default name 'huber_loss'."""

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size",
                 name: str | None = "huber_loss", dtype: Any = None) -> None:
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self):
        # Keras 3 leaves delta out (so its round trip resets it to 1.0); fastdense keeps it.
        return {**super().get_config(), "delta": self.delta}


class Hinge(_BuiltinLoss):
    """mean(max(1 - y_true * y_pred, 0)); 0/1 labels become -1/1."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "hinge",
                 dtype: Any = None) -> None:
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)


class SquaredHinge(_BuiltinLoss):
    """mean(max(1 - y_true * y_pred, 0)^2); 0/1 labels become -1/1."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "squared_hinge",
                 dtype: Any = None) -> None:
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)


class CategoricalHinge(_BuiltinLoss):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "categorical_hinge",
                 dtype: Any = None) -> None:
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)


class KLDivergence(_BuiltinLoss):
    """sum(y_true * log(y_true / y_pred)), both clipped to [1e-7, 1]."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "kl_divergence",
                 dtype: Any = None) -> None:
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)


class Poisson(_BuiltinLoss):
    """mean(y_pred - y_true * log(y_pred + 1e-7))."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "poisson",
                 dtype: Any = None) -> None:
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)


class LogCosh(_BuiltinLoss):
    """mean(log(cosh(y_pred - y_true)))."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "log_cosh",
                 dtype: Any = None) -> None:
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)


class CosineSimilarity(_BuiltinLoss):
    """Negative cosine similarity along ``axis`` (-1 is a perfect match)."""

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str | None = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        # Keras 3 leaves axis out (so its round trip resets it to -1); fastdense keeps it.
        return {**super().get_config(), "axis": self.axis}


# ---------------------------------------------------------------------------------------------
# Identifiers, serialization.

_FUNCTIONS = [
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, huber, hinge, squared_hinge, categorical_hinge, kl_divergence,
    poisson, log_cosh, cosine_similarity,
]
_CLASSES = [
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, Huber, Hinge,
    SquaredHinge, CategoricalHinge, KLDivergence, Poisson, LogCosh, CosineSimilarity,
]
_ALIASES = {
    "mse": mse, "MSE": MSE, "mae": mae, "MAE": MAE, "mape": mape, "MAPE": MAPE, "msle": msle,
    "MSLE": MSLE, "bce": bce, "BCE": BCE, "kld": kld, "KLD": KLD,
    # Keras 2 names that Keras 3 rejects.
    "kullback_leibler_divergence": kl_divergence, "logcosh": log_cosh, "huber_loss": huber,
}
# Every string identifier: function names, aliases and class names (instantiated by get()).
_IDENTIFIERS = {
    **{fn.__name__: fn for fn in _FUNCTIONS},
    **_ALIASES,
    **{cls.__name__: cls for cls in _CLASSES},
}
# Classes that deserialize() may build from a {"class_name": ..., "config": ...} dict.
_DESERIALIZABLE = {cls.__name__: cls for cls in _CLASSES + [LossFunctionWrapper]}


def _lookup(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _IDENTIFIERS:
        return _IDENTIFIERS[name]
    close = difflib.get_close_matches(name, list(_IDENTIFIERS), n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"Unknown loss: {name!r}.{hint}")


def _instantiate(obj):
    return obj() if inspect.isclass(obj) else obj


def get(identifier: str | dict[str, Any] | Callable[..., Any] | None) -> Callable[..., Any] | None:
    """A loss function or Loss instance from a name, a config dict, a callable or None."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _instantiate(_lookup(identifier))
    else:
        obj = _instantiate(identifier)
    if not callable(obj):
        raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
    return obj


def serialize(loss):
    """A Keras-compatible config for a loss function or Loss instance."""
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        cls = type(loss)
        if cls in _CLASSES:
            module, registered = "keras.losses", None
        elif cls is LossFunctionWrapper:
            module, registered = "keras.src.losses.losses", "LossFunctionWrapper"
        else:
            module, registered = cls.__module__, cls.__name__
        return {"module": module, "class_name": cls.__name__, "config": loss.get_config(),
                "registered_name": registered}
    if callable(loss) and hasattr(loss, "__name__"):
        return {"module": "builtins", "class_name": "function", "config": loss.__name__,
                "registered_name": "function"}
    raise ValueError(f"Could not serialize loss: {loss!r}")


def deserialize(config, custom_objects=None):
    """The loss function or Loss instance described by ``config`` (a name or a config dict).

    ``custom_objects`` maps names to user classes or functions and takes precedence.
    """
    if config is None:
        return None
    if isinstance(config, str):
        return _instantiate(_lookup(config, custom_objects))
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize loss: {config!r}")
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "function":
        return _lookup(inner, custom_objects)
    cls = (custom_objects or {}).get(class_name) or _DESERIALIZABLE.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown loss class: {class_name!r}. Pass it in custom_objects.")
    inner = dict(inner or {})
    if inner.get("reduction") == "auto":  # Keras 2 configs; 'auto' meant sum_over_batch_size
        inner["reduction"] = "sum_over_batch_size"
    if "fn" in inner:
        inner["fn"] = deserialize(inner["fn"], custom_objects)
    return cls.from_config(inner)
