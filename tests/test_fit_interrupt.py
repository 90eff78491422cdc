"""Ctrl-C during fit/evaluate/predict (a KeyboardInterrupt): the progress bar's open line is
ended before the exception propagates, so the traceback starts on its own line, and the model
stays usable. A KeyboardInterrupt raised by a callback stands in for the signal, which Python
delivers the same way between two native calls."""

import io
import sys

import numpy as np
import pytest

import fastdense
from fastdense import callbacks, layers

X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(64, 2)).astype(np.float32)


class TerminalStream(io.StringIO):
    def isatty(self):
        return True


def use_terminal(monkeypatch):
    """stdout as a terminal, where the bar is redrawn in place on one unterminated line."""
    stream = TerminalStream()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    return stream


class InterruptAt(callbacks.Callback):
    """Raises KeyboardInterrupt in the hook named `hook`, at its `index`-th batch or epoch (any
    call when None). Its batch hooks make every batch go through the callbacks."""

    def __init__(self, hook, index=None):
        super().__init__()
        self.hook, self.index = hook, index

    def _maybe_interrupt(self, hook, index=None):
        if hook == self.hook and (self.index is None or index == self.index):
            raise KeyboardInterrupt

    def on_train_begin(self, logs=None):
        self._maybe_interrupt("on_train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self._maybe_interrupt("on_epoch_begin", epoch)

    def on_train_batch_end(self, batch, logs=None):
        self._maybe_interrupt("on_train_batch_end", batch)

    def on_test_batch_end(self, batch, logs=None):
        self._maybe_interrupt("on_test_batch_end", batch)

    def on_predict_batch_end(self, batch, logs=None):
        self._maybe_interrupt("on_predict_batch_end", batch)


def model():
    fastdense.utils.set_random_seed(3)
    net = fastdense.Sequential([fastdense.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(2)])
    net.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return net


def batches():
    for start in range(0, 64, 8):
        yield X[start:start + 8], Y[start:start + 8]


def test_interrupted_fit_ends_the_progress_line_and_the_model_stays_usable(monkeypatch):
    net = model()
    terminal = use_terminal(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, Y, batch_size=8, epochs=3, verbose=1, callbacks=[InterruptAt("on_train_batch_end", 3)])
    output = terminal.getvalue()
    assert "\r" in output and "/8" in output  # the bar was drawn in place before the interrupt...
    assert output.endswith("\n")  # ...and its line is ended
    assert not output.endswith("\n\n")
    steps_done = net.optimizer.iterations
    assert steps_done == 4

    before = net.get_weights()
    history = net.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    assert net.optimizer.iterations == steps_done + 16
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(net.get_weights(), before))
    np.testing.assert_allclose(net.predict(X, verbose=0), net(X), rtol=1e-6)
    assert set(net.evaluate(X, Y, verbose=0, return_dict=True)) == {"loss", "mae"}


@pytest.mark.parametrize("method, hook", [("evaluate", "on_test_batch_end"), ("predict", "on_predict_batch_end")])
def test_interrupted_evaluate_and_predict_end_the_progress_line(monkeypatch, method, hook):
    net = model()
    net.fit(X, Y, verbose=0)
    terminal = use_terminal(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        getattr(net, method)(batches(), verbose=1, callbacks=[InterruptAt(hook, 2)])
    output = terminal.getvalue()
    assert "\r" in output and output.endswith("\n") and not output.endswith("\n\n")


def test_no_blank_line_when_no_bar_line_is_open(monkeypatch):
    """Interrupted before the first batch, or on an epoch's final line, nothing extra is printed."""
    terminal = use_terminal(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        model().fit(X, Y, epochs=2, verbose=1, callbacks=[InterruptAt("on_train_begin")])
    assert terminal.getvalue() == ""

    with pytest.raises(KeyboardInterrupt):
        model().fit(X, Y, epochs=2, verbose=1, callbacks=[InterruptAt("on_epoch_begin", 1)])
    lines = terminal.getvalue().split("\n")
    assert lines[0] == "Epoch 1/2" and "2/2" in lines[-2] and lines[-1] == ""  # the final line ended the epoch


def test_interrupt_without_a_terminal_prints_only_whole_lines(capsys):
    """On a file or pipe only final lines are printed, so there is never an open line to end."""
    with pytest.raises(KeyboardInterrupt):
        model().fit(X, Y, batch_size=8, epochs=2, verbose=1, callbacks=[InterruptAt("on_train_batch_end", 3)])
    assert capsys.readouterr().out == "Epoch 1/2\n"
