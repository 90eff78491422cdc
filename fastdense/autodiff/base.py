"""The types every other autodiff module builds on; this module imports nothing from autodiff.

It holds what a primitive needs to apply itself: the per-thread stack of recording tapes, the
state of a traced value (:class:`TracedValue`) and the mark of a variable a tape can watch
(:class:`Watchable`), the tape node, :class:`Primitive`, :func:`tape_of` and :func:`unbroadcast`.

Imports flow one way: ``base`` <- ``gradients`` (the op table) <- ``dispatch`` (NumPy's
protocols) <- ``tensor`` (TracedArray, TraceableVariable) <- ``tape`` (GradientTape) <- ``api``;
``native`` builds on ``gradients``. The array types add their NumPy behaviour on top of
:class:`TracedValue` and :class:`Watchable`, so ``dispatch`` and :func:`tape_of` recognise them
without importing ``tensor``.
"""

import threading

import numpy as np

_state = threading.local()


def tape_stack():
    """The recording tapes of this thread, innermost last (GradientTape pushes and pops itself)."""
    stack = getattr(_state, "tapes", None)
    if stack is None:
        stack = _state.tapes = []
    return stack


def active_tape():
    """The innermost recording tape of this thread, or None."""
    stack = getattr(_state, "tapes", None)
    return stack[-1] if stack else None


class TracedValue:
    """The state of a value recorded on a tape: the NumPy value, the tape and the slot of the node
    that produced it. :class:`~fastdense.autodiff.tensor.TracedArray` adds the array behaviour."""

    __slots__ = ("_value", "_tape", "_slot")

    def __init__(self, value, tape, slot):
        self._value = value
        self._tape = tape
        self._slot = slot

    @property
    def value(self):
        """The current NumPy value (read it, do not write into it; no gradient flows through it)."""
        return self._value


class Watchable:
    """A weight a tape can watch: an object with a ``value`` (ndarray) and a ``trainable`` flag.
    :class:`~fastdense.autodiff.tensor.TraceableVariable` adds the array behaviour."""

    __slots__ = ()


class Node:
    """One recorded value of a tape: the primitive that produced it (None for a leaf), the value,
    the raw arguments and keyword arguments it was computed from, and the slots of its traced
    parents (-1 for a constant argument)."""

    __slots__ = ("primitive", "value", "args", "kwargs", "parents", "needs")

    def __init__(self, primitive, value, args, kwargs, parents):
        self.primitive = primitive
        self.value = value
        self.args = args
        self.kwargs = kwargs
        self.parents = parents
        self.needs = tuple(p >= 0 for p in parents)  # which arguments are traced


class Primitive:
    """An operation with a NumPy forward function and a vector-Jacobian product.

    ``forward(*args, **kwargs)`` computes on plain values. ``vjp(g, ans, needs, *args, **kwargs)``
    returns one gradient (or None) per positional argument, given the output gradient ``g``,
    the output ``ans`` and ``needs[i]`` telling whether argument i is traced. A gradient may
    have the broadcast shape or a wider float dtype: the tape sums it down to the argument's
    shape and casts it. A vjp never writes into ``g``, ``ans`` or the arguments.

    Calling a primitive applies it: on plain values it is just ``forward``; when an argument is
    traced (or is a variable a recording tape watches) the result is a recorded TracedArray.
    """

    __slots__ = ("name", "forward", "vjp")

    def __init__(self, name, forward, vjp):
        self.name = name
        self.forward = forward
        self.vjp = vjp

    def __call__(self, *args, **kwargs):
        tape = tape_of(args)
        if tape is None:
            return self.forward(*[a.value if isinstance(a, Watchable) else a for a in args], **kwargs)
        return tape.apply(self, args, kwargs)

    def __repr__(self):
        return f"<Primitive {self.name}>"


def tape_of(args):
    """The tape an operation on ``args`` records on, or None for a plain computation.

    That is the tape of the traced arguments (all must share it), else the active tape when an
    argument is a variable it watches.
    """
    tape = None
    has_variable = False
    for a in args:
        if isinstance(a, TracedValue):
            if tape is None:
                tape = a._tape
            elif a._tape is not tape:
                raise ValueError("an operation mixes traced values of two different traces; fastdense.autodiff "
                                 "does not support nested differentiation")
        elif isinstance(a, Watchable):
            has_variable = True
    if tape is None:
        if not has_variable:
            return None
        tape = active_tape()
        if tape is None or not any(isinstance(a, Watchable) and tape.watches(a) for a in args):
            return None
    if not tape._recording:
        raise RuntimeError("a traced value was used after its trace ended (was it kept from an earlier "
                           "forward pass?); traced values are only valid inside the traced function")
    return tape


def unbroadcast(g, shape):
    """Sums g over the axes along which an array of ``shape`` was broadcast to g's shape."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra < 0:  # NumPy's assignment drops leading size-1 axes of the value: put them back
        if any(n != 1 for n in shape[:-extra]):
            return None
        g, extra = g.reshape(shape[:-extra] + g.shape), 0
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and g.shape[extra + i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.size != int(np.prod(shape)):
        return None
    return g.reshape(shape)
