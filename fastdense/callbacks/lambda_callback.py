"""`LambdaCallback`: a callback assembled from plain functions."""

from __future__ import annotations

from typing import Any, Callable

from fastdense.callbacks.base import Callback


class LambdaCallback(Callback):
    """Builds a callback from functions, one per hook.

    Named arguments: `on_epoch_begin(epoch, logs)`, `on_epoch_end(epoch, logs)`,
    `on_train_begin(logs)`, `on_train_end(logs)`, `on_train_batch_begin(batch, logs)`,
    `on_train_batch_end(batch, logs)`. Any other hook goes through `**kwargs` with its hook name,
    e.g. `on_batch_end=...` (the Keras 2 argument) or `on_test_batch_end=...`. Arguments left
    at None keep the default, do-nothing hook.
    """

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_train_batch_begin: Callable[..., Any] | None = None,
        on_train_batch_end: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
            **kwargs,
        )
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)
