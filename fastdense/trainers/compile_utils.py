"""What `compile` resolves: one loss and a list of metrics per model output, each described
both for the native engine and, for user-defined pieces, as a Python callable. How a resolved
loss is handed to the engine is `fastdense.native.losses`."""

from fastdense import losses as losses_module
from fastdense import metrics as metrics_module
from fastdense.utils import naming

# Metric strings that Keras 3's metrics.get rejects but compile here accepts (Keras 2 names):
# the loss-named metrics they stand for.
_KERAS2_METRIC_NAMES = {
    "kld": "kl_divergence", "KLD": "kl_divergence", "kullback_leibler_divergence": "kl_divergence",
    "logcosh": "log_cosh_error", "log_cosh": "log_cosh_error",
}


class CompiledMetric:
    """A metric of one output: its History name, how it runs, and its direction.

    Exactly one of `native` and `python` is set. `native` is the engine's spec, e.g.
    {"kind": "loss", "loss": {"name": "mean_squared_error"}, "root": True, "weighted": False}
    or {"kind": "binary_accuracy", "threshold": 0.5, ...} ("negate" turns the cosine loss into
    the similarity); `python` is a Metric object updated from each batch's predictions.
    """

    def __init__(self, name, native, direction, python=None, weighted=False, own_name=None):
        self.name = name
        self.own_name = name if own_name is None else own_name  # before output prefix and de-duplication
        self.native = native
        self.direction = direction  # 'min', 'max' (EarlyStopping's auto mode), or None: unknown
        self.python = python
        self.weighted = weighted  # from weighted_metrics: samples count with their sample weight


class CompiledOutput:
    """Loss, loss weight and metrics of one model output."""

    def __init__(self, name, loss, loss_weight, metrics):
        self.name = name
        self.loss = loss
        self.loss_weight = loss_weight
        self.metrics = metrics


def accuracy_variant(y_true_shape, y_pred_shape):
    """Keras's rule for 'accuracy': binary for one output unit, sparse for integer labels."""
    if y_pred_shape[-1] == 1:
        return "binary_accuracy"
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return "sparse_categorical_accuracy"
    return "categorical_accuracy"


def is_metric_name(name):
    """True when compile(metrics=[name]) accepts the string."""
    if name.lower() in ("accuracy", "acc", "crossentropy", "ce") or name in _KERAS2_METRIC_NAMES:
        return True
    try:
        metrics_module.get(name)
    except ValueError:
        return False
    return True


def resolve_metric(identifier, y_true_shape, y_pred_shape, weighted):
    """(History name, native spec or None, direction, Python Metric or None) of one entry of
    compile(metrics=...): native when the engine has the metric, else a Metric object."""
    name, metric = _metric_object(identifier, y_true_shape, y_pred_shape)
    spec = metric._native_metric_spec(y_true_shape, y_pred_shape) if hasattr(metric, "_native_metric_spec") else None
    direction = {"max": "max", "up": "max", "min": "min", "down": "min"}.get(getattr(metric, "_direction", None))
    if spec is not None:
        return name, dict(spec, weighted=weighted), direction, None
    return name, None, direction, metric


def _metric_object(identifier, y_true_shape, y_pred_shape):
    """(History name, Metric object) as Keras's get_metric makes them: a string names the
    metric, an instance keeps its name, a function becomes a MeanMetricWrapper."""
    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    if isinstance(identifier, str):
        lowered = identifier.lower()
        if lowered in ("accuracy", "acc"):
            variant = accuracy_variant(y_true_shape, y_pred_shape)
        elif lowered in ("crossentropy", "ce"):
            variant = _crossentropy_variant(y_true_shape, y_pred_shape)
        else:
            variant = _KERAS2_METRIC_NAMES.get(identifier)
        metric = metrics_module.get(variant or identifier)
        metric.name = identifier
        return identifier, metric
    if isinstance(identifier, dict) or (isinstance(identifier, type) and issubclass(identifier, metrics_module.Metric)):
        identifier = metrics_module.get(identifier)  # a config dict or a class: an instance (or a function)
    if isinstance(identifier, metrics_module.Metric):
        return identifier.name, identifier
    if callable(identifier):
        name = getattr(identifier, "name", None) or \
            naming.to_snake_case(getattr(identifier, "__name__", None) or type(identifier).__name__)
        return name, metrics_module.MeanMetricWrapper(identifier, name=name)
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


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


def resolve_outputs(compile_args, output_names, y_pred_shapes, y_true_shapes):
    """One CompiledOutput per model output: compile's loss, loss weight, metrics and weighted
    metrics resolved against each output's shape and the shape of the first targets seen."""
    losses = per_output(compile_args["loss"], output_names, "loss")
    weights = per_output(compile_args["loss_weights"], output_names, "loss_weights")
    metric_lists = _metrics_per_output(compile_args["metrics"], output_names)
    weighted_lists = _metrics_per_output(compile_args["weighted_metrics"], output_names)
    outputs, taken = [], set()
    for o, name in enumerate(output_names):
        y_pred_shape = y_pred_shapes[o]
        y_true_shape = y_true_shapes[o]
        prefix = f"{name}_" if len(output_names) > 1 else ""
        compiled = []
        for identifiers, weighted in ((metric_lists[o], False), (weighted_lists[o], True)):
            for identifier in identifiers or []:
                own_name, spec, direction, python = resolve_metric(identifier, y_true_shape, y_pred_shape, weighted)
                metric_name = prefix + own_name
                if weighted and metric_name in taken:
                    metric_name = prefix + "weighted_" + metric_name[len(prefix):]
                metric_name = _unique(metric_name, taken)
                compiled.append(CompiledMetric(metric_name, spec, direction, python, weighted, own_name=own_name))
        loss = resolve_loss(losses[o], y_true_shape, y_pred_shape)
        weight = 1.0 if weights[o] is None else float(weights[o])
        outputs.append(CompiledOutput(name, loss, weight, compiled))
    return outputs


def _metrics_per_output(metrics, names):
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, dict):
        return [_as_list(metrics.get(name)) for name in names]
    # A list of lists has one list per output (a single output too: metrics=[["mae"]]).
    if isinstance(metrics, (list, tuple)) and metrics and (len(names) > 1 or len(metrics) == 1) and \
            all(isinstance(m, (list, tuple)) or m is None for m in metrics):
        return [_as_list(m) for m in metrics]
    return [_as_list(metrics) for _ in names]


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _unique(name, taken):
    candidate, suffix = name, 1
    while candidate in taken:
        candidate = f"{name}_{suffix}"
        suffix += 1
    taken.add(candidate)
    return candidate
