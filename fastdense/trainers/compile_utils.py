"""What `compile` resolves: one loss and a list of metrics per model output, each described
both for the native engine and, for user-defined pieces, as a Python callable."""

import numpy as np

from fastdense import losses as losses_module
from fastdense._keras_objects import unknown_name_error

# Metric names (as Keras accepts them in compile) → native metric spec. Loss-named metrics
# reuse the loss kernels; 'negate' turns the cosine loss back into a similarity.
_LOSS_METRICS = {
    "mean_squared_error": "mean_squared_error", "mse": "mean_squared_error", "MSE": "mean_squared_error",
    "mean_absolute_error": "mean_absolute_error", "mae": "mean_absolute_error", "MAE": "mean_absolute_error",
    "mean_absolute_percentage_error": "mean_absolute_percentage_error", "mape": "mean_absolute_percentage_error",
    "MAPE": "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error": "mean_squared_logarithmic_error", "msle": "mean_squared_logarithmic_error",
    "MSLE": "mean_squared_logarithmic_error",
    "binary_crossentropy": "binary_crossentropy", "bce": "binary_crossentropy", "BCE": "binary_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "kl_divergence": "kl_divergence", "kld": "kl_divergence", "KLD": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "poisson": "poisson", "hinge": "hinge", "squared_hinge": "squared_hinge", "categorical_hinge": "categorical_hinge",
    "log_cosh": "log_cosh", "logcosh": "log_cosh", "log_cosh_error": "log_cosh",
}
_ACCURACY_METRICS = {
    "binary_accuracy": "binary_accuracy", "categorical_accuracy": "categorical_accuracy",
    "sparse_categorical_accuracy": "sparse_categorical_accuracy",
    "top_k_categorical_accuracy": "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy": "sparse_top_k_categorical_accuracy",
}
_MAXIMIZED = {"binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
              "sparse_top_k_categorical_accuracy", "cosine_similarity", "auc", "precision", "recall", "r2_score"}


_METRIC_NAMES = sorted(set(_LOSS_METRICS) | set(_ACCURACY_METRICS) |
                      {"accuracy", "acc", "crossentropy", "ce", "cosine_similarity", "root_mean_squared_error"})


class CompiledMetric:
    """A metric of one output: its History name, its native spec, and its direction.

    `own_name` is the metric's name before the output prefix and the de-duplication suffixes
    (Keras's `metric.name`); evaluate's list form looks results up by it.
    """

    def __init__(self, name, native, direction, weighted=False, own_name=None):
        self.name = name
        self.native = native
        self.direction = direction  # 'min' or 'max' (EarlyStopping's auto mode)
        self.own_name = name if own_name is None else own_name
        self.weighted = weighted


class CompiledOutput:
    """Loss, loss weight and metrics of one model output."""

    def __init__(self, name, loss, loss_weight, metrics):
        self.name = name
        self.loss = loss
        self.loss_weight = loss_weight
        self.metrics = metrics


def native_metric_spec(canonical, weighted=False):
    if canonical in _ACCURACY_METRICS:
        return {"kind": _ACCURACY_METRICS[canonical], "weighted": weighted}
    if canonical == "cosine_similarity":
        return {"kind": "loss", "loss": {"name": "cosine_similarity"}, "negate": True, "weighted": weighted}
    if canonical in ("root_mean_squared_error", "rmse"):
        return {"kind": "loss", "loss": {"name": "mean_squared_error"}, "root": True, "weighted": weighted}
    if canonical in _LOSS_METRICS:
        return {"kind": "loss", "loss": {"name": _LOSS_METRICS[canonical]}, "weighted": weighted}
    return None


def accuracy_variant(y_true_shape, y_pred_shape):
    """Keras's rule for 'accuracy': binary for one output unit, sparse for integer labels."""
    if y_pred_shape[-1] == 1:
        return "binary_accuracy"
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return "sparse_categorical_accuracy"
    return "categorical_accuracy"


def resolve_metric(identifier, y_true_shape, y_pred_shape, weighted):
    """(History name, native spec or None, direction) of one entry of compile(metrics=...)."""
    if isinstance(identifier, str):
        name = identifier
        canonical = identifier
        if identifier.lower() in ("accuracy", "acc"):
            canonical = accuracy_variant(y_true_shape, y_pred_shape)
        elif identifier.lower() in ("crossentropy", "ce"):
            canonical = _crossentropy_variant(y_true_shape, y_pred_shape)
        elif native_metric_spec(identifier) is None:
            raise unknown_name_error("metric", identifier, _METRIC_NAMES)
    elif hasattr(identifier, "_native_metric_spec"):  # a Metric instance
        name = identifier.name
        spec = identifier._native_metric_spec(y_true_shape, y_pred_shape)
        if spec is not None:
            spec = dict(spec, weighted=weighted)
        direction = "max" if getattr(identifier, "_direction", "min") == "max" else "min"
        return name, spec, direction
    elif callable(identifier):
        name = getattr(identifier, "__name__", type(identifier).__name__)
        canonical = name
    else:
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
    spec = native_metric_spec(canonical, weighted)
    if spec is None:
        raise NotImplementedError(
            f"Metric {identifier!r} has no native implementation yet; custom metrics need Python support")
    direction = "max" if canonical in _MAXIMIZED else "min"
    return name, spec, direction


def _crossentropy_variant(y_true_shape, y_pred_shape):
    variant = accuracy_variant(y_true_shape, y_pred_shape)
    return {"binary_accuracy": "binary_crossentropy", "sparse_categorical_accuracy": "sparse_categorical_crossentropy",
            "categorical_accuracy": "categorical_crossentropy"}[variant]


def per_output(value, output_names, what):
    """Spreads a compile argument over the outputs: one value for all, a list, or a dict by name."""
    count = len(output_names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in output_names]
        if unknown:
            raise ValueError(f"{what} has keys {unknown} that are not output names {output_names}")
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)):  # one entry per output, also for a single output
        if len(value) != count:
            raise ValueError(f"{what} has {len(value)} entries but the model has {count} output(s)")
        return list(value)
    return [value] * count


def resolve_loss(identifier, y_true_shape=None, y_pred_shape=None):
    """The loss function or Loss object of one output.

    'crossentropy' / 'ce' (any case) pick binary, sparse or categorical crossentropy from the
    shapes, by the rule of 'accuracy'; without shapes (at compile time) they resolve to None.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        if y_true_shape is None or y_pred_shape is None:
            return None
        return losses_module.get(_crossentropy_variant(y_true_shape, y_pred_shape))
    loss = losses_module.get(identifier)
    if loss is None:
        raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
    return loss


def native_loss_config(loss):
    """The engine's config of a resolved loss, with a Loss object's reduction."""
    config = losses_module.native_config(loss)
    if config is None:
        raise NotImplementedError(f"Loss {loss!r} has no native implementation yet; custom losses need Python support")
    config = dict(config)
    reduction = getattr(loss, "reduction", "sum_over_batch_size")
    if reduction in (None, "none"):
        # Keras would report the per-sample mean but differentiate the per-sample sum.
        raise NotImplementedError(f"Loss {loss!r} with reduction={reduction!r} cannot be trained by fastdense; "
                                  "use 'sum_over_batch_size', 'sum' or 'mean_with_sample_weight'")
    if reduction != "sum_over_batch_size":
        config["reduction"] = reduction
    return config
