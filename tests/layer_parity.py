"""The layer tests' parity with tf.keras (test_layers_activation.py, test_layers_normalization.py):
one stack of layers trained in both libraries from the same weights and compared in float32, and
configs compared without their generated names.

This module does not import TensorFlow: the tests pass their `keras` fixture in.
"""

import numpy as np

import fastdense

# Float32 tolerance: both libraries evaluate the same float32 formulas, but TensorFlow and Eigen
# order the sums of the matrix products and batch statistics differently (~1e-7 relative per op);
# over 15 optimizer steps this compounds to ~1e-6. 2e-5 is well above that and well below what a
# wrong formula causes (a wrong slope, cap, threshold, biased variance or momentum: 1e-3 or more).
RTOL, ATOL = 2e-5, 2e-5


def sgd(lib):
    return lib.optimizers.SGD(learning_rate=0.05)


def adam(lib):
    return lib.optimizers.Adam(learning_rate=0.01)


def fit_both(keras, make_layers, optimizer, x, y, loss):
    """Fits lib.Sequential([Input, *make_layers(lib)]) in tf.keras and in fastdense, the latter from
    tf's initial weights (3 epochs of batches of 8, no shuffling); returns both models and their
    History dicts (tf.keras first)."""
    models = []
    for lib in (keras, fastdense):
        model = lib.Sequential([lib.Input(x.shape[1:]), *make_layers(lib)])
        model.compile(optimizer=optimizer(lib), loss=loss)
        models.append(model)
    tf_model, fd_model = models
    fd_model.set_weights(tf_model.get_weights())
    histories = [m.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history for m in models]
    return tf_model, fd_model, histories


def assert_same_training(tf_model, fd_model, histories, x):
    """The final weights, the History keys and losses and the predictions on x agree."""
    for theirs, ours in zip(tf_model.get_weights(), fd_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)
    assert list(histories[0]) == list(histories[1])
    np.testing.assert_allclose(histories[1]["loss"], histories[0]["loss"], rtol=RTOL)
    np.testing.assert_allclose(fd_model.predict(x, verbose=0), tf_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL)


def config_without_name(layer):
    """layer.get_config() without the name (generated names differ between layers and libraries)."""
    config = layer.get_config()
    config.pop("name")
    return config
