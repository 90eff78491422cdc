"""Per-model locks behind the concurrency contract (README, "Threads").

Any number of threads may call `predict`, `predict_on_batch` and `__call__` on one model at
once: the native network runs each call in its own workspace, in parallel, and no lock here is
held while it runs. What these locks serialize is the model's Python-side state:

- `steps`: `fit`, `evaluate`, `train_on_batch` and `test_on_batch` run one at a time on a model,
  since they share its running loss and metric means (reset, accumulated, then read). A second
  thread's `fit` waits for the first to end. Re-entrant, so a callback may call `evaluate`.
- `network`: building or replacing the model's native network (`_native_network`), so a
  `predict` that builds an inference network cannot put it in place of the training network a
  concurrent `fit` has just built.

Weight updates against predictions are the engine's business: its parameter lock
(src/engine/ParameterLock.h) keeps a training step and a prediction from overlapping.

The locks live in the model's `__dict__` (set without `__setattr__`, so no layer tracking sees
them): looking them up costs ~50 ns on train_on_batch's latency path. Pickling and deepcopy go
through the `.keras` archive (Model.__reduce__), so a copy gets locks of its own. The cached
fast path of train_on_batch / test_on_batch (trainers/fast_path.py) holds the `steps` lock itself.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

# A method, its signature kept by the decorator (so type checkers see fit's own arguments).
_Method = TypeVar("_Method", bound=Callable[..., Any])

_table_lock = threading.Lock()
_ATTRIBUTE = "_fastdense_locks"  # {"steps": RLock, "network": RLock}


def lock_of(model, kind):
    """The model's `kind` lock ("steps" or "network"), made on first use."""
    locks = model.__dict__.get(_ATTRIBUTE)
    if locks is None:
        with _table_lock:  # two threads' first calls agree on one set of locks
            locks = model.__dict__.setdefault(_ATTRIBUTE, {"steps": threading.RLock(), "network": threading.RLock()})
    return locks[kind]


def serialized(kind: str) -> Callable[[_Method], _Method]:
    """Decorates a model method to run under the model's `kind` lock ("steps" or "network")."""

    def decorate(method: _Method) -> _Method:
        @functools.wraps(method)
        def locked(self, *args, **kwargs):
            with lock_of(self, kind):
                return method(self, *args, **kwargs)

        return locked  # type: ignore[return-value]  # functools.wraps keeps the signature

    return decorate
