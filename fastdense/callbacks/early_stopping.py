"""`EarlyStopping`: stop training when a monitored quantity stops improving."""

from __future__ import annotations

import warnings

from fastdense.callbacks.monitor import MonitorCallback
from fastdense.utils.io_utils import print_msg


class EarlyStopping(MonitorCallback):
    """Sets `model.stop_training` once `monitor` has not improved for `patience` epochs.

    Args:
        monitor: the log key to watch.
        min_delta: a change smaller than |min_delta| does not count as an improvement.
        patience: epochs without improvement before stopping (never at epoch 0).
        verbose: 1 prints "Epoch N: early stopping" and the weight restoration message.
        mode: "auto", "min" or "max" (see `MonitorCallback` for how "auto" decides).
        baseline: the patience counter is reset only by values that also beat the baseline,
            so training stops after `patience` epochs unless the baseline is beaten.
        restore_best_weights: keep a copy of the weights of the best epoch and put it back at
            the end of training (Keras 3: whenever a copy was taken, whether or not training
            stopped early). Uses `model.get_weights()` / `model.set_weights()`.
        start_from_epoch: epochs before this one are ignored entirely (warm-up).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()  # the same instance may serve several fit() calls

    def on_epoch_end(self, epoch, logs=None):
        self._ensure_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Whatever happens next, there is a best epoch to go back to.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(
                    f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=3,
            )
        return value
