"""The tape: records every operation on traced arrays in execution order and runs the reverse pass.

A :class:`GradientTape` owns a list of nodes (:class:`~fastdense.autodiff.base.Node`), one per
traced value ("slot"). A node keeps the primitive that produced the value, the raw NumPy
arguments it was applied to, its keyword arguments, the produced value and the slots of its
traced parents (-1 for constants). The reverse pass walks the nodes backwards once, calling each primitive's vector-Jacobian product.

Variables (objects deriving from :class:`~fastdense.autodiff.tensor.TraceableVariable`) become
leaves of the tape the first time a recording tape sees them, so every use of one variable
accumulates into one gradient.
"""

import numpy as np

from fastdense.autodiff.base import Node, tape_stack, unbroadcast
from fastdense.autodiff.tensor import TracedArray, TraceableVariable


class GradientTape:
    """Records operations on traced arrays; ``gradient`` runs the reverse pass.

    Use it as a context manager, like ``tf.GradientTape``::

        with GradientTape() as tape:
            x = tape.watch(x_array)          # a TracedArray leaf
            y = np.sum(np.tanh(x @ layer.kernel))
        dx, dkernel = tape.gradient(y, [x, layer.kernel])

    Trainable variables are watched when first used (``watch_accessed_variables=False`` watches
    only those given to :meth:`watch`). Non-trainable variables act as constants.
    """

    def __init__(self, watch_accessed_variables=True):
        self._nodes = []
        self._watch_accessed = bool(watch_accessed_variables)
        self._watched = {}          # id(variable) -> variable, from watch()
        self._variable_leaves = {}  # id(variable) -> (variable, TracedArray leaf)
        self._recording = False

    # ------------------------------------------------------------------------------ recording
    def __enter__(self):
        tape_stack().append(self)
        self._recording = True
        return self

    def __exit__(self, *exc_info):
        stack = tape_stack()
        if stack and stack[-1] is self:
            stack.pop()
        self._recording = False
        return False

    def watch(self, value):
        """A traced leaf for a float array (returned), or starts watching a variable (returns it)."""
        if isinstance(value, TraceableVariable):
            self._watched[id(value)] = value
            return value
        if isinstance(value, TracedArray):
            if value._tape is not self:
                raise ValueError("watch() got a value traced by another tape; nested differentiation is "
                                 "not supported")
            return value
        array = np.asarray(value)
        if array.dtype.kind != "f":
            raise TypeError(f"can only differentiate with respect to float arrays, got dtype {array.dtype}")
        return self._leaf(array)

    def watches(self, variable):
        return id(variable) in self._watched or (self._watch_accessed and variable.trainable)

    @property
    def watched_variables(self):
        """The variables that became leaves of this tape, in order of first use."""
        return [variable for variable, _ in self._variable_leaves.values()]

    def _leaf(self, value):
        slot = len(self._nodes)
        self._nodes.append(Node(None, value, (), None, ()))
        return TracedArray(value, self, slot)

    def existing_leaf(self, variable):
        """The leaf of ``variable`` if the recorded code used it, else None."""
        entry = self._variable_leaves.get(id(variable))
        return None if entry is None else entry[1]

    def variable_leaf(self, variable):
        """The leaf standing for ``variable`` on this tape (made on first use), or None if unwatched."""
        entry = self._variable_leaves.get(id(variable))
        if entry is not None:
            return entry[1]
        if not self.watches(variable):
            return None
        leaf = self._leaf(variable.value)
        self._variable_leaves[id(variable)] = (variable, leaf)
        return leaf

    def apply(self, primitive, args, kwargs):
        """Runs ``primitive`` on the values of ``args`` and records it (args already checked by tape_of)."""
        values = []
        parents = []
        for a in args:
            if isinstance(a, TracedArray):
                values.append(a._value)
                parents.append(a._slot)
                continue
            if isinstance(a, TraceableVariable):
                leaf = self.variable_leaf(a)
                if leaf is not None:
                    values.append(leaf._value)
                    parents.append(leaf._slot)
                    continue
                a = a.value
            values.append(a)
            parents.append(-1)
        out = primitive.forward(*values, **kwargs)
        return self.record(out, primitive, tuple(values), kwargs, tuple(parents))

    def record(self, out, primitive, values, kwargs, parents):
        """Adds a node for ``out``; boolean and integer results (masks, indices) stay plain arrays."""
        if not isinstance(out, np.ndarray):
            out = np.asarray(out)
        kind = out.dtype.kind
        if kind != "f":
            if kind in "biu":
                return out
            raise TypeError(f"{primitive.name} produced a {out.dtype} result from a traced value; fastdense.autodiff "
                            "differentiates real floating-point arrays only")
        slot = len(self._nodes)
        self._nodes.append(Node(primitive, out, values, kwargs, parents))
        return TracedArray(out, self, slot)

    # ----------------------------------------------------------------------------- reverse pass
    def slot_of(self, source):
        """The slot of a TracedArray of this tape or of a watched variable's leaf (None if never used)."""
        if isinstance(source, TraceableVariable):
            entry = self._variable_leaves.get(id(source))
            return None if entry is None else entry[1]._slot
        if isinstance(source, TracedArray):
            if source._tape is not self:
                raise ValueError("gradient(): a source was traced by another tape")
            return source._slot
        raise TypeError(f"gradient(): sources must be traced arrays or variables, got {type(source).__name__}")

    def backward(self, seeds, wanted):
        """Gradients at the slots in ``wanted`` (a list; None where unconnected).

        ``seeds`` is a list of (slot, output gradient) pairs.
        """
        nodes = self._nodes
        grads = [None] * len(nodes)
        owned = set()  # slots whose gradient buffer was allocated here, safe to add into in place
        for slot, g in seeds:
            _accumulate(grads, owned, slot, _fit(g, nodes[slot].value, "output gradient"))
        keep = set(wanted)
        stop = min(keep) if keep else len(nodes)
        for slot in range(len(nodes) - 1, stop - 1, -1):
            g = grads[slot]
            node = nodes[slot]
            if g is None or node.primitive is None:
                continue
            if slot not in keep:
                grads[slot] = None  # free it as soon as it has been propagated
            parent_grads = node.primitive.vjp(g, node.value, node.needs, *node.args, **node.kwargs)
            for parent, pg in zip(node.parents, parent_grads):
                if parent >= 0 and pg is not None:
                    like = nodes[parent].value
                    if type(pg) is not np.ndarray or pg.shape != like.shape or pg.dtype != like.dtype:
                        pg = _fit(pg, like, node.primitive.name)
                    _accumulate(grads, owned, parent, pg)
        return [grads[slot] for slot in wanted]

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(target)/d(sources), like ``tf.GradientTape.gradient``.

        ``target``: a traced array or a list of them; ``output_gradients`` (default ones) weights
        each target. ``sources``: a traced array, a variable, or a list of them.
        ``unconnected_gradients``: "none" (None for sources the target does not depend on) or
        "zero" (zeros of the source's shape).
        """
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        targets = list(target) if isinstance(target, (list, tuple)) else [target]
        if output_gradients is None:
            output_gradients = [None] * len(targets)
        elif not isinstance(output_gradients, (list, tuple)):
            output_gradients = [output_gradients]
        if len(output_gradients) != len(targets):
            raise ValueError(f"gradient(): {len(targets)} target(s) but {len(output_gradients)} output gradient(s)")
        seeds = []
        for t, g in zip(targets, output_gradients):
            if not isinstance(t, TracedArray):
                continue  # a constant target contributes nothing
            if t._tape is not self:
                raise ValueError("gradient(): the target was traced by another tape")
            seeds.append((t._slot, np.ones_like(t._value) if g is None else _output_gradient(g, t._value)))
        single = not isinstance(sources, (list, tuple))
        source_list = [sources] if single else list(sources)
        slots = [self.slot_of(s) for s in source_list]
        found = self.backward(seeds, [s for s in slots if s is not None])
        by_slot = dict(zip([s for s in slots if s is not None], found))
        results = []
        for source, slot in zip(source_list, slots):
            g = by_slot.get(slot) if slot is not None else None
            if g is None and unconnected_gradients == "zero":
                g = np.zeros(np.shape(source.value), dtype=np.asarray(source.value).dtype)
            results.append(None if g is None else finished_gradient(g, seeds))
        return results[0] if single else results


def _output_gradient(g, value):
    g = np.asarray(g)
    if g.shape != value.shape:
        raise ValueError(f"output gradient of shape {g.shape} does not match the output of shape {value.shape}")
    return g


def finished_gradient(g, seeds):
    """A gradient as handed to callers: a C-contiguous array that does not alias an output gradient."""
    if not g.flags.c_contiguous or any(np.may_share_memory(g, seed) for _, seed in seeds):
        return np.array(g, order="C")
    return g


def _accumulate(grads, owned, slot, g):
    current = grads[slot]
    if current is None:
        grads[slot] = g
    elif slot in owned:
        np.add(current, g, out=current)
    else:
        grads[slot] = current + g
        owned.add(slot)


def _fit(g, like, what):
    """g summed to like's shape and cast to like's dtype (the gradient of a value is shaped like it)."""
    if not isinstance(g, np.ndarray):
        g = np.asarray(g)
    if g.shape != like.shape:
        fitted = unbroadcast(g, like.shape)
        if fitted is None:
            raise RuntimeError(f"internal error in the gradient of {what}: a gradient of shape {g.shape} "
                               f"cannot belong to a value of shape {like.shape}")
        g = fitted
    if g.dtype != like.dtype:
        g = g.astype(like.dtype)
    return g
