"""`CallbackList`: forwards every hook to a list of callbacks."""

import numpy as np

from fastdense.callbacks.base import BATCH_HOOKS, Callback
from fastdense.callbacks.history import History
from fastdense.callbacks.progbar_logger import ProgbarLogger


class CallbackList(Callback):
    """Calls each hook on every callback, in order, with one shared logs dict.

    Args:
        callbacks: a (possibly nested) list of `Callback`s.
        add_history: append a `History` unless the list already has one.
        add_progbar: append a `ProgbarLogger` (after the History) unless the list has one.
        model: the model; set on every callback, and `model.history` is set to the History.
        **params: the run parameters given to every callback's `set_params`; `fit` passes
            `verbose`, `epochs` and `steps` (steps per epoch, or None when unknown).

    Before each hook the logs are turned into a new dict with nested dicts flattened, values
    converted to Python floats where possible, and keys sorted (Keras >= 3.7 order); that one
    dict is passed to every callback, so additions made by one callback (such as
    `learning_rate`) are seen by the ones after it, e.g. History and the progress bar.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = _flatten(callbacks) if callbacks else []
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.set_model(model)
        self.set_params(params)

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def batch_hooks_needed(self, mode):
        """Whether some callback must see every batch of `mode` ("train", "test" or "predict").

        Each callback answers through `Callback._uses_batch_hooks(mode)`: History and
        ProgbarLogger do not need every batch (the bar is drawn correctly from the last batch of
        each chunk). When this is False the model may run many batches in one native call and
        report only the last index of each chunk.
        """
        if mode not in BATCH_HOOKS:
            raise ValueError(f"mode must be 'train', 'test' or 'predict'; received {mode!r}")
        return any(_uses_batch_hooks(callback, mode) for callback in self.callbacks)

    def _dispatch(self, hook, *args, logs):
        logs = pythonify_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def _dispatch_batch(self, hook, batch, logs):
        logs = pythonify_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._dispatch("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._dispatch("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._dispatch("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._dispatch("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._dispatch("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._dispatch("on_predict_end", logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._dispatch("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._dispatch("on_epoch_end", epoch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_batch_end", batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._dispatch_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._dispatch_batch("on_predict_batch_end", batch, logs)


def pythonify_logs(logs):
    """A new dict of `logs`: nested dicts flattened, keys sorted, numbers as Python floats."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        result[key] = _as_float_if_scalar(value)
    return result


def _uses_batch_hooks(callback, mode):
    ask = getattr(callback, "_uses_batch_hooks", None)
    return True if ask is None else ask(mode)  # a foreign callback class: assume it does


def _flatten(callbacks):
    if isinstance(callbacks, (list, tuple)):
        return [cb for item in callbacks for cb in _flatten(item)]
    return [callbacks]


def _as_float_if_scalar(value):
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return value  # e.g. predict outputs, even a single-sample batch
    try:
        return float(value)
    except (TypeError, ValueError):
        return value  # strings and other non-numeric entries pass through
