"""Callbacks shaped like `keras.callbacks` (Keras 3 behaviour).

Contract with the model's loops. `fit` does (as keras/src/backend/tensorflow/trainer.py's fit)::

    callbacks = CallbackList(user_callbacks, add_history=True, add_progbar=verbose != 0,
                             model=model, verbose=verbose, epochs=epochs,
                             steps=steps_per_epoch)          # None when not known in advance
    model.stop_training = False
    callbacks.on_train_begin()
    start = getattr(model, "_initial_epoch", None) or initial_epoch  # set by BackupAndRestore
    for epoch in range(start, epochs):
        callbacks.on_epoch_begin(epoch)
        per_batch = callbacks.batch_hooks_needed("train")
        for each batch (per_batch) or chunk of batches run natively in one call (not per_batch):
            callbacks.on_train_batch_begin(first_step)       # 0-based step within the epoch
            callbacks.on_train_batch_end(last_step, running_means)   # {"loss": .., metrics}
            if model.stop_training: break
        logs = epoch results; if validation is due:
            callbacks.on_test_begin(); per batch/chunk on_test_batch_begin(i) and
            on_test_batch_end(i, running_means); callbacks.on_test_end(val_logs)
            logs.update(("val_" + k, v) for k, v in val_logs.items())
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training: break
    callbacks.on_train_end(last_epoch_logs)                  # None if no epoch ran
    return model.history

`evaluate` builds `CallbackList(cbs, add_progbar=verbose != 0, model=model, verbose=verbose,
epochs=1, steps=n_batches)` and calls on_test_begin(), the test batch hooks, on_test_end(logs);
`predict` likewise with on_predict_begin(), on_predict_batch_end(i, {"outputs": batch_output})
and on_predict_end(). `verbose` may be "auto" (meaning 1).

A model exposes to the built-in callbacks: `stop_training` (a plain attribute), `get_weights()`
(copies) / `set_weights(list)`, `optimizer.learning_rate` (a float property, readable and
assignable), `save(path, overwrite=True)`, `save_weights(path, overwrite=True)`,
`load_weights(path)`, and optionally `built`, `_initial_epoch` (see `BackupAndRestore`) and
`_metric_direction(name)` (see `MonitorCallback`). `CallbackList` sets `model.history`.
"""

from fastdense.callbacks.base import Callback
from fastdense.callbacks.callback_list import CallbackList
from fastdense.callbacks.checkpointing import BackupAndRestore, ModelCheckpoint
from fastdense.callbacks.csv_logger import CSVLogger
from fastdense.callbacks.early_stopping import EarlyStopping
from fastdense.callbacks.history import History
from fastdense.callbacks.lambda_callback import LambdaCallback
from fastdense.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from fastdense.callbacks.monitor import MonitorCallback
from fastdense.callbacks.progbar_logger import ProgbarLogger
from fastdense.callbacks.tensorboard import TensorBoard
from fastdense.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "MonitorCallback",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
