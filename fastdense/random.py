"""The global random generator behind every unseeded fastdense object.

Unseeded initializers draw their own seed from here when they are created (as Keras 3 draws
them from Python's `random`), so `set_seed(s)` before building a model makes its initial
weights reproducible. `fastdense.utils.set_random_seed` calls `set_seed`.
"""

import numpy as np

_generator = np.random.default_rng()


def global_generator():
    """The current global np.random.Generator (replaced by set_seed: do not keep a reference)."""
    return _generator


def set_seed(seed):
    """Restarts the global generator from `seed` (an int >= 0, or None for fresh entropy)."""
    global _generator
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    _generator = np.random.default_rng(seed)


def make_default_seed():
    """A fresh seed for an object created without one (same range as Keras: 1 to 1e9)."""
    return int(_generator.integers(1, 10**9, endpoint=True))
