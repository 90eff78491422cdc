"""Compile state in files: Keras 3's compile_config (.keras, to_json) and the legacy HDF5
training_config, written as Keras 3 writes them and read in the Keras 2 and 3 forms (Keras 2
wrote its metrics as MeanMetricWrapper dicts, one list per output)."""

import warnings

from fastdense import losses, optimizers
from fastdense import metrics as metrics_module
from fastdense import object_registry
from fastdense.object_registry import serialize_function
from fastdense.saving.serialization_lib import is_builtin, short_repr, user_object
from fastdense.trainers import compile_utils
from fastdense.utils.naming import to_snake_case


def compile_config(model):
    """Keras 3's compile_config: {} when not compiled."""
    if not getattr(model, "compiled", False):
        return {}
    args = model._compile_args
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _serialize_loss(args["loss"]),
        "loss_weights": args["loss_weights"],
        "metrics": _serialize_metrics(args["metrics"]),
        "weighted_metrics": _serialize_metrics(args["weighted_metrics"]),
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def training_config(model):
    """The training_config attribute of a legacy HDF5 file (None when not compiled)."""
    config = compile_config(model)
    if not config:
        return None
    optimizer = config.pop("optimizer")
    config["optimizer_config"] = {"class_name": optimizer["class_name"], "config": optimizer["config"]}
    config["loss"] = _full_loss_names(config["loss"])
    return config


def _full_loss_names(loss):
    """'mse' -> 'mean_squared_error': Keras 3 (3.15) reads aliases in an HDF5 training_config
    as metric objects and fails, but reads the full function names."""
    if isinstance(loss, str):
        try:
            resolved = losses.get(loss)
        except ValueError:
            return loss
        return loss if isinstance(resolved, losses.Loss) else getattr(resolved, "__name__", loss)
    if isinstance(loss, list):
        return [_full_loss_names(v) for v in loss]
    if isinstance(loss, dict) and "class_name" not in loss:
        return {k: _full_loss_names(v) for k, v in loss.items()}
    return loss


def _builtin_name(fn, *modules):
    name = getattr(fn, "__name__", None)
    for module in modules:
        if name is not None and getattr(module, name, None) is fn:
            return name
    return None


def _serialize_loss(loss):
    if loss is None or isinstance(loss, str):
        return loss
    if isinstance(loss, dict):
        return {k: _serialize_loss(v) for k, v in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_serialize_loss(v) for v in loss]
    if isinstance(loss, losses.Loss):
        return losses.serialize(loss)
    name = _builtin_name(loss, losses)
    return name if name is not None else serialize_function(loss)


def _serialize_metrics(metrics):
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, dict):
        return {k: _serialize_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [_serialize_metrics(m) for m in metrics]
    name = _builtin_name(metrics, metrics_module, losses)
    if name is not None:
        return name
    if hasattr(metrics, "get_config") and not isinstance(metrics, type):
        builtin = is_builtin(metrics)
        return {"module": "keras.metrics" if builtin else type(metrics).__module__,
                "class_name": type(metrics).__name__, "config": metrics.get_config(),
                "registered_name": None if builtin else object_registry.get_registered_name(type(metrics))}
    return serialize_function(metrics)


def compile_from_config(model, config, custom_objects=None, source="config"):
    """Compiles `model` from a Keras 3 compile_config or a legacy training_config (Keras 2 or 3)."""
    with object_registry.custom_object_scope(custom_objects):
        optimizer = config.get("optimizer", config.get("optimizer_config"))
        if isinstance(optimizer, dict):
            user = user_object(optimizer, custom_objects)
            if isinstance(user, type):
                optimizer = user.from_config(optimizer.get("config") or {})
            else:
                optimizer = optimizers.deserialize(optimizer, custom_objects)
        elif optimizer is None:
            optimizer = "rmsprop"
        names = model.output_names if model.outputs is not None else ["output"]
        model.compile(
            optimizer=optimizer,
            loss=_deserialize_loss(config.get("loss"), custom_objects),
            loss_weights=config.get("loss_weights"),
            metrics=_deserialize_metrics(config.get("metrics"), custom_objects, len(names), source),
            weighted_metrics=_deserialize_metrics(config.get("weighted_metrics"), custom_objects, len(names),
                                                  source),
        )


def _deserialize_loss(value, custom_objects):
    if value is None:
        return None
    if isinstance(value, str):
        user = object_registry.get_registered_object(value, custom_objects)
        return user if user is not None else value
    if isinstance(value, list):
        return [_deserialize_loss(v, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_loss(v, custom_objects) for k, v in value.items()}
    user = user_object(value, custom_objects)
    if isinstance(user, type):
        return user.from_config(value.get("config") or {})
    if user is not None:
        return user
    return losses.deserialize(value, custom_objects)


def _deserialize_metrics(value, custom_objects, output_count, source):
    if value is None:
        return None
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_metrics(v, custom_objects, 1, source) for k, v in value.items()}
    if not isinstance(value, list):
        value = [value]
    # Keras 2 wrote one list per output: [[m1, m2]] for a single-output model.
    if output_count == 1 and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    resolved = []
    for item in value:
        if isinstance(item, list):
            resolved.append(_deserialize_metrics(item, custom_objects, 1, source))
            continue
        metric = _deserialize_metric(item, custom_objects)
        if metric is None:
            warnings.warn(f"{source}: the compiled metric {short_repr(item)} is not available in fastdense; "
                          "the model is compiled without it.", stacklevel=3)
        else:
            resolved.append(metric)
    return resolved


def _resolvable_metric_name(name):
    return isinstance(name, str) and compile_utils.is_metric_name(name)


def _deserialize_metric(item, custom_objects):
    if isinstance(item, str):
        user = object_registry.get_registered_object(item, custom_objects)
        return user if user is not None else item
    if not isinstance(item, dict):
        return None
    user = user_object(item, custom_objects)
    if isinstance(user, type):
        return user.from_config(item.get("config") or {})
    if user is not None:
        return user
    class_name, inner = item.get("class_name"), item.get("config")
    if class_name == "function":
        return inner if _resolvable_metric_name(inner) else None
    inner = inner if isinstance(inner, dict) else {}
    deserialize = getattr(metrics_module, "deserialize", None)
    if deserialize is not None and class_name != "MeanMetricWrapper":
        try:
            return deserialize(item, custom_objects)
        except (ValueError, TypeError, KeyError):
            pass
    # Keras 2's MeanMetricWrapper {"name": "accuracy", "fn": "binary_accuracy"}, and metric
    # classes whose snake_case name is a metric function ("MeanSquaredError").
    for candidate in (inner.get("name"), inner.get("fn"), to_snake_case(class_name or "")):
        if _resolvable_metric_name(candidate):
            return candidate
    return None
