"""NumPy's dispatch protocols for traced arrays and variables.

``__array_ufunc__`` maps each ufunc to a primitive of the op table (:data:`UFUNC_PRIMITIVES`);
ufuncs whose result has no derivative (comparisons, ``sign``, ``floor``, ...) compute on the
values and return plain arrays. ``__array_function__`` maps NumPy functions to handlers
(:data:`HANDLED_FUNCTIONS`) with NumPy's signatures, most of them composites of primitives.
Anything else raises a TypeError naming the operation: an operation without a gradient rule
must never quietly turn into a zero gradient.

When no operand is traced (only variables outside a recording tape), everything computes on
plain values with NumPy itself.
"""

import numpy as np

from fastdense.autodiff import gradients as P
from fastdense.autodiff.base import TracedValue, Watchable, tape_of

# --------------------------------------------------------------------------------------- ufuncs

UFUNC_PRIMITIVES = {
    np.negative: P.negative, np.positive: P.positive, np.absolute: P.absolute, np.exp: P.exp,
    np.exp2: P.exp2, np.expm1: P.expm1, np.log: P.log, np.log2: P.log2, np.log10: P.log10,
    np.log1p: P.log1p, np.sqrt: P.sqrt, np.cbrt: P.cbrt, np.square: P.square, np.reciprocal: P.reciprocal,
    np.sin: P.sin, np.cos: P.cos, np.tan: P.tan, np.arcsin: P.arcsin, np.arccos: P.arccos,
    np.arctan: P.arctan, np.sinh: P.sinh, np.cosh: P.cosh, np.tanh: P.tanh, np.arcsinh: P.arcsinh,
    np.arccosh: P.arccosh, np.arctanh: P.arctanh, np.add: P.add, np.subtract: P.subtract,
    np.multiply: P.multiply, np.divide: P.divide, np.power: P.power, np.maximum: P.maximum,
    np.minimum: P.minimum, np.arctan2: P.arctan2, np.hypot: P.hypot, np.logaddexp: P.logaddexp,
    np.matmul: P.matmul,
}

# Results without a derivative: booleans, or piecewise constant functions (TF's gradient is 0/None).
CONSTANT_UFUNCS = frozenset([
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal, np.logical_and,
    np.logical_or, np.logical_xor, np.logical_not, np.isfinite, np.isinf, np.isnan, np.signbit,
    np.sign, np.floor, np.ceil, np.rint, np.trunc, np.floor_divide,
])

REDUCE_PRIMITIVES = {np.add: P.sum_, np.multiply: P.prod, np.maximum: P.max_, np.minimum: P.min_}


def value_of(x):
    """The plain value of a traced array or variable; anything else unchanged."""
    if isinstance(x, (TracedValue, Watchable)):
        return x.value
    return x


def plain(obj):
    """obj with every traced array or variable inside lists, tuples and dicts replaced by its value."""
    if isinstance(obj, (TracedValue, Watchable)):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(o) for o in obj)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    return obj


def _flatten(obj, into):
    if isinstance(obj, (TracedValue, Watchable)):
        into.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _flatten(o, into)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flatten(o, into)
    return into


def qualified_name(function):
    """'np.linalg.norm' for numpy.linalg.norm."""
    module = getattr(function, "__module__", None) or "numpy"
    module = "np" + module[len("numpy"):] if module.startswith("numpy") else module
    return f"{module}.{function.__name__}"


def unsupported(what):
    return TypeError(f"{what} is not supported on traced arrays: fastdense.autodiff has no gradient rule for "
                     "it. See fastdense.autodiff.supported_operations() for what is.")


def array_ufunc(ufunc, method, inputs, kwargs):
    tape = tape_of(inputs)
    if tape is None:
        return getattr(ufunc, method)(*[value_of(x) for x in inputs], **plain(kwargs))
    if kwargs.get("out") is not None:
        raise TypeError(f"np.{ufunc.__name__}(..., out=...) writes in place, which cannot be traced; "
                        "assign the result instead")
    if method == "__call__":
        if ufunc in CONSTANT_UFUNCS:
            return ufunc(*[value_of(x) for x in inputs], **plain(kwargs))
        primitive = UFUNC_PRIMITIVES.get(ufunc)
        if primitive is None:
            raise unsupported(f"np.{ufunc.__name__}")
        if kwargs:
            raise TypeError(f"np.{ufunc.__name__}: keyword argument(s) {sorted(kwargs)} are not supported on "
                            "traced arrays")
        return tape.apply(primitive, inputs, {})
    if method == "reduce" and ufunc in REDUCE_PRIMITIVES:
        (x,) = inputs
        options = dict(kwargs)
        axis, keepdims = options.pop("axis", 0), options.pop("keepdims", False)
        _no_options(f"np.{ufunc.__name__}.reduce", options)
        return REDUCE_PRIMITIVES[ufunc](x, axis=axis, keepdims=keepdims)
    raise unsupported(f"np.{ufunc.__name__}.{method}")


# ------------------------------------------------------------------------------------ functions

HANDLED_FUNCTIONS = {}


def implements(*functions):
    """Registers a handler (with NumPy's signature) for traced calls of the given NumPy functions."""
    def register(handler):
        for f in functions:
            HANDLED_FUNCTIONS[f] = handler
        return handler
    return register


def array_function(func, types, args, kwargs):
    if not all(issubclass(t, (TracedValue, Watchable, np.ndarray)) for t in types):
        return NotImplemented
    tape = tape_of(_flatten((args, kwargs), []))
    if tape is None:
        return func(*plain(args), **plain(kwargs))
    handler = HANDLED_FUNCTIONS.get(func)
    if handler is None:
        raise unsupported(qualified_name(func))
    return handler(*args, **kwargs)


def _no_options(name, options):
    """Rejects NumPy options that cannot be traced (out=, where=, ...)."""
    given = {k: v for k, v in options.items() if v is not None}
    if given:
        raise TypeError(f"{name}: argument(s) {sorted(given)} are not supported on traced arrays")


def operand(a):
    """A traced array, variable or ndarray for one array argument (lists are stacked)."""
    if isinstance(a, (TracedValue, Watchable, np.ndarray)):
        return a
    if isinstance(a, (list, tuple)) and _flatten(a, []):
        return _stack(list(a))
    return np.asarray(a)


def shape_of(a):
    return a.shape if hasattr(a, "shape") else np.shape(a)


def _shape_after(numpy_function, shape, *args, **kwargs):
    """The shape numpy_function gives an array of ``shape`` (validated by NumPy, no data touched)."""
    dummy = np.broadcast_to(np.empty((), dtype=bool), shape)
    return numpy_function(dummy, *args, **kwargs).shape


def astype(x, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return value_of(x).astype(dtype)  # an integer or boolean copy carries no gradient
    if dtype == np.dtype(x.dtype):
        return x
    return P.cast(x, dtype=dtype)


def _as_dtype(x, dtype):
    return x if dtype is None else astype(operand(x), dtype)


def _reshape(a, shape):
    return P.reshape(a, shape=tuple(shape) if np.ndim(shape) else (int(shape),))


# ---- indexing

def _plain_index(index):
    if isinstance(index, tuple):
        return tuple(value_of(i) for i in index)
    return value_of(index)


def getitem(x, index):
    index = _plain_index(index)
    tape = tape_of((x,))
    if tape is None:
        return value_of(x)[index]
    return tape.apply(P.getitem, (x,), {"index": index})


def setitem(target, index, value):
    index = _plain_index(index)
    if not P.is_basic_index(index):
        raise NotImplementedError("assigning through integer-array indices is not supported on traced arrays "
                                  "(repeated indices make the gradient ambiguous); use a boolean mask or slices")
    new = P.setitem(target, value, index=index)
    target._value, target._slot = new._value, new._slot


# ---- reductions

@implements(np.sum)
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **options):
    _no_options("np.sum", dict(options, out=out))
    return P.sum_(_as_dtype(operand(a), dtype), axis=axis, keepdims=keepdims)


@implements(np.mean)
def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **options):
    _no_options("np.mean", dict(options, out=out))
    return P.mean(_as_dtype(operand(a), dtype), axis=axis, keepdims=keepdims)


def _extremum(primitive, combine, name):
    def handler(a, axis=None, out=None, keepdims=False, initial=None, **options):
        _no_options(name, dict(options, out=out))
        result = primitive(operand(a), axis=axis, keepdims=keepdims)
        return result if initial is None else combine(result, initial)
    return handler


implements(np.max, np.amax)(_extremum(P.max_, P.maximum, "np.max"))
implements(np.min, np.amin)(_extremum(P.min_, P.minimum, "np.min"))


@implements(np.prod)
def _prod(a, axis=None, dtype=None, out=None, keepdims=False, **options):
    _no_options("np.prod", dict(options, out=out))
    return P.prod(_as_dtype(operand(a), dtype), axis=axis, keepdims=keepdims)


def variance(a, axis=None, dtype=None, ddof=0, keepdims=False):
    a = _as_dtype(operand(a), dtype)
    axes = P.normalize_axes(axis, len(shape_of(a)))
    count = int(np.prod([shape_of(a)[ax] for ax in axes]))
    centered = P.subtract(a, P.mean(a, axis=axes, keepdims=True))
    return P.divide(P.sum_(P.square(centered), axis=axes, keepdims=keepdims), max(count - ddof, 0))


@implements(np.var)
def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **options):
    _no_options("np.var", dict(options, out=out))
    return variance(a, axis, dtype, ddof, keepdims)


@implements(np.std)
def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **options):
    _no_options("np.std", dict(options, out=out))
    return P.sqrt(variance(a, axis, dtype, ddof, keepdims))


@implements(np.average)
def _average(a, axis=None, weights=None, returned=False, keepdims=False):
    a = operand(a)
    if weights is None:
        total = P.mean(a, axis=axis, keepdims=keepdims)
        count = np.broadcast_to(np.asarray(a.size / np.size(value_of(total)), dtype=a.dtype), shape_of(total))
        return (total, count) if returned else total
    weights = operand(weights)
    if shape_of(weights) != shape_of(a):
        if axis is None or len(shape_of(weights)) != 1:
            raise TypeError("np.average: weights must have the shape of a, or be 1-D along a single axis")
        shape = [1] * len(shape_of(a))
        shape[int(axis) % len(shape)] = shape_of(weights)[0]
        weights = _reshape(weights, shape)
    weight_sum = P.sum_(P.broadcast_to(weights, shape=shape_of(a)), axis=axis, keepdims=keepdims)
    total = P.divide(P.sum_(P.multiply(a, weights), axis=axis, keepdims=keepdims), weight_sum)
    return (total, weight_sum) if returned else total


@implements(np.cumsum)
def _cumsum(a, axis=None, dtype=None, out=None):
    _no_options("np.cumsum", {"out": out})
    return P.cumsum(_as_dtype(operand(a), dtype), axis=axis)


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms as compositions of primitives (the SVD-based ones are not supported)."""
    x = operand(x)
    ndim = len(shape_of(x))
    if axis is None:
        if ord is None:  # the 2-norm of the flattened array (Frobenius for a matrix)
            return P.sqrt(P.sum_(P.square(x), axis=None, keepdims=keepdims))
        if ndim not in (1, 2):
            raise ValueError("np.linalg.norm: improper number of dimensions to norm")
        axis = tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"np.linalg.norm: improper number of dimensions to norm ({len(axes)})")


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return P.sqrt(P.sum_(P.square(x), axis=axis, keepdims=keepdims))
    magnitude = P.absolute(x)
    if ord == np.inf:
        return P.max_(magnitude, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return P.min_(magnitude, axis=axis, keepdims=keepdims)
    if ord == 0:  # the number of non-zero entries: a count, no gradient
        return np.sum(value_of(x) != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    if ord == 1:
        return P.sum_(magnitude, axis=axis, keepdims=keepdims)
    ord = float(ord)
    return P.power(P.sum_(P.power(magnitude, ord), axis=axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    ndim = len(shape_of(x))
    rows, cols = (int(a) % ndim for a in axes)
    if ord in (None, "fro"):
        return P.sqrt(P.sum_(P.square(x), axis=(rows, cols), keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum of |x|; inf: the largest row sum (the - versions: the smallest).
        summed, reduced = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = P.sum_(P.absolute(x), axis=summed, keepdims=True)
        pick = P.max_ if ord in (1, np.inf) else P.min_
        out = pick(sums, axis=reduced, keepdims=True)
        return out if keepdims else _reshape(out, [n for i, n in enumerate(shape_of(out)) if i not in (rows, cols)])
    raise NotImplementedError(f"np.linalg.norm: ord={ord!r} matrix norms need an SVD, which fastdense.autodiff "
                              "does not differentiate")


# ---- shapes

@implements(np.reshape)
def _reshape_handler(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C":
        raise NotImplementedError("np.reshape: only order='C' is supported on traced arrays")
    return _reshape(a, newshape if shape is None else shape)


@implements(np.ravel)
def _ravel(a, order="C"):
    if order not in ("C", "K", "A"):
        raise NotImplementedError("np.ravel: only order='C' is supported on traced arrays")
    return _reshape(a, (-1,))


@implements(np.transpose)
def _transpose(a, axes=None):
    return P.transpose(operand(a), axes=None if axes is None else tuple(int(ax) % len(shape_of(a)) for ax in axes))


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    ndim = len(shape_of(a))
    source = [ax % ndim for ax in ([source] if np.ndim(source) == 0 else source)]
    destination = [ax % ndim for ax in ([destination] if np.ndim(destination) == 0 else destination)]
    order = [i for i in range(ndim) if i not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return P.transpose(a, axes=tuple(order))


@implements(np.swapaxes)
def _swapaxes(a, axis1, axis2):
    order = list(range(len(shape_of(a))))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return P.transpose(a, axes=tuple(order))


@implements(np.expand_dims)
def _expand_dims(a, axis):
    return _reshape(a, _shape_after(np.expand_dims, shape_of(a), axis))


@implements(np.squeeze)
def _squeeze(a, axis=None):
    return _reshape(a, _shape_after(np.squeeze, shape_of(a), axis))


def _atleast_handler(numpy_function):
    def handler(*arrays):
        results = [_reshape(operand(a), _shape_after(numpy_function, shape_of(a))) for a in arrays]
        return results[0] if len(results) == 1 else tuple(results)
    return handler


implements(np.atleast_1d)(_atleast_handler(np.atleast_1d))
implements(np.atleast_2d)(_atleast_handler(np.atleast_2d))


@implements(np.broadcast_to)
def _broadcast_to(array, shape, subok=False):
    return P.broadcast_to(operand(array), shape=tuple(shape) if np.ndim(shape) else (int(shape),))


@implements(np.broadcast_arrays)
def _broadcast_arrays(*args, subok=False):
    args = [operand(a) for a in args]
    shape = np.broadcast_shapes(*[shape_of(a) for a in args])
    return tuple(a if shape_of(a) == shape else P.broadcast_to(a, shape=shape) for a in args)


@implements(np.concatenate)
def _concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    _no_options("np.concatenate", {"out": out})
    arrays = [_as_dtype(operand(a), dtype) for a in arrays]
    if axis is None:
        arrays, axis = [_reshape(a, (-1,)) for a in arrays], 0
    return P.concatenate(*arrays, axis=axis)


def _stack(arrays, axis=0):
    arrays = [operand(a) for a in arrays]
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    expanded = _shape_after(np.expand_dims, shapes.pop(), axis)
    axis = axis % len(expanded)
    return P.concatenate(*[_reshape(a, expanded) for a in arrays], axis=axis)


@implements(np.stack)
def _stack_handler(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    _no_options("np.stack", {"out": out})
    return _stack([_as_dtype(operand(a), dtype) for a in arrays], axis)


@implements(np.hstack)
def _hstack(tup, *, dtype=None, casting="same_kind"):
    arrays = [_atleast_handler(np.atleast_1d)(_as_dtype(operand(a), dtype)) for a in tup]
    return P.concatenate(*arrays, axis=0 if len(shape_of(arrays[0])) == 1 else 1)


@implements(np.vstack)
def _vstack(tup, *, dtype=None, casting="same_kind"):
    arrays = [_atleast_handler(np.atleast_2d)(_as_dtype(operand(a), dtype)) for a in tup]
    return P.concatenate(*arrays, axis=0)


def _split_handler(numpy_function):
    def handler(ary, indices_or_sections, axis=0):
        ary = operand(ary)
        sizes = [part.shape[axis] for part in numpy_function(
            np.broadcast_to(np.empty((), dtype=bool), shape_of(ary)), indices_or_sections, axis)]
        lead = (slice(None),) * (axis % len(shape_of(ary)))
        starts = np.cumsum([0] + sizes)
        return [getitem(ary, lead + (slice(int(s), int(s + n)),)) for s, n in zip(starts, sizes)]
    return handler


implements(np.split)(_split_handler(np.split))
implements(np.array_split)(_split_handler(np.array_split))


@implements(np.flip)
def _flip(m, axis=None):
    ndim = len(shape_of(m))
    axes = P.normalize_axes(axis, ndim)
    return getitem(m, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(ndim)))


@implements(np.take)
def _take(a, indices, axis=None, out=None, mode="raise"):
    _no_options("np.take", {"out": out})
    if mode != "raise":
        raise NotImplementedError("np.take: only mode='raise' is supported on traced arrays")
    a = operand(a)
    if axis is None:
        return getitem(_reshape(a, (-1,)), np.asarray(value_of(indices)))
    lead = (slice(None),) * (axis % len(shape_of(a)))
    return getitem(a, lead + (np.asarray(value_of(indices)),))


@implements(np.take_along_axis)
def _take_along_axis(arr, indices, axis=-1):
    arr, indices = operand(arr), np.asarray(value_of(indices))
    if axis is None:
        arr, axis = _reshape(arr, (-1,)), 0
    ndim = len(shape_of(arr))
    axis = axis % ndim
    # The index of every other axis is its own position (broadcast), as numpy's fancy indexing needs.
    index = tuple(indices if d == axis else
                  np.arange(n).reshape([n if k == d else 1 for k in range(ndim)])
                  for d, n in enumerate(shape_of(arr)))
    return getitem(arr, index)


@implements(np.sort)
def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    a = operand(a)
    if axis is None:
        a, axis = _reshape(a, (-1,)), 0
    return _take_along_axis(a, np.argsort(value_of(a), axis=axis, kind=kind, stable=stable), axis)


@implements(np.tile)
def _tile(A, reps):
    A = operand(A)
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    shape = shape_of(A)
    ndim = max(len(shape), len(reps))
    shape = (1,) * (ndim - len(shape)) + tuple(shape)
    reps = (1,) * (ndim - len(reps)) + reps
    # Interleave a repetition axis before each axis, broadcast along it, then merge the pairs.
    interleaved = [d for n in shape for d in (1, n)]
    repeated = [d for r, n in zip(reps, shape) for d in (r, n)]
    tiled = P.broadcast_to(_reshape(A, interleaved), shape=tuple(repeated))
    return _reshape(tiled, [r * n for r, n in zip(reps, shape)])


@implements(np.repeat)
def _repeat(a, repeats, axis=None):
    a = operand(a)
    if axis is None:
        a, axis = _reshape(a, (-1,)), 0
    axis = axis % len(shape_of(a))
    positions = np.repeat(np.arange(shape_of(a)[axis]), value_of(repeats))
    return getitem(a, (slice(None),) * axis + (positions,))


@implements(np.diff)
def _diff(a, n=1, axis=-1, **options):
    _no_options("np.diff", options)
    a = operand(a)
    axis = axis % len(shape_of(a))
    lead = (slice(None),) * axis
    for _ in range(n):
        a = P.subtract(getitem(a, lead + (slice(1, None),)), getitem(a, lead + (slice(None, -1),)))
    return a


@implements(np.copy)
def _copy(a, order="K", subok=False):
    return P.copy(operand(a))


@implements(np.astype)
def _astype(x, dtype, /, *, copy=True, device=None):
    return astype(operand(x), dtype)


# ---- selection

@implements(np.where)
def _where(condition, *xy):
    condition = np.asarray(value_of(condition))
    if not xy:
        return np.nonzero(condition)
    if len(xy) != 2:
        raise ValueError("np.where takes either one or three arguments")
    return P.where(xy[0], xy[1], condition=condition)


@implements(np.clip)
def _clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **options):
    _no_options("np.clip", dict(options, out=out))
    low = a_min if a_min is not None else min
    high = a_max if a_max is not None else max
    return P.clip(a, low, high)


# ---- linear algebra

@implements(np.dot)
def dot(a, b, out=None):
    _no_options("np.dot", {"out": out})
    a, b = operand(a), operand(b)
    nd_a, nd_b = len(shape_of(a)), len(shape_of(b))
    if nd_a == 0 or nd_b == 0:
        return P.multiply(a, b)
    if nd_a <= 2 and nd_b <= 2:
        return P.matmul(a, b)
    return P.tensordot(a, b, axes=([nd_a - 1], [max(nd_b - 2, 0)]))


@implements(np.tensordot)
def _tensordot(a, b, axes=2):
    return P.tensordot(operand(a), operand(b), axes=axes)


@implements(np.inner)
def _inner(a, b):
    a, b = operand(a), operand(b)
    if not shape_of(a) or not shape_of(b):
        return P.multiply(a, b)
    return P.tensordot(a, b, axes=([-1], [-1]))


@implements(np.outer)
def _outer(a, b, out=None):
    _no_options("np.outer", {"out": out})
    return P.multiply(_reshape(operand(a), (-1, 1)), _reshape(operand(b), (1, -1)))


@implements(np.einsum)
def _einsum(*operands, out=None, optimize=False, **options):
    _no_options("np.einsum", dict(options, out=out))
    if not operands or not isinstance(operands[0], str):
        raise NotImplementedError("np.einsum: only the subscripts-string form is supported on traced arrays")
    subscripts, arrays = operands[0], [operand(a) for a in operands[1:]]
    P.parse_einsum(subscripts, len(arrays))  # reject what the gradient cannot handle, before running
    return P.einsum(*arrays, subscripts=subscripts)


# ---- functions of the values only (shapes, indices, masks, fresh arrays): no gradient

def _on_values(numpy_function):
    def handler(*args, **kwargs):
        return numpy_function(*plain(args), **plain(kwargs))
    return handler


for _function in (np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero,
                  np.any, np.all, np.isclose, np.allclose, np.array_equal, np.zeros_like, np.ones_like,
                  np.empty_like, np.result_type, np.may_share_memory, np.shares_memory, np.iscomplexobj,
                  np.isrealobj, np.searchsorted, np.round, np.around):
    implements(_function)(_on_values(_function))


@implements(np.full_like)
def _full_like(a, fill_value, *args, **kwargs):
    if _flatten(fill_value, []):
        raise unsupported("np.full_like with a traced fill_value")
    return np.full_like(value_of(a), fill_value, *args, **kwargs)
