"""Denormal floats: the engine flushes them to zero as TensorFlow does (engine/FlushDenormals.h),
and gives the calling thread its own floating-point mode back afterwards."""

import threading

import numpy as np

from fastdense import layers, models, optimizers

TINY = np.float32(1e-39)  # below float32's smallest normal number, 1.18e-38


def identity_model():
    model = models.Sequential([layers.Input((1,)), layers.Dense(1, use_bias=False)])
    model.set_weights([np.ones((1, 1), np.float32)])
    return model


def test_predict_reads_and_writes_denormals_as_zero_like_tensorflow(tf, keras):
    x = np.array([[TINY], [2.0]], np.float32)
    reference = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    reference.set_weights([np.ones((1, 1), np.float32)])
    expected = reference.predict(x, verbose=0)
    assert expected[0, 0] == 0.0  # TensorFlow flushes: this is the behaviour matched
    np.testing.assert_array_equal(identity_model().predict(x, verbose=0), expected)


def test_training_flushes_updates_that_would_be_denormal():
    # SGD's step lr * gradient = 1e-3 * 1e-36 is denormal: flushed, the weight stays exactly 0 —
    # as tf.keras leaves it (its kernels run with FTZ/DAZ).
    model = models.Sequential([layers.Input((1,)), layers.Dense(1, use_bias=False)])
    model.set_weights([np.zeros((1, 1), np.float32)])
    model.compile(optimizer=optimizers.SGD(1e-3), loss="mse")
    x = np.ones((1, 1), np.float32)
    y = np.full((1, 1), 5e-37, np.float32)  # mse gradient 2 * (0 - y) = -1e-36
    model.train_on_batch(x, y)
    assert model.get_weights()[0][0, 0] == 0.0
    # NumPy on this thread, after the engine: denormals again (the thread's mode restored).
    assert np.float32(1e-3) * np.float32(-1e-36) != 0.0


def test_calling_threads_keep_their_mode_after_engine_calls():
    model = identity_model()
    x = np.ones((64, 1), np.float32)
    results = []

    def use_engine_then_numpy():
        model.predict(x, verbose=0)
        model(x)
        results.append(float(TINY * np.float32(1.0)))

    threads = [threading.Thread(target=use_engine_then_numpy) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    use_engine_then_numpy()
    assert results == [float(TINY)] * 5

