"""`set_random_seed`: one call that makes a training run reproducible."""

import importlib
import importlib.util
import random

import numpy as np


def set_random_seed(seed):
    """Seeds Python's `random`, NumPy's global generator and fastdense's native generator.

    fastdense's own generator (weight initializers, dropout, shuffling) lives in
    `fastdense.random`; it is seeded through `fastdense.random.set_seed(seed)` when that module
    is present.
    """
    if not isinstance(seed, int):
        raise ValueError(
            f"Expected `seed` argument to be an integer. Received: seed={seed} (of type {type(seed)})"
        )
    random.seed(seed)
    np.random.seed(seed)
    # Checked with find_spec rather than by catching ImportError, so that a real error inside
    # fastdense.random is not silently swallowed.
    if importlib.util.find_spec("fastdense.random") is not None:
        importlib.import_module("fastdense.random").set_seed(seed)
