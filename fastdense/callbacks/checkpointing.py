"""Callbacks that write the model to disk: `ModelCheckpoint` and `BackupAndRestore`."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np

from fastdense.callbacks.base import Callback
from fastdense.callbacks.monitor import MonitorCallback
from fastdense.utils.io_utils import print_msg


def _check_save_freq(save_freq):
    if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)):
        raise ValueError(
            f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer values"
        )


class _BatchCounter:
    """Counts batches across hook calls that may skip indices, and fires every `freq` of them."""

    def __init__(self, freq):
        self.freq = freq
        self.since_last_save = 0
        self.last_batch = None

    def new_epoch(self):
        self.last_batch = None

    def tick(self, batch):
        """Records that batches up to `batch` (0-based) ran; True when a save is due."""
        if self.last_batch is None or batch <= self.last_batch:
            self.since_last_save += batch + 1  # a new epoch started at batch 0
        else:
            self.since_last_save += batch - self.last_batch
        self.last_batch = batch
        if self.since_last_save >= self.freq:
            self.since_last_save = 0
            return True
        return False


class ModelCheckpoint(MonitorCallback):
    """Saves the model (or its weights) during training.

    Args:
        filepath: a `str.format` template filled with `epoch` (1-based), the epoch logs and, for
            integer `save_freq`, `batch` (1-based), e.g. "ckpt/w.{epoch:02d}-{val_loss:.2f}.keras".
            It must end in ".weights.h5" when `save_weights_only`, else in ".keras" or ".h5".
        monitor, mode: the quantity and direction used by `save_best_only`.
        verbose: 1 prints a message for each save decision.
        save_best_only: save only when `monitor` improves (a missing value warns and saves).
        save_weights_only: call `model.save_weights(path, overwrite=True)` instead of
            `model.save(path, overwrite=True)`.
        save_freq: "epoch", or an integer number of batches between saves.
        initial_value_threshold: the best value to beat at the start.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._current_epoch = 0
        _check_save_freq(save_freq)
        self._batch_counter = _BatchCounter(save_freq) if save_freq != "epoch" else None
        self._check_suffix()

    def _check_suffix(self):
        if self.save_weights_only:
            if not self.filepath.endswith(".weights.h5"):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (Keras weights format). Received: "
                    f"filepath={self.filepath}"
                )
        elif not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). Received: "
                f"filepath={self.filepath}"
            )

    def _uses_batch_hooks(self, mode):
        return mode == "train" and self._batch_counter is not None

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._batch_counter is not None and self._batch_counter.tick(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._ensure_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if os.path.isdir(filepath):
            raise IOError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is "
                f"an existing directory: {filepath}"
            )
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=4)
            return True
        if np.ndim(current) > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                "Falling back to `save_best_only=False`.",
                stacklevel=4,
            )
            return True
        best_text = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False

    def _get_file_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {error}'
            ) from error


class BackupAndRestore(Callback):
    """Backs up the training state so that an interrupted `fit` can resume where it stopped.

    Files in `backup_dir`: "latest.weights.h5" (`model.save_weights`, which is expected to
    include the optimizer state) and "training_metadata.json" (`{"epoch": next epoch to run,
    "batch": last batch seen}`). With `double_checkpoint`, the previous pair is kept with a
    ".bkp" suffix and used when the latest weights cannot be read.

    Contract with the fit loop: `on_train_begin` restores the weights with
    `model.load_weights(path)` and sets `model._initial_epoch` to the epoch to resume at. The fit
    loop must call `on_train_begin` before choosing its first epoch, then start at
    `model._initial_epoch or initial_epoch` (as Keras does). The
    model must be built (`model.built`, when it has that attribute) before `fit` calls the hook.
    `on_train_end` sets `model._initial_epoch` back to None (Keras 3 leaves it set, so a later
    `fit` call would also skip epochs) and deletes `backup_dir` if `delete_checkpoint`.

    Args:
        backup_dir: a directory used only by this callback.
        save_freq: "epoch", or an integer number of batches between backups. A backup made
            mid-epoch resumes at the start of that epoch.
        double_checkpoint: keep the previous backup as a fallback.
        delete_checkpoint: delete `backup_dir` when training finishes.
    """

    def __init__(self, backup_dir: str | os.PathLike[str], save_freq: str | int = "epoch",
                 delete_checkpoint: bool = True, double_checkpoint: bool = False) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        _check_save_freq(save_freq)
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.double_checkpoint = double_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = self._weights_path + ".bkp"
        self._prev_metadata_path = self._metadata_path + ".bkp"
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batch_counter = _BatchCounter(save_freq) if save_freq != "epoch" else None

    def _uses_batch_hooks(self, mode):
        return mode == "train" and self._batch_counter is not None

    def on_train_begin(self, logs=None):
        try:
            self._restore()
        except OSError:
            if not os.path.exists(self._prev_weights_path):
                raise
            self._fall_back_to_previous_backup()
            self._restore()

    def on_train_batch_end(self, batch, logs=None):
        if self._batch_counter is not None and self._batch_counter.tick(batch):
            self._last_batch_seen = batch
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self._batch_counter is not None:
            self._batch_counter.new_epoch()
        if self.save_freq == "epoch":
            self._save()

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)

    def _restore(self):
        if not getattr(self.model, "built", True):
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you call "
                f"`fit()`. Model {self.model} is unbuilt."
            )
        if os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        if os.path.exists(self._metadata_path):
            with open(self._metadata_path) as f:
                self.model._initial_epoch = json.load(f)["epoch"]

    def _fall_back_to_previous_backup(self):
        shutil.copyfile(self._prev_weights_path, self._weights_path)
        if os.path.exists(self._prev_metadata_path):
            shutil.copyfile(self._prev_metadata_path, self._metadata_path)
        elif os.path.exists(self._metadata_path):
            os.remove(self._metadata_path)

    def _save(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for latest, previous in (
                (self._weights_path, self._prev_weights_path),
                (self._metadata_path, self._prev_metadata_path),
            ):
                if os.path.exists(latest):
                    shutil.copyfile(latest, previous)
        self.model.save_weights(self._weights_path, overwrite=True)
        with open(self._metadata_path, "w") as f:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)
