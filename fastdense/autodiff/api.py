"""The functional API: vjp (forward once, backward on demand), value_and_grad, grad and helpers."""

import collections
import functools
import numbers

import numpy as np

from fastdense.autodiff.base import active_tape
from fastdense.autodiff.tape import GradientTape, finished_gradient
from fastdense.autodiff.tensor import TracedArray, TraceableVariable

Gradients = collections.namedtuple("Gradients", ["inputs", "variables"])
Gradients.__doc__ = """What a pullback returns: ``inputs`` (a tuple, one gradient per differentiated input,
in ``argnums`` order) and ``variables`` (a list, one gradient per variable of ``pullback.variables``)."""


def is_traced(*values):
    """True when any value is a traced array, or a variable that the recording tape watches."""
    for x in values:
        if isinstance(x, TracedArray):
            return True
        if isinstance(x, TraceableVariable):
            tape = active_tape()
            if tape is not None and tape.watches(x):
                return True
    return False


def asarray(x):
    """x itself when it is traced (a watched variable becomes its traced leaf), else np.asarray(x)."""
    if isinstance(x, TracedArray):
        return x
    if isinstance(x, TraceableVariable):
        tape = active_tape()
        leaf = tape.variable_leaf(x) if tape is not None else None
        return leaf if leaf is not None else np.asarray(x.value)
    return np.asarray(x)


def stop_gradient(x):
    """The plain value of x: a constant for the tape (like tf.stop_gradient)."""
    if isinstance(x, (TracedArray, TraceableVariable)):
        return x.value
    return x


class Pullback:
    """The backward half of :func:`vjp`. Call it with the output gradient(s); it can be called
    several times (each call is one reverse pass over the recorded forward)."""

    def __init__(self, tape, outputs, single_output, inputs, variables):
        self._tape = tape
        self._outputs = outputs            # per flat output: TracedArray, or None for a constant
        self._single = single_output
        self._inputs = inputs              # per differentiated input: its TracedArray leaf or Variable
        self._variables = variables

    @property
    def variables(self):
        """The variables whose gradients the pullback returns, in that order."""
        return list(self._variables)

    def __call__(self, output_gradients):
        grads = [output_gradients] if self._single else list(output_gradients)
        if len(grads) != len(self._outputs):
            raise ValueError(f"the function has {len(self._outputs)} output(s) but {len(grads)} output gradient(s) "
                             "were given")
        seeds = []
        for out, g in zip(self._outputs, grads):
            if out is None or g is None:
                continue
            g = np.asarray(g)
            if g.shape != out.shape:
                raise ValueError(f"output gradient of shape {g.shape} does not match the output of shape {out.shape}")
            seeds.append((out._slot, g))
        tape = self._tape
        leaves = [x if isinstance(x, TracedArray) else tape.existing_leaf(x) for x in self._inputs]
        leaves += [tape.existing_leaf(v) for v in self._variables]
        slots = [leaf._slot for leaf in leaves if leaf is not None]
        found = iter(tape.backward(seeds, slots) if seeds else [None] * len(slots))
        results = []
        for leaf, like in zip(leaves, list(self._inputs) + self._variables):
            g = next(found) if leaf is not None else None
            if g is None:  # the outputs do not depend on it
                g = np.zeros(like.shape, dtype=np.asarray(like.value).dtype)
            else:
                g = finished_gradient(g, seeds)
            results.append(g)
        n = len(self._inputs)
        return Gradients(tuple(results[:n]), results[n:])


def _argnums(argnums, count):
    if argnums is None:
        return tuple(range(count))
    single = isinstance(argnums, numbers.Integral)
    numbers_ = (argnums,) if single else tuple(argnums)
    for i in numbers_:
        if not -count <= i < count:
            raise ValueError(f"argnums {i} is out of range for {count} input(s)")
    return tuple(i % count for i in numbers_)


def vjp(fn, *inputs, argnums=None, variables=None):
    """Runs ``fn(*inputs)`` once on traced values; returns ``(outputs, pullback)``.

    inputs: the positional arguments; those in ``argnums`` (default: all) must be float arrays
        (or variables) and are traced, the others are passed unchanged.
    variables: the variables to differentiate (e.g. ``layer.trainable_weights``); only these are
        traced. None traces every trainable variable fn uses (see ``pullback.variables``).
    outputs: fn's result as NumPy arrays (an array, or a tuple/list of them, as fn returned).
        Read them, do not write into them: the pullback may still need them.
    pullback(output_gradients) -> Gradients(inputs, variables): the vector-Jacobian products for
        the given gradient of each output (same shapes; None for an output with no gradient).
        Unconnected inputs and variables get zeros.
    """
    numbers_ = _argnums(argnums, len(inputs))
    tape = GradientTape(watch_accessed_variables=variables is None)
    for v in variables or ():
        tape.watch(v)
    args = list(inputs)
    with tape:
        for i in numbers_:
            args[i] = tape.watch(inputs[i])
        result = fn(*args)
        single = not isinstance(result, (tuple, list))
        flat = [result] if single else list(result)
        traced = [_output(o, tape) for o in flat]
    values = [o._value if isinstance(o, TracedArray) else np.asarray(o) for o in traced]
    outputs = values[0] if single else type(result)(values)
    watched = list(variables) if variables is not None else tape.watched_variables
    pullback = Pullback(tape, [o if isinstance(o, TracedArray) else None for o in traced], single,
                        [args[i] for i in numbers_], watched)
    return outputs, pullback


def _output(o, tape):
    """A function output as a TracedArray (if it depends on traced values) or a plain array."""
    if isinstance(o, TracedArray):
        return o
    if isinstance(o, TraceableVariable):
        leaf = tape.variable_leaf(o)
        return leaf if leaf is not None else np.asarray(o.value)
    if isinstance(o, numbers.Number):
        raise TypeError(f"the function returned a Python {type(o).__name__}, which carries no gradient; return the "
                        "array itself (for example np.mean(...) rather than float(np.mean(...)))")
    return np.asarray(o)


def value_and_grad(fn, argnums=0):
    """A function returning ``(value, gradient)`` of the scalar function fn at its arguments.

    The gradient is one array for an integer ``argnums``, else a tuple of arrays.
    """
    @functools.wraps(fn)
    def wrapped(*inputs):
        value, pullback = vjp(fn, *inputs, argnums=argnums, variables=())
        if isinstance(value, (tuple, list)) or np.size(value) != 1:
            raise ValueError(f"value_and_grad needs a function with one scalar output, got shape {np.shape(value)}; "
                             "use vjp() for array outputs")
        grads = pullback(np.ones_like(value)).inputs
        return value, grads[0] if isinstance(argnums, numbers.Integral) else grads
    return wrapped


def grad(fn, argnums=0):
    """A function returning the gradient of the scalar function fn (see value_and_grad)."""
    value_and_grad_fn = value_and_grad(fn, argnums)

    @functools.wraps(fn)
    def wrapped(*inputs):
        return value_and_grad_fn(*inputs)[1]
    return wrapped
