"""The concurrency contract (README, "Threads"; issue 12): any number of threads may call
`predict`, `predict_on_batch`, `__call__` and `evaluate` on one model at once and get exactly
the results of serial calls; `fit`/`train_on_batch` while others predict never give torn
results; two `fit` calls on one model are serialized."""

import concurrent.futures as futures
import threading

import numpy as np
import pytest

from fastdense import layers, models, optimizers

ROWS = (1, 7, 64, 300, 1000)
ROUNDS = 3


def _model(custom=False, dropout=True, seed=0):
    inputs = layers.Input((16,))
    h = layers.Dense(64, activation="relu")(inputs)
    h = layers.BatchNormalization()(h)
    if custom:
        h = _Wave()(h)
    if dropout:
        h = layers.Dropout(0.5)(h)  # identity at inference, must stay so in every workspace
    outputs = layers.Dense(5, activation="softmax")(h)
    model = models.Model(inputs, outputs)
    rng = np.random.default_rng(seed)
    weights = model.get_weights()  # moving variances must stay positive: shift every weight up a little
    model.set_weights([(np.abs(w) + 0.5) * rng.uniform(0.5, 1.5, size=w.shape).astype(np.float32)
                       if w.ndim == 1 else rng.normal(size=w.shape).astype(np.float32) * 0.3 for w in weights])
    return model


class _Wave(layers.Layer):
    """A Python layer: the engine calls back into it (with the GIL) from every workspace."""

    def build(self, input_shape):
        self.a = self.add_weight(name="a", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x + 0.1 * np.sin(x * self.a)


def _inputs(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(rows, 16)).astype(np.float32) for rows in ROWS]


def _run_concurrently(call, arguments, threads=4, rounds=ROUNDS):
    """call(argument) for every argument, `rounds` times over, from `threads` threads at once."""
    start = threading.Barrier(threads)

    def worker(k):  # thread k takes argument i in the rounds r where (i + r) % threads == k
        start.wait()
        return [(i, call(arguments[i])) for r in range(rounds) for i in range(len(arguments))
                if (i + r) % threads == k]

    with futures.ThreadPoolExecutor(threads) as pool:
        return [item for result in pool.map(worker, range(threads)) for item in result]


@pytest.mark.parametrize("custom", [False, True], ids=["native", "with a python layer"])
@pytest.mark.parametrize("method", ["predict", "predict_on_batch", "__call__"])
def test_concurrent_predictions_equal_serial_ones(method, custom):
    model = _model(custom)
    xs = _inputs()
    if method == "predict":
        call = lambda x: model.predict(x, verbose=0)  # noqa: E731
    elif method == "predict_on_batch":
        call = model.predict_on_batch
    else:
        call = lambda x: np.asarray(model(x))  # noqa: E731
    serial = [call(x) for x in xs]
    results = _run_concurrently(call, xs)
    assert len(results) == ROUNDS * len(xs)
    mismatches = [i for i, out in results if not np.array_equal(out, serial[i])]
    assert mismatches == []


def test_concurrent_evaluations_equal_serial_ones():
    model = _model()
    model.compile(optimizers.SGD(0.01), "sparse_categorical_crossentropy", metrics=["accuracy", "AUC"])
    rng = np.random.default_rng(3)
    xs = _inputs()
    data = [(x, rng.integers(0, 5, size=(len(x), 1))) for x in xs]
    evaluate = lambda xy: model.evaluate(*xy, batch_size=50, verbose=0)  # noqa: E731
    serial = [evaluate(xy) for xy in data]
    results = _run_concurrently(evaluate, data)
    assert [i for i, out in results if out != serial[i]] == []


def test_predictions_during_training_see_whole_steps_only():
    model = _model()
    model.compile(optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(4)
    x_train = rng.normal(size=(256, 16)).astype(np.float32)
    y_train = rng.integers(0, 5, size=(256, 1))
    x = _inputs()[2]  # 64 rows
    snapshots = [model.get_weights()]
    seen, done = [], threading.Event()

    def predict_until_done():
        while not done.is_set():
            seen.append(model.predict(x, verbose=0))

    with futures.ThreadPoolExecutor(2) as pool:
        readers = [pool.submit(predict_until_done) for _ in range(2)]
        for step in range(30):
            model.train_on_batch(x_train[step * 8 % 256:][:64], y_train[step * 8 % 256:][:64])
            snapshots.append(model.get_weights())
        done.set()
        for r in readers:
            r.result()
    reference = models.Model.from_config(model.get_config())
    allowed = []
    for weights in snapshots:
        reference.set_weights(weights)
        allowed.append(reference.predict(x, verbose=0))
    assert seen
    torn = [k for k, out in enumerate(seen) if not any(np.array_equal(out, a) for a in allowed)]
    assert torn == []


def test_two_fits_on_one_model_are_serialized():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4000, 16)).astype(np.float32)  # 200 steps an epoch: long enough to overlap
    y = rng.integers(0, 5, size=(4000, 1))
    model, twin = _model(dropout=False, seed=6), _model(dropout=False, seed=6)
    for m in (model, twin):
        m.compile(optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    fit = lambda m: m.fit(x, y, epochs=2, batch_size=20, shuffle=False, verbose=0)  # noqa: E731
    with futures.ThreadPoolExecutor(2) as pool:
        histories = list(pool.map(lambda _: fit(model), range(2)))
    fit(twin)
    fit(twin)
    assert all(len(h.history["loss"]) == 2 for h in histories)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), twin.get_weights()))
    assert model.optimizer.iterations == 800


def test_first_predictions_racing_the_first_fit_leave_training_intact():
    """Predictions that build the inference network while `fit` builds the training network
    (trainers/model_locks.py's `network` lock): the fit trains exactly as alone, and the model
    predicts with the trained weights afterwards."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 16)).astype(np.float32)
    y = rng.integers(0, 5, size=(400, 1))
    model, twin = _model(dropout=False, seed=8), _model(dropout=False, seed=8)
    for m in (model, twin):
        m.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    start, done = threading.Barrier(3), threading.Event()

    def predict_until_done():
        start.wait()
        calls = 0
        while not done.is_set() or calls == 0:
            model.predict(x[:7], verbose=0)
            calls += 1
        return calls

    def fit():
        start.wait()
        try:
            return model.fit(x, y, epochs=2, batch_size=20, shuffle=False, verbose=0)
        finally:
            done.set()

    with futures.ThreadPoolExecutor(3) as pool:
        readers = [pool.submit(predict_until_done) for _ in range(2)]
        history = pool.submit(fit).result()
        assert all(r.result() > 0 for r in readers)
    twin_history = twin.fit(x, y, epochs=2, batch_size=20, shuffle=False, verbose=0)
    assert history.history["loss"] == twin_history.history["loss"]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), twin.get_weights()))
    np.testing.assert_array_equal(model.predict(x, verbose=0), twin.predict(x, verbose=0))
