"""Primitives computed by the native engine: fastdense's activations and losses.

Inside traced code ``fastdense.activations.*`` and ``fastdense.losses.*`` run these, so the
forward numbers are exactly the native ones and the vjp is the engine's own derivative
(``_core.activation_backward``, the gradient output of ``_core.loss_evaluate``).
"""

import numpy as np

from fastdense import _core
from fastdense.autodiff.gradients import _register


def _float_array(x):
    """Float64 stays float64, every other dtype is computed in float32 (as fastdense.activations does)."""
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    return np.ascontiguousarray(x, dtype=dtype)


def _as_rows(a, axes):
    """a as a C-contiguous 2-D array whose rows are normalized by the activation.

    axes=None: elementwise, one flat row. Otherwise ``axes`` move last and become the row.
    """
    if axes is None:
        return a.reshape(1, a.size)
    last = tuple(range(a.ndim - len(axes), a.ndim))
    moved = np.moveaxis(a, axes, last)
    width = int(np.prod(moved.shape[a.ndim - len(axes):]))
    return np.ascontiguousarray(moved).reshape(moved.size // width if width else 0, width)


def _from_rows(rows, shape, axes):
    """Inverse of _as_rows for an array of the given (original) shape."""
    if axes is None:
        return rows.reshape(shape)
    last = tuple(range(len(shape) - len(axes), len(shape)))
    moved_shape = tuple(n for i, n in enumerate(shape) if i not in axes) + tuple(shape[i] for i in axes)
    return np.ascontiguousarray(np.moveaxis(rows.reshape(moved_shape), last, axes))


def _activation_forward(x, config, axes=None):
    if axes is not None and not axes:
        raise ValueError(f"{config['name']} needs at least one axis; got an array of shape {x.shape}")
    z = _float_array(x)
    return _from_rows(_core.activation_forward(config, _as_rows(z, axes)), z.shape, axes)


def _activation_vjp(g, ans, needs, x, config, axes=None):
    z = _float_array(x)
    dz = _core.activation_backward(config, _as_rows(z, axes), _as_rows(ans, axes),
                                   _as_rows(np.ascontiguousarray(g, dtype=z.dtype), axes))
    return (_from_rows(dz, z.shape, axes),)


# activation(x, config=..., axes=None): elementwise, or normalized along the axes tuple (softmax).
activation = _register("activation", _activation_forward, _activation_vjp)


def _loss_forward(y_true, y_pred, config):
    y_pred = np.ascontiguousarray(y_pred)
    y_true = np.ascontiguousarray(y_true, dtype=y_pred.dtype)
    _, per_sample, _ = _core.loss_evaluate(config, y_true, y_pred, with_grad=False)
    return per_sample


def _loss_vjp(g, ans, needs, y_true, y_pred, config):
    if needs[0]:
        raise NotImplementedError(
            f"losses.{config['name']}: the gradient with respect to y_true is not available (the native loss "
            "differentiates y_pred only); if y_true is a target, pass it as a constant (ops.stop_gradient)")
    y_pred = np.ascontiguousarray(y_pred)
    rows = y_pred.shape[0]
    if rows == 0:
        return None, np.zeros_like(y_pred)
    # loss_evaluate's gradient is grad_scale * w_i / rows * dl_i/dy_pred: weights g and scale rows
    # turn it into the vector-Jacobian product of the per-sample losses.
    _, _, grad = _core.loss_evaluate(config, np.ascontiguousarray(y_true, dtype=y_pred.dtype), y_pred,
                                     sample_weight=np.ascontiguousarray(g, dtype=y_pred.dtype),
                                     grad_scale=float(rows), with_grad=True)
    return None, grad


# loss(y_true, y_pred, config=...): the per-sample losses of 2-D (rows, cols) arrays.
loss = _register("loss", _loss_forward, _loss_vjp)
