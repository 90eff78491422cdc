"""The primitive operations and their vector-Jacobian products (the op table).

Every differentiable operation is a :class:`~fastdense.autodiff.base.Primitive` in
:data:`PRIMITIVES`; ``fastdense.autodiff.dispatch`` maps NumPy ufuncs and functions onto them and
builds the composite ones (var, norm, moveaxis, stack, ...) out of them. A vjp gets the output
gradient ``g``, the output ``ans``, ``needs`` (which arguments are traced) and the forward's
arguments, and returns one gradient per positional argument; gradients may keep a broadcast
shape, the tape sums them down. A vjp never writes into ``g``.

Where a function has no derivative TensorFlow's choice is followed (keras.ops runs on tf):
``abs'(0) = 0``; ``maximum(x, y)`` sends the gradient to x when x >= y (``minimum`` when x <= y);
``clip`` passes it when lo <= x <= hi; ``max``/``min`` reductions share it equally among ties;
``d(x**y)/dy`` is 0 where x <= 0; ``sqrt'(0) = inf``.
"""

import numpy as np

from fastdense.autodiff.base import Primitive, unbroadcast

PRIMITIVES = {}


def _register(name, forward, vjp):
    if name in PRIMITIVES:
        raise ValueError(f"primitive {name!r} is registered twice")
    primitive = Primitive(name, forward, vjp)
    PRIMITIVES[name] = primitive
    return primitive


def unary(name, forward):
    """Registers a one-argument primitive from its rule ``dx = rule(g, ans, x, **kwargs)``."""
    def register(rule):
        return _register(name, forward, lambda g, ans, needs, x, **kwargs: (rule(g, ans, x, **kwargs),))
    return register


def binary(name, forward):
    """Registers a two-argument primitive from ``rule(g, ans, needs, x, y) -> (dx, dy)``."""
    def register(rule):
        return _register(name, forward, rule)
    return register


# --------------------------------------------------------------------------------- elementwise

@unary("negative", np.negative)
def negative(g, ans, x):
    return -g


@unary("positive", np.positive)
def positive(g, ans, x):
    return g


@unary("absolute", np.absolute)
def absolute(g, ans, x):
    return g * np.sign(x)  # sign(0) = 0: TF's abs'(0)


@unary("exp", np.exp)
def exp(g, ans, x):
    return g * ans


@unary("exp2", np.exp2)
def exp2(g, ans, x):
    return g * ans * np.log(2.0)


@unary("expm1", np.expm1)
def expm1(g, ans, x):
    return g * (ans + 1.0)


@unary("log", np.log)
def log(g, ans, x):
    return g / x


@unary("log2", np.log2)
def log2(g, ans, x):
    return g / (x * np.log(2.0))


@unary("log10", np.log10)
def log10(g, ans, x):
    return g / (x * np.log(10.0))


@unary("log1p", np.log1p)
def log1p(g, ans, x):
    return g / (x + 1.0)


@unary("sqrt", np.sqrt)
def sqrt(g, ans, x):
    return g * 0.5 / ans


@unary("cbrt", np.cbrt)
def cbrt(g, ans, x):
    return g / (3.0 * ans * ans)


@unary("square", np.square)
def square(g, ans, x):
    return g * (2.0 * x)


@unary("reciprocal", np.reciprocal)
def reciprocal(g, ans, x):
    return -g * (ans * ans)


@unary("sin", np.sin)
def sin(g, ans, x):
    return g * np.cos(x)


@unary("cos", np.cos)
def cos(g, ans, x):
    return -g * np.sin(x)


@unary("tan", np.tan)
def tan(g, ans, x):
    return g * (1.0 + ans * ans)


@unary("arcsin", np.arcsin)
def arcsin(g, ans, x):
    return g / np.sqrt(1.0 - x * x)


@unary("arccos", np.arccos)
def arccos(g, ans, x):
    return -g / np.sqrt(1.0 - x * x)


@unary("arctan", np.arctan)
def arctan(g, ans, x):
    return g / (1.0 + x * x)


@unary("sinh", np.sinh)
def sinh(g, ans, x):
    return g * np.cosh(x)


@unary("cosh", np.cosh)
def cosh(g, ans, x):
    return g * np.sinh(x)


@unary("tanh", np.tanh)
def tanh(g, ans, x):
    derivative = np.square(ans)
    if not isinstance(derivative, np.ndarray):
        return g * (1.0 - derivative)
    np.subtract(1.0, derivative, out=derivative)  # 1 - tanh², reusing the buffer just allocated
    derivative *= g
    return derivative


@unary("arcsinh", np.arcsinh)
def arcsinh(g, ans, x):
    return g / np.sqrt(x * x + 1.0)


@unary("arccosh", np.arccosh)
def arccosh(g, ans, x):
    return g / np.sqrt(x * x - 1.0)


@unary("arctanh", np.arctanh)
def arctanh(g, ans, x):
    return g / (1.0 - x * x)


@binary("add", np.add)
def add(g, ans, needs, x, y):
    return g, g


@binary("subtract", np.subtract)
def subtract(g, ans, needs, x, y):
    return g, (-g if needs[1] else None)


@binary("multiply", np.multiply)
def multiply(g, ans, needs, x, y):
    return (g * y if needs[0] else None), (g * x if needs[1] else None)


@binary("divide", np.true_divide)
def divide(g, ans, needs, x, y):
    gx = g / y
    return gx, (-gx * ans if needs[1] else None)  # d(x/y)/dy = -(x/y)/y


@binary("power", np.power)
def power(g, ans, needs, x, y):
    gx = gy = None
    if needs[0]:
        if np.ndim(y) == 0 and y == 2:
            gx = g * (2.0 * x)
        else:
            gx = g * (y * np.power(x, y - 1))
    if needs[1]:
        # TF: log(x) is taken as 0 where x <= 0, so the exponent gets no gradient there.
        positive_x = np.asarray(x) > 0
        log_x = np.where(positive_x, np.log(np.where(positive_x, x, 1.0)), 0.0)
        gy = g * ans * log_x
    return gx, gy


@binary("maximum", np.maximum)
def maximum(g, ans, needs, x, y):
    to_x = np.asarray(x >= y)  # ties go to x, as in TF
    return (g * to_x if needs[0] else None), (g * ~to_x if needs[1] else None)


@binary("minimum", np.minimum)
def minimum(g, ans, needs, x, y):
    to_x = np.asarray(x <= y)
    return (g * to_x if needs[0] else None), (g * ~to_x if needs[1] else None)


@binary("arctan2", np.arctan2)
def arctan2(g, ans, needs, y, x):
    scale = g / (x * x + y * y)
    return (scale * x if needs[0] else None), (-scale * y if needs[1] else None)


@binary("hypot", np.hypot)
def hypot(g, ans, needs, x, y):
    # x / hypot(x, y), taken as 0 at the origin (keras.ops.hypot's gradient there).
    scale = g / np.where(ans == 0, 1.0, ans)
    return (scale * x if needs[0] else None), (scale * y if needs[1] else None)


@binary("logaddexp", np.logaddexp)
def logaddexp(g, ans, needs, x, y):
    return (g * np.exp(x - ans) if needs[0] else None), (g * np.exp(y - ans) if needs[1] else None)


def _where_forward(x, y, condition):
    return np.where(condition, x, y)


@binary("where", _where_forward)
def where(g, ans, needs, x, y, condition):
    return (np.where(condition, g, 0.0) if needs[0] else None), (np.where(condition, 0.0, g) if needs[1] else None)


def _clip_forward(x, low, high):
    return np.clip(x, low, high)


def _clip_vjp(g, ans, needs, x, low, high):
    below = np.asarray(x < low) if low is not None else np.zeros(np.shape(x), dtype=bool)
    above = np.asarray(x > high) if high is not None else np.zeros(np.shape(x), dtype=bool)
    # TF's clip_by_value: the gradient passes where lo <= x <= hi, a bound gets it where it is active.
    gx = np.where(below | above, 0.0, g) if needs[0] else None
    glow = np.where(below, g, 0.0) if needs[1] else None
    ghigh = np.where(above, g, 0.0) if needs[2] else None
    return gx, glow, ghigh


clip = _register("clip", _clip_forward, _clip_vjp)


def _cast_forward(x, dtype):
    return x.astype(dtype)


cast = _register("cast", _cast_forward, lambda g, ans, needs, x, dtype: (g,))  # the tape casts g back

copy = _register("copy", lambda x: np.array(x, order="C"), lambda g, ans, needs, x: (g,))


# ---------------------------------------------------------------------------------- reductions

def normalize_axes(axis, ndim):
    """A sorted tuple of non-negative axes (None means all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    normalized = []
    for ax in axes:
        ax = int(ax)
        if not -ndim <= ax < max(ndim, 1):
            raise np.exceptions.AxisError(ax, ndim)
        normalized.append(ax % ndim if ndim else 0)
    return tuple(sorted(normalized))


def _restore_reduced(g, x_ndim, axes, keepdims):
    """g of a reduction, with size-1 axes put back where they were reduced."""
    if keepdims or not axes or x_ndim == 0:
        return g
    shape = list(np.shape(g))
    for ax in axes:
        shape.insert(ax, 1)
    return np.reshape(g, shape)


def _reduced_count(x, axes):
    return int(np.prod([np.shape(x)[ax] for ax in axes])) if axes else 1


def _sum_vjp(g, ans, needs, x, axis=None, keepdims=False):
    axes = normalize_axes(axis, np.ndim(x))
    return (np.broadcast_to(_restore_reduced(g, np.ndim(x), axes, keepdims), np.shape(x)),)


def _mean_vjp(g, ans, needs, x, axis=None, keepdims=False):
    axes = normalize_axes(axis, np.ndim(x))
    g = _restore_reduced(g, np.ndim(x), axes, keepdims) / _reduced_count(x, axes)
    return (np.broadcast_to(g, np.shape(x)),)


def _extremum_vjp(g, ans, needs, x, axis=None, keepdims=False):
    axes = normalize_axes(axis, np.ndim(x))
    ans = _restore_reduced(ans, np.ndim(x), axes, keepdims)
    g = _restore_reduced(g, np.ndim(x), axes, keepdims)
    selected = x == ans
    ties = np.sum(selected, axis=axes, keepdims=True)
    return (g * selected / ties,)  # the maxima share the gradient equally (tf.reduce_max)


def _prod_vjp(g, ans, needs, x, axis=None, keepdims=False):
    axes = normalize_axes(axis, np.ndim(x))
    g = _restore_reduced(g, np.ndim(x), axes, keepdims)
    return (g * _product_of_others(x, axes),)


def _product_of_others(x, axes):
    """For each element, the product of the other elements of its reduction group (exact with zeros).

    The reduced axes are moved last and flattened; exclusive cumulative products from the left
    and from the right multiply to "everything but me".
    """
    x = np.asarray(x)
    last = tuple(range(x.ndim - len(axes), x.ndim))
    moved = np.moveaxis(x, axes, last)
    group = moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,))
    left = np.ones_like(group)
    right = np.ones_like(group)
    left[..., 1:] = np.cumprod(group[..., :-1], axis=-1)
    right[..., :-1] = np.cumprod(group[..., :0:-1], axis=-1)[..., ::-1]
    return np.moveaxis((left * right).reshape(moved.shape), last, axes)


def _reduction(name, numpy_function, vjp):
    def forward(x, axis=None, keepdims=False):
        return numpy_function(x, axis=axis, keepdims=keepdims)
    return _register(name, forward, vjp)


sum_ = _reduction("sum", np.sum, _sum_vjp)
mean = _reduction("mean", np.mean, _mean_vjp)
max_ = _reduction("max", np.max, _extremum_vjp)
min_ = _reduction("min", np.min, _extremum_vjp)
prod = _reduction("prod", np.prod, _prod_vjp)


def _logsumexp_forward(x, axis=None, keepdims=False):
    x = np.asarray(x)
    shift = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0.0)  # all -inf rows stay -inf, not nan
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=normalize_axes(axis, x.ndim))


def _logsumexp_vjp(g, ans, needs, x, axis=None, keepdims=False):
    axes = normalize_axes(axis, np.ndim(x))
    ans = _restore_reduced(ans, np.ndim(x), axes, keepdims)
    return (_restore_reduced(g, np.ndim(x), axes, keepdims) * np.exp(x - ans),)  # g * softmax(x)


logsumexp = _register("logsumexp", _logsumexp_forward, _logsumexp_vjp)


def _cumsum_forward(x, axis=None):
    return np.cumsum(x, axis=axis)


def _cumsum_vjp(g, ans, needs, x, axis=None):
    # Each input contributes to every later partial sum: the gradient is a reversed cumsum.
    if axis is None:
        return (np.cumsum(g[::-1])[::-1].reshape(np.shape(x)),)
    return (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),)


cumsum = _register("cumsum", _cumsum_forward, _cumsum_vjp)


# ------------------------------------------------------------------------------ shape and order

def _reshape_forward(x, shape):
    return np.reshape(x, shape)


reshape = _register("reshape", _reshape_forward, lambda g, ans, needs, x, shape: (np.reshape(g, np.shape(x)),))


def _transpose_forward(x, axes=None):
    return np.transpose(x, axes)


def _transpose_vjp(g, ans, needs, x, axes=None):
    return (np.transpose(g, None if axes is None else np.argsort(axes)),)


transpose = _register("transpose", _transpose_forward, _transpose_vjp)


def _broadcast_to_forward(x, shape):
    return np.broadcast_to(x, shape)


broadcast_to = _register("broadcast_to", _broadcast_to_forward,
                         lambda g, ans, needs, x, shape: (unbroadcast(g, np.shape(x)),))


def _concatenate_forward(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def _concatenate_vjp(g, ans, needs, *xs, axis=0):
    axis = axis % g.ndim
    bounds = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
    return tuple(part if need else None for part, need in zip(np.split(g, bounds, axis=axis), needs))


concatenate = _register("concatenate", _concatenate_forward, _concatenate_vjp)


def is_basic_index(index):
    """True for an index without integer arrays (each element is selected at most once)."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer)):
            continue
        if np.asarray(part).dtype == bool:
            continue
        return False
    return True


def _getitem_forward(x, index):
    return x[index]


def _getitem_vjp(g, ans, needs, x, index):
    dx = np.zeros(np.shape(x), dtype=g.dtype)
    if is_basic_index(index):
        dx[index] = g
    else:
        np.add.at(dx, index, g)  # repeated indices each add their share
    return (dx,)


getitem = _register("getitem", _getitem_forward, _getitem_vjp)


def _setitem_forward(x, v, index):
    out = np.array(x, copy=True)
    out[index] = v
    return out


def _setitem_vjp(g, ans, needs, x, v, index):
    gx = None
    if needs[0]:
        gx = np.array(g, copy=True)
        gx[index] = 0  # overwritten elements no longer depend on x
    gv = np.asarray(g[index]) if needs[1] else None
    return gx, gv


setitem = _register("setitem", _setitem_forward, _setitem_vjp)


# -------------------------------------------------------------------------------- linear algebra

def _matmul_vjp(g, ans, needs, a, b):
    # A 1-D operand is a row (a) or a column (b) whose axis matmul dropped: put it back in g.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if b.ndim == 1:
        g = np.expand_dims(g, -1)
    if a.ndim == 1:
        g = np.expand_dims(g, -2)
    da = db = None
    if needs[0]:
        da = np.matmul(g, np.swapaxes(b2, -1, -2))
        da = da[..., 0, :] if a.ndim == 1 else da
    if needs[1]:
        db = np.matmul(np.swapaxes(a2, -1, -2), g)
        db = db[..., 0] if b.ndim == 1 else db
    return da, db


matmul = _register("matmul", np.matmul, _matmul_vjp)


def tensordot_axes(a_ndim, b_ndim, axes):
    """(axes of a, axes of b) contracted by np.tensordot(a, b, axes), as lists of non-negative ints."""
    if np.ndim(axes) == 0:
        n = int(axes)
        return list(range(a_ndim - n, a_ndim)), list(range(n))
    axes_a, axes_b = axes
    axes_a = [axes_a] if np.ndim(axes_a) == 0 else list(axes_a)
    axes_b = [axes_b] if np.ndim(axes_b) == 0 else list(axes_b)
    return [int(ax) % a_ndim for ax in axes_a], [int(ax) % b_ndim for ax in axes_b]


def _tensordot_forward(a, b, axes=2):
    return np.tensordot(a, b, axes)


def _tensordot_vjp(g, ans, needs, a, b, axes=2):
    axes_a, axes_b = tensordot_axes(a.ndim, b.ndim, axes)
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    g_b_axes = list(range(len(free_a), len(free_a) + len(free_b)))  # where b's free axes sit in g
    da = db = None
    if needs[0]:
        # Contract g with b over b's free axes; the result holds a's free axes, then b's contracted
        # axes in b's order, each standing for its partner axis of a.
        partial = np.tensordot(g, b, (g_b_axes, free_b))
        layout = free_a + [axes_a[axes_b.index(k)] for k in sorted(axes_b)]
        da = np.transpose(partial, np.argsort(layout))
    if needs[1]:
        partial = np.tensordot(a, g, (free_a, list(range(len(free_a)))))
        layout = [axes_b[axes_a.index(k)] for k in sorted(axes_a)] + free_b
        db = np.transpose(partial, np.argsort(layout))
    return da, db


tensordot = _register("tensordot", _tensordot_forward, _tensordot_vjp)


def parse_einsum(subscripts, n_operands):
    """(input subscripts, output subscript) of an einsum without ellipsis or repeated indices."""
    subscripts = subscripts.replace(" ", "")
    if "." in subscripts:
        raise NotImplementedError("einsum: '...' is not supported on traced arrays; spell out the axes")
    inputs, arrow, output = subscripts.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != n_operands:
        raise ValueError(f"einsum: {subscripts!r} names {len(inputs)} operand(s), got {n_operands}")
    for sub in inputs:
        if len(set(sub)) != len(sub):
            raise NotImplementedError(f"einsum: a repeated index within one operand ({sub!r}, a diagonal) is not "
                                      "supported on traced arrays")
    if not arrow:
        letters = "".join(inputs)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return inputs, output


def _einsum_forward(*operands, subscripts):
    return np.einsum(subscripts, *operands)


def _einsum_vjp(g, ans, needs, *operands, subscripts):
    inputs, output = parse_einsum(subscripts, len(operands))
    grads = []
    for i, (sub, operand) in enumerate(zip(inputs, operands)):
        if not needs[i]:
            grads.append(None)
            continue
        others = [s for j, s in enumerate(inputs) if j != i]
        available = output + "".join(others)
        # Indices summed away inside this operand alone do not reach the output: its gradient is
        # constant along them, so compute without them and broadcast.
        kept = "".join(c for c in sub if c in available)
        spec = ",".join([output] + others) + "->" + kept
        partial = np.einsum(spec, g, *[o for j, o in enumerate(operands) if j != i])
        shape = [np.shape(operand)[k] if c in kept else 1 for k, c in enumerate(sub)]
        grads.append(np.broadcast_to(partial.reshape(shape), np.shape(operand)))
    return tuple(grads)


einsum = _register("einsum", _einsum_forward, _einsum_vjp)
