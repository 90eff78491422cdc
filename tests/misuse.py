"""Shared by the tests of misuse: a call that must fail before any training work leaves the
weights, the optimizer's step count and the callbacks untouched."""

import numpy as np
import pytest

from fastdense import callbacks


class HookRecorder(callbacks.Callback):
    """Records which of fit's, evaluate's and predict's begin hooks ran (those named in `hooks`)."""

    def __init__(self, hooks=("on_train_begin", "on_test_begin", "on_predict_begin")):
        super().__init__()
        self.hooks = hooks
        self.calls = []

    def _record(self, hook):
        if hook in self.hooks:
            self.calls.append(hook)

    def on_train_begin(self, logs=None):
        self._record("on_train_begin")

    def on_test_begin(self, logs=None):
        self._record("on_test_begin")

    def on_predict_begin(self, logs=None):
        self._record("on_predict_begin")


def assert_nothing_ran(net, before, recorder):
    for a, b in zip(net.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert recorder.calls == []
    if net.optimizer is not None:
        assert net.optimizer.iterations == 0


def fails_cleanly(net, method, exception, match, *args, **kwargs):
    """Calls net.<method>(*args, **kwargs), expecting `exception` and no training work."""
    before = net.get_weights()
    # predict finds wrong data in its first batch, after on_predict_begin, as Keras's predict
    # does (keras/src/backend/tensorflow/trainer.py): only training and evaluation are checked
    # to fail before their begin hook.
    recorder = HookRecorder(hooks=("on_train_begin", "on_test_begin"))
    if method in ("fit", "evaluate", "predict"):
        kwargs.setdefault("verbose", 0)
        kwargs["callbacks"] = [recorder]
    with pytest.raises(exception, match=match):
        getattr(net, method)(*args, **kwargs)
    assert_nothing_ran(net, before, recorder)
