"""A compiled loss as the native Network takes it: a built-in's engine config, or a Python
callback (python_nodes.LossCallback) for a user's loss."""

from fastdense import losses as losses_module
from fastdense.native.python_nodes import LossCallback


def engine_loss_config(loss):
    """The engine's config of a compiled loss (with a Loss object's reduction), or None when the
    loss runs in Python (a user's loss)."""
    if loss is None:
        return None
    config = losses_module.native_config(loss)
    if config is None:
        return None
    config = dict(config)
    reduction = getattr(loss, "reduction", "sum_over_batch_size")
    if reduction in (None, "none"):
        # Keras would report the per-sample mean but differentiate the per-sample sum.
        raise NotImplementedError(f"Loss {loss!r} with reduction={reduction!r} cannot be trained by fastdense; "
                                  "use 'sum_over_batch_size', 'sum' or 'mean_with_sample_weight'")
    if reduction != "sum_over_batch_size":
        config["reduction"] = reduction
    return config


# Losses that reduce each row over its last axis with a sum, a max or a norm (keras/src/losses/losses.py);
# the engine computes them over a sample's flattened values, which is the same only for rank-2 outputs.
_LAST_AXIS_LOSSES = {"categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence",
                     "categorical_hinge", "cosine_similarity", "categorical_focal_crossentropy"}


def network_loss(loss, y_pred_shape, y_true_shape, dtype):
    """(loss, target_cols) for Network.add_output: a built-in's config (target columns as the
    engine derives them), or a Python callback reading the targets' own width. On outputs of
    rank > 2 the losses reduced over the last axis run as that callback, with Keras's formula
    (per row of the last axis, then the mean over the other axes)."""
    config = engine_loss_config(loss)
    if config is not None and len(y_pred_shape) > 2 and config.get("name") in _LAST_AXIS_LOSSES:
        config = None
    if config is not None or loss is None:
        return config, -1
    y_true_shape = y_pred_shape if y_true_shape is None else y_true_shape
    target_cols = 1
    for d in y_true_shape[1:]:
        target_cols *= d
    return LossCallback(loss, y_true_shape, y_pred_shape, dtype), target_cols
