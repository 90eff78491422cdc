"""The traced array type and the array behaviour shared with layer variables.

A :class:`TracedArray` wraps a NumPy value and the slot of the tape node that produced it. It
implements NumPy's dispatch protocols (``__array_ufunc__``, ``__array_function__``), so user code
written with ``np.`` functions, operators and methods runs unchanged on it and is recorded.
Converting one to a plain array (``np.asarray``) raises: that would silently cut the gradient.

:class:`TraceableVariable` gives layer weights the same operators and protocols: inside a
recording tape a (trainable) variable becomes a traced leaf; elsewhere it computes on its value.
"""

import numpy as np

from fastdense.autodiff import dispatch as _dispatch
from fastdense.autodiff.base import TracedValue, Watchable


class ArrayOperators:
    """Python's arithmetic and ordering operators spelled as NumPy ufunc calls.

    The ufuncs reach the operand's ``__array_ufunc__``, which decides whether to trace. Equality
    is left out on purpose: variables keep identity comparison and hashing.
    """

    __slots__ = ()

    def __add__(self, other):
        return np.add(self, other)

    def __radd__(self, other):
        return np.add(other, self)

    def __sub__(self, other):
        return np.subtract(self, other)

    def __rsub__(self, other):
        return np.subtract(other, self)

    def __mul__(self, other):
        return np.multiply(self, other)

    def __rmul__(self, other):
        return np.multiply(other, self)

    def __truediv__(self, other):
        return np.true_divide(self, other)

    def __rtruediv__(self, other):
        return np.true_divide(other, self)

    def __floordiv__(self, other):
        return np.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return np.floor_divide(other, self)

    def __mod__(self, other):
        return np.remainder(self, other)

    def __rmod__(self, other):
        return np.remainder(other, self)

    def __pow__(self, other):
        return np.power(self, other)

    def __rpow__(self, other):
        return np.power(other, self)

    def __matmul__(self, other):
        return np.matmul(self, other)

    def __rmatmul__(self, other):
        return np.matmul(other, self)

    def __neg__(self):
        return np.negative(self)

    def __pos__(self):
        return np.positive(self)

    def __abs__(self):
        return np.absolute(self)

    def __lt__(self, other):
        return np.less(self, other)

    def __le__(self, other):
        return np.less_equal(self, other)

    def __gt__(self, other):
        return np.greater(self, other)

    def __ge__(self, other):
        return np.greater_equal(self, other)


_SCALAR_CONVERSION = ("{}() of a traced value would cut its gradient (NumPy calls it to store a value into a plain "
                      "array, math.* functions call it); use np./fastdense.ops functions, or t.item() to take the "
                      "value on purpose")


class TracedArray(TracedValue, ArrayOperators):
    """A NumPy value recorded on a :class:`~fastdense.autodiff.tape.GradientTape`.

    It behaves like a read-only ndarray for the operations listed in ``fastdense.autodiff``
    (anything else raises a TypeError naming the operation). Item assignment
    (``t[mask] = 0``) is supported and makes ``t`` a new traced value; unlike NumPy, earlier
    slices of ``t`` do not see the change.
    """

    __slots__ = ()

    # ----------------------------------------------------------------------------- metadata
    @property
    def shape(self):
        return self._value.shape

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def size(self):
        return self._value.size

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        for i in range(len(self._value)):
            yield self[i]

    def __repr__(self):
        return f"TracedArray({np.array2string(self._value, separator=', ', threshold=20)}, dtype={self.dtype})"

    # float()/int() would silently cut the gradient: NumPy calls them to store a value into an
    # array (buffer[i] = t) and math.* functions call them. item() asks for the value explicitly.
    def __float__(self):
        raise TypeError(_SCALAR_CONVERSION.format("float"))

    def __int__(self):
        raise TypeError(_SCALAR_CONVERSION.format("int"))

    def __bool__(self):  # control flow on values (if t.max() > 0: ...) has no gradient to lose
        return bool(self._value)

    def item(self, *args):
        return self._value.item(*args)

    def tolist(self):
        return self._value.tolist()

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a traced array cannot be converted to a plain NumPy array: the gradient would be lost. Use "
            "np./fastdense.ops functions on it, or fastdense.ops.stop_gradient(x) (or x.value) to take "
            "its value as a constant on purpose.")

    # ---------------------------------------------------------------------------- protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _dispatch.array_function(func, types, args, kwargs)

    def __eq__(self, other):
        return np.equal(self, other)

    def __ne__(self, other):
        return np.not_equal(self, other)

    __hash__ = None

    # In-place operators rebind the name to a new traced value (the recorded value is never mutated).
    def __iadd__(self, other):
        return np.add(self, other)

    def __isub__(self, other):
        return np.subtract(self, other)

    def __imul__(self, other):
        return np.multiply(self, other)

    def __itruediv__(self, other):
        return np.true_divide(self, other)

    def __ipow__(self, other):
        return np.power(self, other)

    def __imatmul__(self, other):
        return np.matmul(self, other)

    def __getitem__(self, index):
        return _dispatch.getitem(self, index)

    def __setitem__(self, index, value):
        _dispatch.setitem(self, index, value)

    # ------------------------------------------------------------------------------ methods
    @property
    def T(self):
        return np.transpose(self)

    def reshape(self, *shape, order="C"):
        if order != "C":
            raise NotImplementedError("reshape: only order='C' is supported on traced arrays")
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return np.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def swapaxes(self, axis1, axis2):
        return np.swapaxes(self, axis1, axis2)

    def ravel(self, order="C"):
        return np.ravel(self, order=order)

    def flatten(self, order="C"):
        return np.ravel(self, order=order)

    def squeeze(self, axis=None):
        return np.squeeze(self, axis=axis)

    def astype(self, dtype, copy=True):
        return _dispatch.astype(self, dtype)

    def copy(self):
        return np.copy(self)

    def sum(self, axis=None, dtype=None, keepdims=False):
        return np.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False):
        return np.mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return np.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False):
        return np.prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def var(self, axis=None, dtype=None, ddof=0, keepdims=False):
        return np.var(self, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, ddof=0, keepdims=False):
        return np.std(self, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis=None):
        return np.cumsum(self, axis=axis)

    def clip(self, min=None, max=None):
        return np.clip(self, min, max)

    def dot(self, other):
        return np.dot(self, other)

    def argmax(self, axis=None):
        return np.argmax(self._value, axis=axis)

    def argmin(self, axis=None):
        return np.argmin(self._value, axis=axis)


class TraceableVariable(Watchable, ArrayOperators):
    """Array behaviour for a weight object with a ``value`` (ndarray) and a ``trainable`` flag.

    Operators, ``np.`` functions and indexing compute on the value and return plain arrays, except
    inside a recording :class:`~fastdense.autodiff.tape.GradientTape` that watches the variable
    (trainable variables are watched by default) or next to a traced operand: then the variable
    is a leaf of that tape and its gradient accumulates there.
    """

    __slots__ = ()

    @property
    def ndim(self):
        return self.value.ndim

    @property
    def T(self):
        return np.transpose(self)

    def __len__(self):
        return len(self.value)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _dispatch.array_function(func, types, args, kwargs)

    def __getitem__(self, index):
        return _dispatch.getitem(self, index)

