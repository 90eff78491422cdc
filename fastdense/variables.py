"""Weights as numpy arrays that the native engine updates in place."""

import weakref

import numpy as np

from fastdense import backend
from fastdense.autodiff import TraceableVariable


class Variable(TraceableVariable):
    """A layer weight.

    The value is a C-contiguous numpy array whose memory the compiled native network reads and
    updates in place, so it is never rebound: `assign` copies into it.

    It behaves like an array in NumPy code (``x @ kernel + bias``, ``np.tanh(w)``, ``w[0]``):
    outside a trace that computes on the value and returns plain arrays; inside a recording
    ``fastdense.autodiff`` tape a trainable variable is a traced leaf, so custom layers,
    regularizers and constraints written with NumPy are differentiated with respect to it.

    Args:
        value: initial value (array-like).
        name: short name ('kernel', 'bias', ...).
        trainable: whether optimizers update it.
        regularizer: a regularizer added to the loss, or None.
        constraint: a projection applied after each optimizer step, or None.
        path: Keras's full path ('dense/kernel'), used by persistence.
    """

    def __init__(self, value, name, trainable=True, regularizer=None, constraint=None, dtype=None, path=None):
        # Integer variables hold quantized weights (an int8 Dense's kernel); the rest are float.
        integer = dtype is not None and np.dtype(dtype).kind in "iu"
        dtype = np.dtype(dtype).name if integer else backend.standardize_dtype(dtype)
        self._value = np.array(value, dtype=dtype, order="C", copy=True)
        self.name = name
        self.trainable = trainable
        self.regularizer = regularizer
        self.constraint = constraint
        self.path = path or name

    @property
    def value(self):
        """The live array (do not keep it around expecting a snapshot: use numpy())."""
        return self._value

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype.name

    @property
    def size(self):
        return self._value.size

    def numpy(self):
        return self._value.copy()

    def assign(self, value):
        value = np.asarray(value)
        if value.shape != self._value.shape:
            raise ValueError(
                f"Cannot assign a value of shape {value.shape} to variable '{self.path}' of shape {self._value.shape}"
            )
        np.copyto(self._value, value, casting="unsafe")
        for rebuild in self.__dict__.get("_copied_by", ()):
            if rebuild() is not None:
                rebuild()()
        return self

    def _copied_into(self, rebuild):
        """Registers a native network that copies this value when it is built instead of reading
        its memory (an int8 Dense's kernel, packed once, and its scales): `rebuild`, a bound method
        (held weakly, such as the model's `_invalidate_native`), runs after every `assign` so that
        the next call builds a network from the new value. Writes into `.value` bypass this."""
        copied_by = self.__dict__.setdefault("_copied_by", [])
        copied_by[:] = [r for r in copied_by if r() is not None]
        method = weakref.WeakMethod(rebuild)
        if method not in copied_by:
            copied_by.append(method)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_copied_by", None)  # weak references to the networks of this process: not a copy's
        return state

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"

    def __setstate__(self, state):
        # An unpickled array has its own copy of the dtype object, equal to np.float32's but
        # not the same object, and the native boundary accepts only numpy's canonical dtypes:
        # rebuild the value with the canonical one (pickle, not deepcopy, needs this).
        self.__dict__.update(state)
        value = self.__dict__.get("_value")
        if isinstance(value, np.ndarray):
            self._value = np.ascontiguousarray(value.astype(np.dtype(value.dtype.name)))
