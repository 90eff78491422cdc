"""Array operations with Keras 3's ``keras.ops`` names, for custom layers, activations and losses.

Each function takes NumPy arrays (or Python numbers and lists), layer variables, or traced
arrays. On plain inputs it returns a plain NumPy array (a 0-d array for full reductions); on
traced inputs (inside ``fastdense.autodiff``) the result is traced and differentiable. The
arithmetic is NumPy's, dispatched through its protocols, so ``ops.tanh(x)`` and ``np.tanh(x)``
are the same operation; the neural-network functions (relu, sigmoid, softmax, ...) are
``fastdense.activations`` running on the native engine.

Dtypes follow Keras: Python floats and lists of them are float32 (``backend.floatx()``),
functions with real-valued results (exp, sqrt, mean, divide, ...) turn integer inputs into
float32, float64 arrays stay float64, and Python scalars next to an array take its dtype.
"""

import numpy as np

from fastdense import activations, autodiff, backend
from fastdense.autodiff import dispatch
from fastdense.autodiff.gradients import logsumexp as _logsumexp
from fastdense.autodiff.tensor import TracedArray, TraceableVariable

__all__ = [
    # arithmetic
    "add", "subtract", "multiply", "divide", "true_divide", "power", "negative", "abs", "absolute", "sign",
    "square", "sqrt", "cbrt", "reciprocal", "exp", "exp2", "expm1", "log", "log1p", "log2", "log10",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh",
    "arccosh", "arctanh", "hypot", "logaddexp", "maximum", "minimum", "clip", "where", "floor", "ceil", "round",
    # linear algebra
    "matmul", "dot", "tensordot", "einsum", "outer", "inner", "norm",
    # reductions
    "sum", "mean", "max", "min", "prod", "var", "std", "average", "cumsum", "logsumexp", "argmax", "argmin",
    # shapes
    "reshape", "ravel", "transpose", "moveaxis", "swapaxes", "expand_dims", "squeeze", "broadcast_to",
    "concatenate", "stack", "hstack", "vstack", "split", "flip", "tile", "repeat", "take", "take_along_axis",
    "sort", "diff",
    # neural network
    "relu", "relu6", "sigmoid", "softplus", "softsign", "silu", "swish", "gelu", "elu", "selu", "leaky_relu",
    "hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid", "softmax", "log_softmax", "one_hot",
    # comparisons and logic (no gradient)
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or",
    "logical_not", "isnan", "isfinite",
    # creation and conversion
    "convert_to_tensor", "convert_to_numpy", "cast", "copy", "stop_gradient", "shape", "zeros", "ones",
    "full", "zeros_like", "ones_like", "full_like",
]

_ARRAYS = (np.ndarray, np.generic, TracedArray, TraceableVariable)


def convert_to_tensor(x, dtype=None):
    """x as an array: traced values (and watched variables) stay traced, others become ndarrays.

    Python floats and float lists become float32 (floatx), Python ints int32, as in Keras.
    """
    if isinstance(x, (TracedArray, TraceableVariable)):
        x = autodiff.asarray(x)
    elif not isinstance(x, (np.ndarray, np.generic)):
        x = np.asarray(x)
        if dtype is None and x.dtype == np.float64:
            x = x.astype(backend.floatx())
        elif dtype is None and x.dtype == np.int64:
            x = x.astype(np.int32)
    else:
        x = np.asarray(x)
    return x if dtype is None else cast(x, dtype)


def convert_to_numpy(x):
    """The NumPy value of x (a traced value's value: no gradient flows through the result)."""
    return np.asarray(autodiff.stop_gradient(x))


def _operand(x):
    """An array argument: arrays as they are, Python numbers and lists converted (Keras dtypes)."""
    return x if isinstance(x, _ARRAYS) else convert_to_tensor(x)


def _pair(x1, x2):
    """Two operands; a Python scalar next to an array stays a weakly typed scalar (takes its dtype)."""
    if isinstance(x1, (int, float)) and isinstance(x2, _ARRAYS):
        return x1, x2
    if isinstance(x2, (int, float)) and isinstance(x1, _ARRAYS):
        return x1, x2
    return _operand(x1), _operand(x2)


def _real(x):
    """An operand for a function with real results: integer and boolean arrays become floatx."""
    x = _operand(x)
    if np.dtype(getattr(x, "dtype", np.float64)).kind in "biu":
        x = dispatch.value_of(x).astype(backend.floatx())
    return x


def _result(r):
    """NumPy scalars become 0-d arrays, so plain calls always return ndarrays."""
    return np.asarray(r) if isinstance(r, np.generic) else r


def _unary(numpy_function, real=True):
    def op(x):
        return _result(numpy_function(_real(x) if real else _operand(x)))
    op.__name__ = numpy_function.__name__
    op.__doc__ = f"Elementwise ``np.{numpy_function.__name__}``."
    return op


def _binary(numpy_function, real=False):
    def op(x1, x2):
        x1, x2 = _pair(x1, x2)
        if real:
            x1, x2 = (_real(x) if isinstance(x, _ARRAYS) else x for x in (x1, x2))
        return _result(numpy_function(x1, x2))
    op.__name__ = numpy_function.__name__
    op.__doc__ = f"Elementwise ``np.{numpy_function.__name__}`` with broadcasting."
    return op


# ------------------------------------------------------------------------------------- arithmetic

add = _binary(np.add)
subtract = _binary(np.subtract)
multiply = _binary(np.multiply)
divide = _binary(np.divide, real=True)
true_divide = divide
power = _binary(np.power)
maximum = _binary(np.maximum)
minimum = _binary(np.minimum)
arctan2 = _binary(np.arctan2, real=True)
hypot = _binary(np.hypot, real=True)
logaddexp = _binary(np.logaddexp, real=True)

negative = _unary(np.negative, real=False)
absolute = _unary(np.absolute, real=False)
abs = absolute
sign = _unary(np.sign, real=False)
square = _unary(np.square, real=False)
floor = _unary(np.floor)
ceil = _unary(np.ceil)
sqrt = _unary(np.sqrt)
cbrt = _unary(np.cbrt)
reciprocal = _unary(np.reciprocal)
exp = _unary(np.exp)
exp2 = _unary(np.exp2)
expm1 = _unary(np.expm1)
log = _unary(np.log)
log1p = _unary(np.log1p)
log2 = _unary(np.log2)
log10 = _unary(np.log10)
sin = _unary(np.sin)
cos = _unary(np.cos)
tan = _unary(np.tan)
arcsin = _unary(np.arcsin)
arccos = _unary(np.arccos)
arctan = _unary(np.arctan)
sinh = _unary(np.sinh)
cosh = _unary(np.cosh)
tanh = _unary(np.tanh)
arcsinh = _unary(np.arcsinh)
arccosh = _unary(np.arccosh)
arctanh = _unary(np.arctanh)


def round(x, decimals=0):
    """Rounds half to even, like np.round (no gradient: the result is piecewise constant)."""
    return _result(np.round(_operand(x), decimals))


def clip(x, x_min, x_max):
    """x limited to [x_min, x_max]; the gradient passes on the bounds (tf.clip_by_value)."""
    return _result(np.clip(_operand(x), x_min, x_max))


def where(condition, x1=None, x2=None):
    """x1 where condition holds, else x2; with only a condition, the indices where it holds."""
    if x1 is None and x2 is None:
        return np.nonzero(np.asarray(autodiff.stop_gradient(condition)))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    x1, x2 = _pair(x1, x2)
    return _result(np.where(autodiff.stop_gradient(condition), x1, x2))


# --------------------------------------------------------------------------------- linear algebra

def matmul(x1, x2):
    """Matrix product with NumPy's broadcasting and 1-D rules."""
    return _result(np.matmul(_operand(x1), _operand(x2)))


def dot(x1, x2):
    """np.dot: matmul for 1-D/2-D operands, a product with scalars, tensordot beyond."""
    return _result(np.dot(_operand(x1), _operand(x2)))


def tensordot(x1, x2, axes=2):
    return _result(np.tensordot(_operand(x1), _operand(x2), axes))


def einsum(subscripts, *operands):
    """np.einsum with a subscripts string (no '...' or repeated index in one operand when traced)."""
    return _result(np.einsum(subscripts, *[_operand(x) for x in operands]))


def outer(x1, x2):
    return _result(np.outer(_operand(x1), _operand(x2)))


def inner(x1, x2):
    return _result(np.inner(_operand(x1), _operand(x2)))


def norm(x, ord=None, axis=None, keepdims=False):
    """np.linalg.norm's vector and matrix norms; the SVD-based matrix norms (ord=2, -2, 'nuc') work on
    plain arrays only (they are not differentiable here)."""
    return _result(np.linalg.norm(_real(x), ord=ord, axis=axis, keepdims=keepdims))


# ------------------------------------------------------------------------------------- reductions

def sum(x, axis=None, keepdims=False):
    return _result(np.sum(_operand(x), axis=axis, keepdims=keepdims))


def mean(x, axis=None, keepdims=False):
    return _result(np.mean(_real(x), axis=axis, keepdims=keepdims))


def max(x, axis=None, keepdims=False, initial=None):
    """The maximum; ties share the gradient equally (tf.reduce_max)."""
    return _result(np.max(_operand(x), axis=axis, keepdims=keepdims, initial=initial))


def min(x, axis=None, keepdims=False, initial=None):
    """The minimum; ties share the gradient equally (tf.reduce_min)."""
    return _result(np.min(_operand(x), axis=axis, keepdims=keepdims, initial=initial))


def prod(x, axis=None, keepdims=False, dtype=None):
    return _result(np.prod(_operand(x), axis=axis, keepdims=keepdims, dtype=dtype))


def var(x, axis=None, keepdims=False):
    return _result(np.var(_real(x), axis=axis, keepdims=keepdims))


def std(x, axis=None, keepdims=False):
    return _result(np.std(_real(x), axis=axis, keepdims=keepdims))


def average(x, axis=None, weights=None):
    return _result(np.average(_real(x), axis=axis, weights=None if weights is None else _operand(weights)))


def cumsum(x, axis=None, dtype=None):
    return _result(np.cumsum(_operand(x), axis=axis, dtype=dtype))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) along axis, computed with the maximum shifted out."""
    return _result(_logsumexp(_real(x), axis=axis, keepdims=keepdims))


def argmax(x, axis=None, keepdims=False):
    return _result(np.argmax(autodiff.stop_gradient(_operand(x)), axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    return _result(np.argmin(autodiff.stop_gradient(_operand(x)), axis=axis, keepdims=keepdims))


# ----------------------------------------------------------------------------------------- shapes

def reshape(x, newshape):
    return np.reshape(_operand(x), newshape)


def ravel(x):
    return np.ravel(_operand(x))


def transpose(x, axes=None):
    return np.transpose(_operand(x), axes)


def moveaxis(x, source, destination):
    return np.moveaxis(_operand(x), source, destination)


def swapaxes(x, axis1, axis2):
    return np.swapaxes(_operand(x), axis1, axis2)


def expand_dims(x, axis):
    return np.expand_dims(_operand(x), axis)


def squeeze(x, axis=None):
    return np.squeeze(_operand(x), axis)


def broadcast_to(x, shape):
    return np.broadcast_to(_operand(x), shape)


def concatenate(xs, axis=0):
    return np.concatenate([_operand(x) for x in xs], axis=axis)


def stack(x, axis=0):
    return np.stack([_operand(t) for t in x], axis=axis)


def hstack(xs):
    return np.hstack([_operand(x) for x in xs])


def vstack(xs):
    return np.vstack([_operand(x) for x in xs])


def split(x, indices_or_sections, axis=0):
    return list(np.split(_operand(x), indices_or_sections, axis=axis))


def flip(x, axis=None):
    return np.flip(_operand(x), axis)


def tile(x, repeats):
    return np.tile(_operand(x), repeats)


def repeat(x, repeats, axis=None):
    return np.repeat(_operand(x), repeats, axis)


def take(x, indices, axis=None):
    return _result(np.take(_operand(x), np.asarray(autodiff.stop_gradient(indices)), axis=axis))


def take_along_axis(x, indices, axis=None):
    return np.take_along_axis(_operand(x), np.asarray(autodiff.stop_gradient(indices)), axis=axis)


def sort(x, axis=-1):
    return np.sort(_operand(x), axis=axis)


def diff(a, n=1, axis=-1):
    return np.diff(_operand(a), n=n, axis=axis)


# --------------------------------------------------------------------------------- neural network
# The activations run natively (forward and derivative) on plain and traced inputs alike.

def relu(x):
    return activations.relu(_operand(x))


def relu6(x):
    return activations.relu6(_operand(x))


def sigmoid(x):
    return activations.sigmoid(_operand(x))


def softplus(x):
    return activations.softplus(_operand(x))


def softsign(x):
    return activations.softsign(_operand(x))


def silu(x):
    return activations.silu(_operand(x))


swish = silu


def gelu(x, approximate=True):
    """GELU; note keras.ops.gelu defaults to the tanh approximation (the activation does not)."""
    return activations.gelu(_operand(x), approximate=approximate)


def elu(x, alpha=1.0):
    return activations.elu(_operand(x), alpha=alpha)


def selu(x):
    return activations.selu(_operand(x))


def leaky_relu(x, negative_slope=0.2):
    return activations.leaky_relu(_operand(x), negative_slope=negative_slope)


def hard_sigmoid(x):
    return activations.hard_sigmoid(_operand(x))


def hard_silu(x):
    return activations.hard_silu(_operand(x))


hard_swish = hard_silu


def log_sigmoid(x):
    return activations.log_sigmoid(_operand(x))


def softmax(x, axis=-1):
    return activations.softmax(_operand(x), axis=axis)


def log_softmax(x, axis=-1):
    return activations.log_softmax(_operand(x), axis=axis)


def one_hot(x, num_classes, axis=-1, dtype=None):
    """Class indices as one-hot vectors along axis (out-of-range indices give all zeros)."""
    x = np.asarray(autodiff.stop_gradient(x))
    hot = (x[..., None] == np.arange(num_classes)).astype(dtype or backend.floatx())
    return np.moveaxis(hot, -1, axis)


# ------------------------------------------------------------------------- comparisons and logic

equal = _binary(np.equal)
not_equal = _binary(np.not_equal)
greater = _binary(np.greater)
greater_equal = _binary(np.greater_equal)
less = _binary(np.less)
less_equal = _binary(np.less_equal)
logical_and = _binary(np.logical_and)
logical_or = _binary(np.logical_or)
logical_not = _unary(np.logical_not, real=False)
isnan = _unary(np.isnan, real=False)
isfinite = _unary(np.isfinite, real=False)


# -------------------------------------------------------------------------- creation and conversion

def cast(x, dtype):
    """x converted to dtype; a float-to-float cast keeps the gradient (cast back), others drop it."""
    x = autodiff.asarray(x) if isinstance(x, TraceableVariable) else _operand(x)
    if isinstance(x, TracedArray):
        return dispatch.astype(x, dtype)
    return np.asarray(x).astype(dtype)


def copy(x):
    return np.copy(_operand(x))


def stop_gradient(variable):
    """The value of x as a constant: no gradient flows through it (tf.stop_gradient)."""
    return autodiff.stop_gradient(variable)


def shape(x):
    """The shape as a tuple of ints."""
    return tuple(np.shape(autodiff.stop_gradient(x)))


def zeros(shape, dtype=None):
    return np.zeros(shape, dtype=dtype or backend.floatx())


def ones(shape, dtype=None):
    return np.ones(shape, dtype=dtype or backend.floatx())


def full(shape, fill_value, dtype=None):
    return np.full(shape, fill_value, dtype=dtype or backend.floatx())


def zeros_like(x, dtype=None):
    return np.zeros_like(autodiff.stop_gradient(x), dtype=dtype)


def ones_like(x, dtype=None):
    return np.ones_like(autodiff.stop_gradient(x), dtype=dtype)


def full_like(x, fill_value, dtype=None):
    return np.full_like(autodiff.stop_gradient(x), fill_value, dtype=dtype)
