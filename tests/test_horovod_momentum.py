"""Horovod's momentum_correction (horovod/_keras/callbacks.py): when a schedule or warmup
callback changes the learning rate from old_lr to new_lr, the optimizer steps that batch with
momentum · new_lr / old_lr and gets its momentum back after the batch. The values are checked
against that formula batch by batch, and the trained weights against a NumPy SGD with the same
per-step rates and momenta."""

import numpy as np
import pytest

import fastdense as fd
import fastdense.horovod as hvd
from fastdense.horovod import process_group, runtime


@pytest.fixture
def group_of_four(monkeypatch):
    """A one-process group that reports size 4: the warmup's multiplier then changes per batch."""
    for name in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        monkeypatch.delenv(name, raising=False)
    group = process_group.LocalGroup()
    group.size = 4
    monkeypatch.setattr(runtime, "_group", group)
    yield
    hvd.shutdown()


class RecordSteps(fd.callbacks.Callback):
    """The rate and momentum each step runs with (after the schedule callback adjusted them),
    and the momentum once the batch has ended."""

    def __init__(self):
        super().__init__()
        self.rates, self.momenta, self.momenta_after = [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))
        self.momenta.append(self.model.optimizer.momentum)

    def on_train_batch_end(self, batch, logs=None):
        self.momenta_after.append(self.model.optimizer.momentum)


def _linear_model(learning_rate, momentum, nesterov=False):
    fd.utils.set_random_seed(1)
    model = fd.Sequential([fd.Input((3,)), fd.layers.Dense(1)])
    model.compile(optimizer=fd.optimizers.SGD(learning_rate, momentum=momentum, nesterov=nesterov), loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)


def _numpy_sgd(weights, x, y, batch, rates, momenta, nesterov=False):
    """Keras 3's SGD on a linear model with mean squared error, batches in order."""
    w, b = (np.array(v, np.float64) for v in weights)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    steps_per_epoch = len(x) // batch
    for step, (rate, mu) in enumerate(zip(rates, momenta)):
        rows = slice((step % steps_per_epoch) * batch, (step % steps_per_epoch + 1) * batch)
        xb, yb = x[rows].astype(np.float64), y[rows].astype(np.float64)
        error = xb @ w + b - yb
        gw, gb = 2 * xb.T @ error / len(xb), 2 * error.sum(axis=0) / len(xb)
        vw, vb = mu * vw - rate * gw, mu * vb - rate * gb
        if nesterov:
            w, b = w + mu * vw - rate * gw, b + mu * vb - rate * gb
        else:
            w, b = w + vw, b + vb
    return w, b


@pytest.mark.parametrize("nesterov", [False, True])
def test_warmup_corrects_the_momentum_of_each_step_as_horovod_does(group_of_four, nesterov):
    x, y = _data()
    model = _linear_model(0.05, 0.9, nesterov)
    initial = model.get_weights()
    record = RecordSteps()
    warmup = hvd.callbacks.LearningRateWarmupCallback(initial_lr=0.08, warmup_epochs=2)
    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[warmup, record])

    steps = 4
    expected_rates = [0.08 / 4 * ((i / steps + 1 / steps) * 3 / 2 + 1) for i in range(2 * steps)]
    np.testing.assert_allclose(record.rates[:2 * steps], expected_rates, rtol=1e-6)
    # new_lr is the schedule's value, old_lr the optimizer's (float32, as in Horovod's get_value);
    # the first step starts from the compiled rate.
    previous = [float(np.float32(0.05))] + record.rates[:2 * steps - 1]
    expected_momenta = [0.9 * new / old for new, old in zip(expected_rates, previous)]
    np.testing.assert_allclose(record.momenta[:2 * steps], expected_momenta, rtol=1e-12)
    assert record.momenta[0] == pytest.approx(0.9 * 0.08 / 4 * (1 / 4 * 3 / 2 + 1) / 0.05)
    assert record.momenta[2 * steps:] == [0.9] * steps  # after the warmup: no change, no correction
    assert record.momenta_after == [0.9] * (3 * steps)  # restored after every batch

    w, b = _numpy_sgd(initial, x, y, 4, record.rates, record.momenta, nesterov)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)


def test_a_staircase_decay_corrects_the_first_step_of_each_epoch(group_of_four):
    x, y = _data()
    model = _linear_model(0.02, 0.5)
    initial = model.get_weights()
    record = RecordSteps()
    # A constant multiplier is Horovod's exponential decay: 0.02 · 3 ** (epoch − 1) from epoch 1.
    schedule = hvd.callbacks.LearningRateScheduleCallback(initial_lr=0.02, multiplier=3, start_epoch=1)
    model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0, callbacks=[schedule, record])

    np.testing.assert_allclose(record.rates, [0.02] * 4 + [0.06] * 2 + [0.18] * 2, rtol=1e-6)
    # Epoch 1 keeps the rate (0.02 · 3 ** 0); epochs 2 and 3 triple it: momentum 0.5 · 3 = 1.5
    # for their first step (above Keras's constructor limit of 1, which Keras does not apply later).
    np.testing.assert_allclose(record.momenta, [0.5] * 4 + [1.5, 0.5] * 2, rtol=1e-6)
    assert record.momenta_after == [0.5] * 8
    w, b = _numpy_sgd(initial, x, y, 8, record.rates, record.momenta)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="between"):
        fd.optimizers.SGD(0.1, momentum=1.5)  # the constructor still checks


def test_without_momentum_correction_the_momentum_stays(group_of_four):
    x, y = _data()
    model = _linear_model(0.05, 0.9)
    record = RecordSteps()
    warmup = hvd.callbacks.LearningRateWarmupCallback(initial_lr=0.08, warmup_epochs=1, momentum_correction=False)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[warmup, record])
    assert record.momenta == [0.9] * 4 and len(set(record.rates)) == 4


def test_optimizers_without_momentum_and_a_zero_momentum_are_left_alone(group_of_four):
    x, y = _data()
    for optimizer in (fd.optimizers.Adam(0.01), fd.optimizers.SGD(0.01)):
        model = fd.Sequential([fd.Input((3,)), fd.layers.Dense(1)])
        model.compile(optimizer=optimizer, loss="mse")
        warmup = hvd.callbacks.LearningRateWarmupCallback(initial_lr=0.02, warmup_epochs=1)
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[warmup])
        assert getattr(model.optimizer, "momentum", 0.0) == 0.0
