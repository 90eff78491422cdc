"""Metric functions shaped like ``keras.metrics`` (Keras 3): stateless, per-sample values.

The loss-named metrics are the loss functions of :mod:`fastdense.losses` (same objects), except
``cosine_similarity``, which as a metric is the positive similarity.
"""

import numpy as np

from fastdense import losses as _losses
from fastdense.losses import (  # noqa: F401  (re-exported)
    MAE, MAPE, MSE, MSLE, binary_crossentropy, categorical_crossentropy, categorical_hinge, hinge,
    huber, kl_divergence, log_cosh, mae, mape, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, mse, msle, poisson,
    sparse_categorical_crossentropy, squared_hinge,
)
from fastdense.losses import squeeze_or_expand_to_same_rank

__all__ = [
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "cosine_similarity",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "huber", "log_cosh",
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
