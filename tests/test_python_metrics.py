"""Metrics that run in Python during fit/evaluate (AUC, Precision, Recall, R2Score, user functions):
History and evaluate() against tf.keras on the same data, weights and initial weights, and
against metrics computed here from the model's predictions; Network.last_batch()."""

import numpy as np
import pytest

import fastdense as fd
from fastdense import metrics

RTOL = 1e-4


def half_squared_error(y_true, y_pred):
    """A user metric written with operators only, so the same function runs in both libraries."""
    return (y_pred - y_true) ** 2 * 0.5


def _data(rows=70, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype(np.float32)
    y = (x[:, :1] + rng.normal(scale=1.5, size=(rows, 1)) > 0).astype(np.float32)
    weight = rng.uniform(0.2, 2.0, size=rows).astype(np.float32)
    return x, y, weight


def _twin_models(keras, build):
    """The same architecture in both libraries, with Keras's initial weights copied over."""
    reference, ours = build(keras), build(fd)
    ours.set_weights(reference.get_weights())
    return reference, ours


def _binary_classifier(lib):
    return lib.Sequential([lib.Input((4,)), lib.layers.Dense(5, activation="tanh"),
                           lib.layers.Dense(1, activation="sigmoid")])


def _assert_same_logs(expected, actual):
    assert sorted(expected) == sorted(actual)
    for key in expected:
        np.testing.assert_allclose(np.asarray(actual[key], dtype=np.float64), np.asarray(expected[key]),
                                   rtol=RTOL, atol=1e-6, err_msg=key)


def test_fit_history_matches_keras_with_python_metrics(keras):
    x, y, weight = _data()
    reference, ours = _twin_models(keras, _binary_classifier)
    for lib, model in ((keras, reference), (fd, ours)):
        model.compile(lib.optimizers.SGD(0.1), "binary_crossentropy",
                      metrics=["auc", lib.metrics.Precision(name="prec"), half_squared_error, lib.metrics.R2Score(),
                               lib.metrics.AUC(curve="PR", name="pr_auc"), "accuracy"],
                      weighted_metrics=[lib.metrics.Recall(thresholds=0.4, name="recall"), "auc"])
    kwargs = dict(sample_weight=weight, batch_size=16, epochs=3, verbose=0, shuffle=False, validation_split=0.2)
    expected = reference.fit(x, y, **kwargs).history
    actual = ours.fit(x, y, **kwargs).history
    assert "weighted_auc" in actual and "val_half_squared_error" in actual
    _assert_same_logs(expected, actual)
    _assert_same_logs(reference.evaluate(x, y, sample_weight=weight, verbose=0, return_dict=True),
                      ours.evaluate(x, y, sample_weight=weight, verbose=0, return_dict=True))


def test_evaluate_list_is_in_compile_order(keras):
    x, y, weight = _data(seed=11)
    reference, ours = _twin_models(keras, _binary_classifier)
    for lib, model in ((keras, reference), (fd, ours)):
        model.compile("sgd", "binary_crossentropy", metrics=[lib.metrics.Recall(name="r"), "auc", half_squared_error,
                                                             "mae"], weighted_metrics=[lib.metrics.Precision(name="p")])
    np.testing.assert_allclose(ours.evaluate(x, y, sample_weight=weight, verbose=0),
                               reference.evaluate(x, y, sample_weight=weight, verbose=0), rtol=RTOL)


def test_numpy_metric_function_matches_keras_run_eagerly(keras):
    def mean_abs_np(y_true, y_pred):
        return np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred)), axis=-1)

    x, y, _ = _data(seed=1)
    reference, ours = _twin_models(keras, _binary_classifier)
    reference.compile(keras.optimizers.Adam(0.01), "mse", metrics=[mean_abs_np], run_eagerly=True)
    ours.compile(fd.optimizers.Adam(0.01), "mse", metrics=[mean_abs_np])
    expected = reference.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False).history
    _assert_same_logs(expected, ours.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False).history)


def test_metric_with_several_thresholds_logs_arrays_like_keras(keras):
    x, y, _ = _data(rows=30, seed=12)
    reference, ours = _twin_models(keras, _binary_classifier)
    for lib, model in ((keras, reference), (fd, ours)):
        model.compile("sgd", "binary_crossentropy", metrics=[lib.metrics.Precision(thresholds=[0.3, 0.6], name="p")])
    expected = reference.fit(x, y, batch_size=10, epochs=2, verbose=0, shuffle=False).history["p"]
    actual = ours.fit(x, y, batch_size=10, epochs=2, verbose=0, shuffle=False).history["p"]
    np.testing.assert_allclose(np.stack(actual), np.stack(expected), rtol=RTOL)


def test_on_batch_methods_match_keras(keras):
    x, y, weight = _data(rows=24, seed=2)
    reference, ours = _twin_models(keras, _binary_classifier)
    for lib, model in ((keras, reference), (fd, ours)):
        model.compile(lib.optimizers.SGD(0.2), "binary_crossentropy", metrics=["auc"],
                      weighted_metrics=[lib.metrics.Precision(name="p")])
    for step in range(3):
        rows = slice(8 * step, 8 * step + 8)
        expected = reference.train_on_batch(x[rows], y[rows], sample_weight=weight[rows], return_dict=True)
        _assert_same_logs(expected, ours.train_on_batch(x[rows], y[rows], sample_weight=weight[rows],
                                                        return_dict=True))
    expected = reference.test_on_batch(x, y, sample_weight=weight)
    np.testing.assert_allclose(ours.test_on_batch(x, y, sample_weight=weight), expected, rtol=RTOL)


def test_multi_output_python_metrics_match_keras(keras):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    targets = {"cls": (rng.random((40, 1)) > 0.5).astype(np.float32), "reg": rng.normal(size=(40, 2)).astype(np.float32)}

    def build(lib):
        inputs = lib.Input((3,))
        hidden = lib.layers.Dense(6, activation="relu")(inputs)
        return lib.Model(inputs, {"cls": lib.layers.Dense(1, activation="sigmoid", name="cls")(hidden),
                                  "reg": lib.layers.Dense(2, name="reg")(hidden)})

    reference, ours = _twin_models(keras, build)
    for lib, model in ((keras, reference), (fd, ours)):
        model.compile(lib.optimizers.SGD(0.05), {"cls": "binary_crossentropy", "reg": "mse"},
                      metrics={"cls": ["auc", half_squared_error], "reg": [lib.metrics.R2Score(), "mae"]})
    kwargs = dict(batch_size=10, epochs=2, verbose=0, shuffle=False)
    _assert_same_logs(reference.fit(x, targets, **kwargs).history, ours.fit(x, targets, **kwargs).history)


# --------------------------------------------------------------------- framework-free checks

def _frozen_classifier(metric_list, weighted=None):
    """A model trained with learning rate 0: its predictions are the same at every step."""
    fd.random.set_seed(5)
    model = _binary_classifier(fd)
    model.compile(fd.optimizers.SGD(0.0), "binary_crossentropy", metrics=metric_list, weighted_metrics=weighted)
    return model


def test_epoch_metrics_equal_metrics_of_the_predictions():
    x, y, weight = _data(rows=50, seed=4)
    auc, precision = metrics.AUC(name="auc"), metrics.Precision(name="precision")
    model = _frozen_classifier([auc, half_squared_error], weighted=[precision])
    history = model.fit(x, y, sample_weight=weight, batch_size=8, epochs=2, verbose=0, shuffle=False).history
    predictions = model.predict(x, verbose=0)
    reference_auc = metrics.AUC()(y, predictions)
    reference_precision = metrics.Precision()(y, predictions, sample_weight=weight)
    errors = np.mean((predictions - y) ** 2 * 0.5, axis=1)
    assert history["auc"] == pytest.approx([float(reference_auc)] * 2, rel=1e-6)
    assert history["precision"] == pytest.approx([float(reference_precision)] * 2, rel=1e-6)
    assert history["half_squared_error"] == pytest.approx([float(np.mean(errors))] * 2, rel=1e-5)
    # the user's instance is the one that was updated (as in Keras)
    assert float(auc.result()) == pytest.approx(history["auc"][-1])
    logs = model.evaluate(x, y, sample_weight=weight, batch_size=7, verbose=0, return_dict=True)
    assert logs["auc"] == pytest.approx(float(reference_auc), rel=1e-6)


def test_batch_logs_hold_running_values_of_python_metrics():
    x, y, _ = _data(rows=30, seed=6)
    seen = []
    callback = fd.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(logs["auc"]))
    model = _frozen_classifier(["auc"])
    model.fit(x, y, batch_size=10, epochs=1, verbose=0, shuffle=False, callbacks=[callback])
    predictions = model.predict(x, verbose=0)
    expected = [float(metrics.AUC()(y[:rows], predictions[:rows])) for rows in (10, 20, 30)]
    assert seen == pytest.approx(expected, rel=1e-6)


def test_generator_input_updates_python_metrics():
    x, y, _ = _data(rows=32, seed=7)

    def batches():
        while True:
            for start in range(0, 32, 8):
                yield x[start:start + 8], y[start:start + 8]

    model = _frozen_classifier(["auc"])
    history = model.fit(batches(), steps_per_epoch=4, epochs=1, verbose=0).history
    assert history["auc"][0] == pytest.approx(float(metrics.AUC()(y, model.predict(x, verbose=0))), rel=1e-6)


def test_one_metric_instance_for_two_outputs_counts_each_once():
    inputs = fd.Input((2,))
    first = fd.layers.Dense(1, activation="sigmoid", name="first")(inputs)
    second = fd.layers.Dense(1, activation="sigmoid", name="second")(inputs)
    model = fd.Model(inputs, [first, second])
    shared = metrics.AUC(name="auc")
    model.compile(fd.optimizers.SGD(0.0), ["binary_crossentropy", "binary_crossentropy"], metrics=[[shared], [shared]])
    rng = np.random.default_rng(8)
    x = rng.normal(size=(20, 2)).astype(np.float32)
    y1, y2 = (rng.random((20, 1)) > 0.5).astype(np.float32), (rng.random((20, 1)) > 0.5).astype(np.float32)
    logs = model.evaluate(x, [y1, y2], verbose=0, return_dict=True)
    p1, p2 = model.predict(x, verbose=0)
    assert logs["first_auc"] == pytest.approx(float(metrics.AUC()(y1, p1)), rel=1e-6)
    assert logs["second_auc"] == pytest.approx(float(metrics.AUC()(y2, p2)), rel=1e-6)


def test_early_stopping_directions_of_python_metrics():
    x, y, _ = _data(rows=20, seed=9)
    model = _frozen_classifier(["auc", half_squared_error])
    stopper = fd.callbacks.EarlyStopping(monitor="auc", patience=0)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[stopper])
    assert stopper.monitor_op(1.0, 0.5)  # AUC is maximized
    # a user function has no direction: Keras 3 asks for mode= (ValueError)
    with pytest.raises(ValueError, match="mode"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[fd.callbacks.EarlyStopping(monitor="half_squared_error")])


def test_models_without_python_metrics_keep_the_plain_network():
    model = _binary_classifier(fd)
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy", "mse"])
    x, y, _ = _data(rows=8)
    model.evaluate(x, y, verbose=0)
    assert isinstance(model._native, fd._core.Network)


def test_last_batch_returns_the_pre_update_forward_pass():
    x, y, weight = _data(rows=12, seed=10)
    model = _binary_classifier(fd)
    model.compile(fd.optimizers.SGD(0.5), "binary_crossentropy")
    model.evaluate(x, y, verbose=0)  # builds the training network
    network = model._native
    rows = np.array([3, 7, 1, 10, 0], dtype=np.int64)
    evaluated = network.last_batch()
    before = model.predict(x[rows], verbose=0)
    # predict runs in its own workspace: the evaluated batch is still there
    np.testing.assert_array_equal(network.last_batch()[0][0], evaluated[0][0])
    rates = model.optimizer._learning_rates(model.optimizer.iterations, 1)
    network.train([x], [y], weight, rows, 5, rates)
    predictions, targets, sample_weight = network.last_batch()
    np.testing.assert_allclose(predictions[0], before, rtol=1e-6)
    np.testing.assert_array_equal(targets[0], y[rows])
    np.testing.assert_array_equal(sample_weight, weight[rows])
    assert not np.allclose(model.predict(x[rows], verbose=0), before)  # the step did update the weights
    network.evaluate([x], [y], None, 12)
    predictions, targets, sample_weight = network.last_batch()
    assert predictions[0].shape == (12, 1) and sample_weight is None
    np.testing.assert_allclose(predictions[0], model.predict(x, verbose=0), rtol=1e-6)
