"""Progress bar: exact Keras 3 strings on a terminal, final lines only when stdout is a file."""

import io
import re
import sys
import types

import pytest

from fastdense.callbacks import CallbackList, ProgbarLogger
from fastdense.utils import progbar as progbar_module
from fastdense.utils.progbar import Progbar

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BAR = "━"


def strip_ansi(text):
    return ANSI.sub("", text)


class FakeClock:
    """A deterministic time.time(): starts at 1000 s and only moves when told to."""

    def __init__(self, start=1000.0):
        self.now = start

    def time(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class TerminalStream(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar_module, "time", types.SimpleNamespace(time=fake.time))
    return fake


def use_stream(monkeypatch, stream):
    """Points sys.stdout at `stream` for the rest of the test.

    Called from the test body: pytest's output capture re-installs its own sys.stdout after
    fixture setup, so a fixture could not do this.
    """
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.delenv("PYCHARM_HOSTED", raising=False)
    return stream


def use_terminal(monkeypatch):
    return use_stream(monkeypatch, TerminalStream())


def use_logfile(monkeypatch):
    return use_stream(monkeypatch, io.StringIO())  # isatty() is False: a file or a pipe


def redraws(text):
    """Splits terminal output into the successive frames written after each `\\r`."""
    return [frame.rstrip("\b") for frame in text.split("\r")[1:]]


# -- verbose=1 on a terminal -------------------------------------------------------------------


def test_final_line_matches_keras_example(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=2, stateless_metrics=set())
    clock.advance(0.2)
    bar.update(1, [("loss", 0.61), ("mae", 0.66)])
    clock.advance(0.065)
    logs = [("loss", 0.5754), ("mae", 0.6414), ("val_loss", 0.5308), ("val_mae", 0.6094)]
    bar.update(2, logs, finalize=True)

    final = redraws(terminal.getvalue())[-1]
    assert strip_ansi(final) == (
        "2/2 " + BAR * 20 + " 0s 65ms/step - loss: 0.5754 - mae: 0.6414"
        " - val_loss: 0.5308 - val_mae: 0.6094\n"
    )


def test_terminal_output_bytes_and_redraw(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=4, stateless_metrics=set())
    clock.advance(0.5)
    bar.update(1, [("loss", 2.0)])
    clock.advance(0.25)
    bar.update(2, [("loss", 1.5)])
    clock.advance(0.25)
    bar.update(4, [("loss", 1.25)], finalize=True)

    first = (
        "\r\x1b[1m1/4\x1b[0m \x1b[32m" + BAR * 5 + "\x1b[0m\x1b[37m" + BAR * 15 + "\x1b[0m"
        " \x1b[1m1s\x1b[0m 500ms/step - loss: 2.0000"
    )
    # Width of the plain text of the previous frame, erased with backspaces.
    width = len(strip_ansi(first)) - 1
    second = (
        "\b" * width + "\r\x1b[1m2/4\x1b[0m \x1b[32m" + BAR * 10 + "\x1b[0m\x1b[37m" + BAR * 10
        + "\x1b[0m \x1b[1m0s\x1b[0m 250ms/step - loss: 1.5000"
    )
    # Steps 3-4 took 0.25 s together: (1.0 - 0.5) s over the 3 steps after the first.
    final = (
        "\b" * width + "\r\x1b[1m4/4\x1b[0m \x1b[32m" + BAR * 20 + "\x1b[0m\x1b[37m\x1b[0m"
        " \x1b[1m1s\x1b[0m 167ms/step - loss: 1.2500\n"
    )
    assert terminal.getvalue() == first + second + final


def test_eta_before_the_end_and_elapsed_at_the_end(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=10, stateless_metrics=set())
    clock.advance(1.0)
    bar.update(1)
    clock.advance(2.0)  # 2 s/step after the first step: 8 steps left -> 16 s
    bar.update(2)
    assert strip_ansi(redraws(terminal.getvalue())[-1]) == " 2/10 " + BAR * 4 + BAR * 16 + " 16s 2s/step"
    clock.advance(16.0)
    bar.update(10)
    assert strip_ansi(redraws(terminal.getvalue())[-1]) == "10/10 " + BAR * 20 + " 19s 2s/step\n"


def test_counter_is_right_aligned_to_the_target_width(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=120, stateless_metrics=set())
    clock.advance(0.1)
    bar.update(7)
    assert strip_ansi(redraws(terminal.getvalue())[-1]).startswith("  7/120 " + BAR)


@pytest.mark.parametrize(
    "seconds, text",
    [(5.9, "5s"), (60.0, "60s"), (61.0, "1:01"), (3599.0, "59:59"), (3601.0, "1:00:01"), (7322.5, "2:02:02")],
)
def test_eta_formats(seconds, text):
    assert progbar_module._format_eta(seconds) == text


@pytest.mark.parametrize(
    "per_step, text",
    [(0, " 0s/step"), (2.4, " 2s/step"), (1.0, " 1s/step"), (0.065, " 65ms/step"),
     (0.001, " 1ms/step"), (0.000250, " 250us/step")],
)
def test_time_per_step_formats(per_step, text):
    assert progbar_module._format_time(per_step, "step") == text


def test_value_formats_switch_to_scientific_below_1e3(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=1, stateless_metrics=set())
    clock.advance(0.01)
    bar.update(1, [("a", 0.5), ("b", 0.001), ("c", -0.25), ("d", 12345.678), ("e", 0.0)])
    line = strip_ansi(redraws(terminal.getvalue())[-1])
    assert line.endswith(" - a: 0.5000 - b: 1.0000e-03 - c: -0.2500 - d: 12345.6780 - e: 0.0000e+00\n")


def test_redraws_are_throttled_to_the_interval(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=100, stateless_metrics=set())
    for _ in range(10):
        clock.advance(0.03)  # with a redraw at most every 0.05 s, every other update is drawn
        bar.update(bar._seen_so_far + 1)
    assert len(redraws(terminal.getvalue())) == 5


def test_shorter_line_is_padded_over_the_previous_one(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=2, stateless_metrics=set())
    clock.advance(0.1)
    bar.update(1, [("a_long_metric_name", 1.0)])
    previous_width = len(strip_ansi(redraws(terminal.getvalue())[0]))
    bar.target = None  # the next frame ("      2/Unknown ...") is shorter than this one
    clock.advance(0.1)
    bar.update(2, finalize=True)
    final = redraws(terminal.getvalue())[-1]
    assert len(strip_ansi(final).rstrip("\n")) == previous_width
    assert strip_ansi(final).startswith("      2/Unknown 0s 100ms/step - a_long_metric_name: 1.0000")


def test_default_progbar_averages_values_weighted_by_steps(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=10)
    clock.advance(0.1)
    bar.update(2, [("loss", 1.0), ("acc", 0.5)])  # covers 2 steps
    clock.advance(0.1)
    bar.update(3, [("loss", 4.0), ("acc", 0.8)])  # covers 1 step
    line = strip_ansi(redraws(terminal.getvalue())[-1])
    assert line.endswith(f" - loss: {(2 * 1.0 + 4.0) / 3:.4f} - acc: {(2 * 0.5 + 0.8) / 3:.4f}")


def test_stateful_metrics_are_shown_as_given(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=10, stateful_metrics=["acc"])
    clock.advance(0.1)
    bar.update(1, [("loss", 1.0), ("acc", 0.5)])
    clock.advance(0.1)
    bar.update(2, [("loss", 3.0), ("acc", 0.75)])
    assert strip_ansi(redraws(terminal.getvalue())[-1]).endswith(" - loss: 2.0000 - acc: 0.7500")


def test_stateful_and_stateless_together_is_an_error():
    with pytest.raises(ValueError, match="Only one of"):
        Progbar(target=1, stateful_metrics=["a"], stateless_metrics=["b"])


def test_verbose_0_prints_nothing(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=2, verbose=0)
    bar.update(1, [("loss", 1.0)])
    bar.update(2, [("loss", 1.0)])
    assert terminal.getvalue() == ""


# -- verbose=2 --------------------------------------------------------------------------------


def test_verbose_2_prints_one_line_at_the_end(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=3, verbose=2, stateless_metrics=set())
    clock.advance(0.4)
    bar.update(1)
    clock.advance(0.3)
    bar.update(2)
    assert terminal.getvalue() == ""
    clock.advance(0.296)
    logs = [("accuracy", 0.55), ("loss", 0.7058), ("mae", 0.4918), ("val_accuracy", 0.6)]
    bar.update(3, logs, finalize=True)
    # Elapsed 0.996 s -> "1s"; (0.996 - 0.4) / 2 = 298 ms per step.
    assert terminal.getvalue() == (
        "3/3 - 1s - 298ms/step - accuracy: 0.5500 - loss: 0.7058 - mae: 0.4918"
        " - val_accuracy: 0.6000\n"
    )


def test_verbose_2_prints_negative_values_in_scientific_notation(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    bar = Progbar(target=1, verbose=2, stateless_metrics=set())
    clock.advance(0.01)
    bar.update(1, [("cosine", -0.5), ("loss", 0.25)], finalize=True)
    assert terminal.getvalue().endswith(" - cosine: -5.0000e-01 - loss: 0.2500\n")


# -- not a terminal ---------------------------------------------------------------------------


def test_log_file_gets_only_the_final_plain_line(clock, monkeypatch):
    logfile = use_logfile(monkeypatch)
    bar = Progbar(target=3, stateless_metrics=set())
    for step in (1, 2):
        clock.advance(1.0)
        bar.update(step, [("loss", 1.0 / step)])
    assert logfile.getvalue() == ""
    clock.advance(1.0)
    bar.update(3, [("loss", 0.25)], finalize=True)
    assert logfile.getvalue() == "3/3 " + BAR * 20 + " 3s 1s/step - loss: 0.2500\n"


def test_jupyter_counts_as_an_interactive_display(monkeypatch, clock):
    logfile = use_logfile(monkeypatch)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    bar = Progbar(target=2, stateless_metrics=set())
    clock.advance(0.1)
    bar.update(1)
    assert logfile.getvalue().startswith("\r\x1b[1m1/2\x1b[0m ")


def test_stream_that_cannot_encode_the_bar_gets_equals_signs(monkeypatch, clock):
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", stream)
    bar = Progbar(target=1, stateless_metrics=set())
    clock.advance(0.01)
    bar.update(1, [("loss", 0.5)])
    stream.flush()
    assert raw.getvalue().decode("ascii") == "1/1 " + "=" * 20 + " 0s 10ms/step - loss: 0.5000\n"


# -- ProgbarLogger -----------------------------------------------------------------------------


def run_epochs(callbacks, epochs, steps_seen, target, clock, val_logs=None):
    """Drives a CallbackList like fit does; `steps_seen` are the batch indices reported."""
    callbacks.on_train_begin()
    for epoch in range(epochs):
        callbacks.on_epoch_begin(epoch)
        for step in steps_seen:
            clock.advance(0.1)
            callbacks.on_train_batch_end(step, {"loss": 1.0 / (step + 1)})
        logs = {"loss": 0.5}
        if val_logs:
            callbacks.on_test_begin()
            callbacks.on_test_batch_end(0, val_logs)
            callbacks.on_test_end(val_logs)
            logs.update({"val_" + k: v for k, v in val_logs.items()})
        callbacks.on_epoch_end(epoch, logs)
    callbacks.on_train_end(logs)


def test_progbar_logger_with_chunked_steps_on_a_log_file(clock, monkeypatch):
    logfile = use_logfile(monkeypatch)
    callbacks = CallbackList(add_progbar=True, verbose=1, epochs=2, steps=10)
    run_epochs(callbacks, 2, steps_seen=[3, 7, 9], target=10, clock=clock, val_logs={"loss": 0.75})
    # 0.3 s for 10 steps: the first step cannot be excluded, it was never reported alone.
    line = "10/10 " + BAR * 20 + " 0s 30ms/step - loss: 0.5000 - val_loss: 0.7500\n"
    assert logfile.getvalue() == f"Epoch 1/2\n{line}Epoch 2/2\n{line}"


def test_progbar_logger_chunked_steps_on_a_terminal(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    callbacks = CallbackList(add_progbar=True, verbose=1, epochs=1, steps=10)
    run_epochs(callbacks, 1, steps_seen=[4, 9], target=10, clock=clock)
    frames = [strip_ansi(f) for f in redraws(terminal.getvalue())]
    # No "Epoch 1/1" line for a single epoch; the bar jumps from 5/10 to the end.
    assert not terminal.getvalue().startswith("Epoch")
    assert frames[0] == " 5/10 " + BAR * 10 + BAR * 10 + " 0s 20ms/step - loss: 0.2000"
    assert frames[-1] == "10/10 " + BAR * 20 + " 0s 20ms/step - loss: 0.5000\n"


def test_progbar_logger_learns_an_unknown_step_count(clock, monkeypatch):
    logfile = use_logfile(monkeypatch)
    callbacks = CallbackList(add_progbar=True, verbose=1, epochs=2, steps=None)
    run_epochs(callbacks, 2, steps_seen=[0, 1, 2], target=None, clock=clock)
    lines = logfile.getvalue().splitlines()
    assert lines[1] == "3/3 " + BAR * 20 + " 0s 100ms/step - loss: 0.5000"
    assert lines[3] == lines[1]


def test_progbar_logger_unknown_steps_on_a_terminal_shows_unknown(clock, monkeypatch):
    terminal = use_terminal(monkeypatch)
    callbacks = CallbackList(add_progbar=True, verbose=1, epochs=1, steps=None)
    run_epochs(callbacks, 1, steps_seen=[0, 1], target=None, clock=clock)
    frames = [strip_ansi(f) for f in redraws(terminal.getvalue())]
    assert frames[0] == "      1/Unknown 0s 100ms/step - loss: 1.0000"
    assert frames[-1] == "2/2 " + BAR * 20 + " 0s 100ms/step - loss: 0.5000\n"


def test_progbar_logger_verbose_2(clock, monkeypatch):
    logfile = use_logfile(monkeypatch)
    callbacks = CallbackList(add_progbar=True, verbose=2, epochs=2, steps=3)
    run_epochs(callbacks, 2, steps_seen=[0, 1, 2], target=3, clock=clock, val_logs={"loss": 0.75})
    line = "3/3 - 0s - 100ms/step - loss: 0.5000 - val_loss: 0.7500\n"
    assert logfile.getvalue() == f"Epoch 1/2\n{line}Epoch 2/2\n{line}"


def test_progbar_logger_evaluate_and_predict(clock, monkeypatch):
    logfile = use_logfile(monkeypatch)
    evaluate = CallbackList(add_progbar=True, verbose=1, epochs=1, steps=2)
    evaluate.on_test_begin()
    evaluate.on_test_batch_end(1, {"loss": 0.3, "mae": 0.2})
    evaluate.on_test_end({"loss": 0.25, "mae": 0.125})
    predict = CallbackList(add_progbar=True, verbose=1, epochs=1, steps=2)
    predict.on_predict_begin()
    clock.advance(0.02)
    predict.on_predict_batch_end(1, {"outputs": [[1.0], [2.0]]})
    predict.on_predict_end()
    assert logfile.getvalue() == (
        "2/2 " + BAR * 20 + " 0s 0s/step - loss: 0.2500 - mae: 0.1250\n"
        "2/2 " + BAR * 20 + " 0s 10ms/step\n"
    )


def test_progbar_logger_verbose_auto_means_1():
    logger = ProgbarLogger()
    logger.set_params({"verbose": "auto", "epochs": 3, "steps": 7})
    assert (logger.verbose, logger.epochs, logger.target) == (1, 3, 7)


# -- parity with keras.utils.Progbar -----------------------------------------------------------


def drive(bar_class, module, monkeypatch, script, **kwargs):
    clock = FakeClock()
    stream = TerminalStream()
    monkeypatch.setattr(module, "time", types.SimpleNamespace(time=clock.time))
    monkeypatch.setattr(sys, "stdout", stream)
    bar = bar_class(**kwargs)
    for dt, current, values, finalize in script:
        clock.advance(dt)
        bar.update(current, values, finalize=finalize)
    return stream.getvalue()


PARITY_SCRIPT = [
    (0.3, 1, [("loss", 1.5), ("mae", 0.002)], None),
    (0.01, 2, [("loss", 1.25), ("mae", 0.0009)], None),  # throttled
    (0.2, 5, [("loss", 1.0), ("mae", -0.5)], None),
    (75.0, 11, [("loss", 0.75), ("mae", 0.25)], None),
    (0.4, 12, [("loss", 0.5), ("mae", 0.125), ("val_loss", 0.625)], True),
]


@pytest.mark.parametrize("verbose", [1, 2])
@pytest.mark.parametrize("metric_kwargs", [{"stateless_metrics": set()}, {}, {"stateful_metrics": ["mae"]}])
def test_identical_output_to_keras_progbar(keras, monkeypatch, verbose, metric_kwargs):
    from keras.src.utils import progbar as keras_progbar_module

    kwargs = dict(target=12, verbose=verbose, **metric_kwargs)
    ours = drive(Progbar, progbar_module, monkeypatch, PARITY_SCRIPT, **kwargs)
    theirs = drive(keras.utils.Progbar, keras_progbar_module, monkeypatch, PARITY_SCRIPT, **kwargs)
    assert ours == theirs
    assert ours  # the script does print something


def test_identical_output_to_keras_progbar_logger(keras, monkeypatch):
    from keras.src.utils import progbar as keras_progbar_module

    def run(logger, module):
        clock = FakeClock()
        stream = TerminalStream()
        monkeypatch.setattr(module, "time", types.SimpleNamespace(time=clock.time))
        monkeypatch.setattr(sys, "stdout", stream)
        logger.set_params({"verbose": 1, "epochs": 2, "steps": None})
        logger.on_train_begin()
        for epoch in range(2):
            logger.on_epoch_begin(epoch)
            for step in (0, 2, 5):
                clock.advance(0.07 * (step + 1))
                logger.on_train_batch_end(step, {"loss": 1.0 / (step + 1)})
            logger.on_test_begin()
            logger.on_test_batch_end(0, {"loss": 9.0})
            logger.on_test_end({"loss": 0.3})
            logger.on_epoch_end(epoch, {"loss": 0.2, "val_loss": 0.3})
        return stream.getvalue()

    ours = run(ProgbarLogger(), progbar_module)
    theirs = run(keras.callbacks.ProgbarLogger(), keras_progbar_module)
    assert ours == theirs
