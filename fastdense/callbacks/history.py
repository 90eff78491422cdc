"""`History`: records every epoch's logs; `fit` returns it."""

from __future__ import annotations

from typing import Any

from fastdense.callbacks.base import Callback


class History(Callback):
    """Collects the epoch logs into `history` (a dict of lists) and the epoch indices into `epoch`.

    `params` holds `{"verbose", "epochs", "steps"}`. It is attached to the model as
    `model.history` (refreshed after every epoch). Added automatically by `fit`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self
