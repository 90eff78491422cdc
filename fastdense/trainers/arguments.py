"""Checks of the arguments of compile / fit / evaluate / predict / *_on_batch and of saving and
loading, one function per kind of argument.

Each raises before any work is done: TypeError for a value of the wrong type, ValueError for a
value of the right type out of range (an unknown string, a negative count), the message naming
the argument and what was given. Keras 3 raises for many of these only late, with an unrelated
error (`'int' object has no attribute 'set_model'` for `callbacks=5`), or never: `verbose=7`,
`shuffle="yes"`, `validation_freq=0` or `save(overwrite="no")` are accepted there and do
something nobody asked for. Where Keras raises, the type of its exception is kept
(`metrics="accuracy"` is a ValueError in `keras/src/trainers/compile_utils.py`).

They run on every call, predict's and train_on_batch's included (a few microseconds each):
the common values pass the first `type(...) is` test.
"""

import numbers
import os

import numpy as np


def _given(value):
    return f"{value!r} of type {type(value).__name__}"


def _is_integer(value):
    return type(value) is int or (isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)))


def integer(name, value, minimum=0):
    """An integer count >= minimum (0 or 1); returns it as an int."""
    if not _is_integer(value):
        raise TypeError(f"`{name}` must be an integer, got {_given(value)}")
    if value < minimum:
        kind = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"
        raise ValueError(f"`{name}` must be {kind}, got {value}")
    return int(value)


def optional_count(name, value):
    """None, or a positive integer: batch sizes and step counts."""
    if value is None:
        return None
    if not _is_integer(value):
        raise TypeError(f"`{name}` must be a positive integer or None, got {_given(value)}")
    if value <= 0:
        raise ValueError(f"`{name}` must be a positive integer or None, got {value}")
    return int(value)


def boolean(name, value):
    """True or False (NumPy's bool too); a string such as 'no' is truthy and is refused."""
    if type(value) is bool or isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"`{name}` must be True or False, got {_given(value)}")


def optional_boolean(name, value):
    return None if value is None else boolean(name, value)


def verbosity(value):
    """'auto', 0, 1 or 2 (a bool counts as 0 or 1); returns the level, 'auto' meaning 1."""
    if type(value) is int and 0 <= value <= 2:
        return value
    if isinstance(value, str):
        if value == "auto":
            return 1
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2, got {value!r}")
    if not (_is_integer(value) or isinstance(value, (bool, np.bool_))):
        raise TypeError(f"`verbose` must be 'auto', 0, 1 or 2, got {_given(value)}")
    if not 0 <= value <= 2:
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2, got {value}")
    return int(value)


def fraction(name, value):
    """A real number in [0, 1): validation_split (0 meaning none)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number in [0, 1), got {_given(value)}")
    if not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1), got {value}")
    return float(value)


def choice(name, value, choices, other_types=()):
    """One of the strings `choices`, or a value of one of `other_types` (bool for jit_compile)."""
    if isinstance(value, other_types) and not isinstance(value, str):
        return value
    allowed = ", ".join([repr(c) for c in choices] + [t.__name__ for t in other_types])
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be one of {allowed}, got {_given(value)}")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {allowed}, got {value!r}")
    return value


def shuffle_mode(value):
    """True, False or 'batch' (shuffle within batches, as Keras)."""
    if type(value) is bool:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    return choice("shuffle", value, ("batch",), (bool,))


def validation_frequency(value):
    """A positive integer (validate every n epochs) or a collection of the 1-based epochs to
    validate after."""
    if _is_integer(value):
        return integer("validation_freq", value, minimum=1)
    if isinstance(value, (list, tuple, set, frozenset, range)):
        for epoch in value:
            integer("validation_freq", epoch, minimum=1)
        return value
    raise TypeError(f"`validation_freq` must be a positive integer or a list of epochs, got {_given(value)}")


def container(name, value, kinds=(list, tuple, dict), single=()):
    """None, one of the container `kinds`, or a value of a `single` type (e.g. a number for
    loss_weights). Keras raises ValueError for the others (compile's metrics, loss_weights)."""
    if value is None or isinstance(value, kinds) or (isinstance(value, single) and not isinstance(value, bool)):
        return value
    allowed = ", ".join(k.__name__ for k in kinds + tuple(single))
    raise ValueError(f"`{name}` must be one of {allowed} or None, got {_given(value)}")


def callback_list(value, callback_type):
    """None, a callback, or a (nested) list of callbacks. Keras 3 fails later, in set_model,
    with an AttributeError naming neither the argument nor the value. A callback is an instance
    of `callback_type` or, duck-typed as Keras's CallbackList takes it, anything with a
    `set_model` method (a keras.callbacks.Callback, say)."""
    if value is None or _is_callback(value, callback_type):
        return value
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"`callbacks` must be a list of Callback instances, got {_given(value)}")
    for item in value:
        if isinstance(item, (list, tuple)):
            callback_list(item, callback_type)
        elif not _is_callback(item, callback_type):
            raise TypeError(f"`callbacks` must be a list of Callback instances, got {_given(item)} in the list")
    return value


def _is_callback(value, callback_type):
    return isinstance(value, callback_type) or callable(getattr(value, "set_model", None))


def data(name, value):
    """Arrays, lists, dicts, DataFrames, tensors, generators...: anything but None, a string, bytes
    or a bare Python number (Keras: `Unrecognized data type: x=abc`). Callers skip this for an
    optional argument left None (y, sample_weight)."""
    if value is None or (isinstance(value, (str, bytes, numbers.Number)) and not isinstance(value, np.generic)):
        raise ValueError(f"`{name}` must be array-like data (an array, a list or dict of arrays, a "
                         f"generator or dataset), got {_given(value)}")
    return value


def validation_data(value):
    """A tuple/list (x, y) or (x, y, sample_weight), or a dataset, generator or Sequence."""
    if isinstance(value, (list, tuple)):
        if not 2 <= len(value) <= 3:
            raise ValueError("`validation_data` must be (x, y) or (x, y, sample_weight), got a "
                             f"{type(value).__name__} of {len(value)} items")
        return value
    if isinstance(value, (str, bytes, numbers.Number, np.ndarray, dict)):
        raise ValueError("`validation_data` must be a tuple (x, y) or (x, y, sample_weight), a dataset or a "
                         f"generator, got {_given(value)}")
    return value


def file_path(name, value):
    """A str or os.PathLike; returns the str. Keras raises ValueError for one of another type."""
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str):
            return path
    raise ValueError(f"`{name}` must be a file path (str or os.PathLike), got {_given(value)}")


def mapping(name, value):
    """None or a dict (custom_objects)."""
    if value is None or isinstance(value, dict):
        return value
    raise TypeError(f"`{name}` must be a dict or None, got {_given(value)}")


def optional_size(name, value):
    """None or a positive number (max_shard_size, in GB as Keras). A value of another type is a
    ValueError, as Keras's `float(max_shard_size)` makes it."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"`{name}` must be a positive number or None, got {_given(value)}")
    if not value > 0:
        raise ValueError(f"`{name}` must be a positive number or None, got {value}")
    return value
