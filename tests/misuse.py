"""Shared by the tests of misuse: a call that must fail before any training work leaves the
weights, the optimizer's step count and the callbacks untouched."""

import numpy as np
import pytest

from fastdense import callbacks


class HookRecorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("on_train_begin")

    def on_test_begin(self, logs=None):
        self.calls.append("on_test_begin")


def assert_nothing_ran(net, before, recorder):
    for a, b in zip(net.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert recorder.calls == []
    if net.optimizer is not None:
        assert net.optimizer.iterations == 0


def fails_cleanly(net, method, exception, match, *args, **kwargs):
    """Calls net.<method>(*args, **kwargs), expecting `exception` and no training work."""
    before = net.get_weights()
    recorder = HookRecorder()
    if method in ("fit", "evaluate", "predict"):
        kwargs.setdefault("verbose", 0)
        kwargs["callbacks"] = [recorder]
    with pytest.raises(exception, match=match):
        getattr(net, method)(*args, **kwargs)
    assert_nothing_ran(net, before, recorder)
