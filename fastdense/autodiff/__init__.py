"""Reverse-mode automatic differentiation of NumPy code, for custom layers, activations and losses.

Users write ordinary NumPy (``np.tanh(x)``, ``x @ self.kernel + self.bias``, ``np.mean(..., axis=-1)``)
or ``fastdense.ops`` and never a derivative. Inside a traced call the arrays are
:class:`TracedArray` objects: NumPy's dispatch protocols (``__array_ufunc__``,
``__array_function__``) route every operation to a primitive of the op table
(:data:`PRIMITIVES`, one vector-Jacobian product each) and the :class:`GradientTape` records it.
An operation without a gradient rule raises a TypeError naming it; it never becomes a silent
zero gradient. Plain NumPy arrays are never traced and pay nothing.

Layer weights (``fastdense.variables.Variable``) behave like arrays: outside a trace they compute
on their value, inside a recording tape a trainable variable becomes a traced leaf whose gradient
accumulates over all its uses. ``fastdense.activations.*`` and ``fastdense.losses.*`` are
differentiable too: on traced inputs they run the native forward and use the engine's own
derivative as their vjp.

Conventions at non-differentiable points follow TensorFlow (what keras.ops computes):
``abs'(0) = 0``, ``maximum``/``minimum`` give ties to the first argument, ``clip`` passes the
gradient on its bounds, ``max``/``min`` reductions split it evenly among ties, ``relu'(0) = 0``.
Piecewise-constant functions (``sign``, ``floor``, ``round``, comparisons) return plain arrays.

Integration contract (how a model runs a Python-defined piece inside training)
------------------------------------------------------------------------------
1. Forward, once per batch: ``outputs, pullback = autodiff.vjp(fn, *inputs, argnums=...,
   variables=...)``.

   * custom activation: ``vjp(act, z)``;
   * custom layer: ``vjp(layer.call, x, variables=layer.trainable_weights)``;
   * custom loss: ``vjp(loss_fn, y_true, y_pred, argnums=(1,))``, which gives the per-sample
     losses (differentiate y_pred only: fastdense's built-in losses have no y_true gradient);
   * custom regularizer: ``vjp(regularizer, variable)`` (a variable is accepted as an input).

   ``inputs`` are NumPy float arrays (float32 or float64, kept as they are); ``outputs`` are
   NumPy arrays, shaped and typed as fn returned them (one, or a tuple/list). Treat them as
   read-only until the backward pass is done, and do not update the variables in between:
   the pullback reads the recorded values and the variables' live arrays without copying them.
2. Backward, once per batch: ``grads = pullback(d_outputs)`` with dL/doutput (same shape as the
   output; a sequence for several outputs). ``grads.inputs`` is a tuple with dL/dinput for each
   differentiated input (``argnums`` order); ``grads.variables`` is a list with dL/dvariable,
   aligned with ``pullback.variables`` (the ``variables`` argument). Gradients are C-contiguous
   arrays of the input's or variable's dtype, zeros where there is no dependence; they do not
   alias ``d_outputs``.

Costs: the forward computes with NumPy on the raw values and keeps a reference to each
intermediate (no copies); a primitive's vjp computes only the gradients of its traced
arguments (a constant weight gets no dW); each node's gradient is freed once propagated and
repeated uses accumulate in place.

For custom training loops there is a tf.GradientTape-like context (``GradientTape``), and for
scalar functions ``value_and_grad`` / ``grad``.
"""

from fastdense.autodiff.base import Primitive, active_tape
from fastdense.autodiff.tensor import TracedArray, TraceableVariable
from fastdense.autodiff.tape import GradientTape
from fastdense.autodiff.gradients import PRIMITIVES
from fastdense.autodiff import dispatch, native
from fastdense.autodiff.api import Gradients, Pullback, asarray, grad, is_traced, stop_gradient, value_and_grad, vjp

__all__ = [
    "TracedArray", "TraceableVariable", "GradientTape", "Primitive", "PRIMITIVES", "Gradients", "Pullback",
    "vjp", "value_and_grad", "grad", "is_traced", "asarray", "stop_gradient", "active_tape",
    "supported_operations",
]


def supported_operations():
    """What traced code may call: {'primitives', 'ufuncs', 'functions', 'constant_ufuncs'} -> sorted names."""
    return {
        "primitives": sorted(PRIMITIVES),
        "ufuncs": sorted(u.__name__ for u in dispatch.UFUNC_PRIMITIVES),
        "constant_ufuncs": sorted(u.__name__ for u in dispatch.CONSTANT_UFUNCS),
        "functions": sorted({dispatch.qualified_name(f) for f in dispatch.HANDLED_FUNCTIONS}),
    }
