"""Identity, Lambda, GaussianDropout, AlphaDropout, UnitNormalization and ActivityRegularization:
outputs and training against tf.keras, the noise layers' moments against Keras's formulas,
autodiff gradients against finite differences, configs, safe mode and .keras files both ways."""

import json
import math

import numpy as np
import pytest

import fastdense
from fastdense import autodiff, layers, models
from fastdense.native import python_nodes
from gradcheck import numerical_gradient, relative_error
from layer_parity import adam, assert_same_training, config_without_name, fit_both

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 5)).astype("float32")
Y = RNG.normal(size=(32, 2)).astype("float32")
SELU_ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def square_plus(x, offset=0.0):
    return x * x + offset


# ------------------------------------------------------------------ deterministic outputs
@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.Identity(),
    lambda lib: lib.layers.UnitNormalization(),
    lambda lib: lib.layers.UnitNormalization(axis=[1]),
    lambda lib: lib.layers.ActivityRegularization(l1=0.01, l2=0.02),
    lambda lib: lib.layers.GaussianDropout(0.3),
    lambda lib: lib.layers.AlphaDropout(0.3),
])
def test_eager_outputs_match_tf_keras(keras, make):
    np.testing.assert_allclose(make(fastdense)(X), np.asarray(make(keras)(X)), rtol=1e-6, atol=1e-7)


def test_unit_normalization_values():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], dtype="float32")
    np.testing.assert_allclose(layers.UnitNormalization()(x), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    out = layers.UnitNormalization(axis=[1, 2])(RNG.normal(size=(3, 2, 4)))
    np.testing.assert_allclose(np.sum(out ** 2, axis=(1, 2)), 1.0, rtol=1e-5)
    with pytest.raises(TypeError, match="axis"):
        layers.UnitNormalization(axis="last")


def test_lambda_calls_function_with_arguments():
    layer = layers.Lambda(square_plus, arguments={"offset": 1.0})
    np.testing.assert_allclose(layer(X), X * X + 1.0, rtol=1e-6)
    seen = []
    layers.Lambda(lambda x, training=None: seen.append(training) or x)(X, training=True)
    assert seen == [True]
    assert layers.Lambda(lambda x: x[:, :2], output_shape=(2,)).compute_output_shape((None, 5)) == (None, 2)
    assert layers.Lambda(lambda x: x, output_shape=lambda s: (s[0], 7)).compute_output_shape((None, 5)) == (None, 7)
    assert layers.Lambda(lambda x: x[:, :3]).compute_output_shape((None, 5)) == (None, 3)
    with pytest.raises(TypeError, match="callable"):
        layers.Lambda(3)


# ------------------------------------------------------------------ training parity
@pytest.mark.parametrize("middle", [
    lambda lib: [lib.layers.Identity()],
    lambda lib: [lib.layers.UnitNormalization()],
    lambda lib: [lib.layers.ActivityRegularization(l1=0.01, l2=0.05)],
    lambda lib: [lib.layers.Lambda(lambda x: x * x)],
])
def test_training_matches_tf_keras(keras, middle):
    def stack(lib):
        return [lib.layers.Dense(6, activation="tanh"), *middle(lib), lib.layers.Dense(2)]

    tf_model, fd_model, histories = fit_both(keras, stack, adam, X, Y, "mse")
    assert_same_training(tf_model, fd_model, histories, X)


def test_identity_and_activity_regularization_run_natively(monkeypatch):
    python_layers = []
    monkeypatch.setattr(python_nodes, "add_layer", lambda *args: python_layers.append(args))
    model = models.Sequential([layers.Input((5,)), layers.Identity(), layers.Dense(3),
                               layers.ActivityRegularization(l2=0.1), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    loss = model.evaluate(X, Y, verbose=0)
    assert python_layers == []
    hidden = X @ model.layers[1].kernel.numpy() + model.layers[1].bias.numpy()
    out = hidden @ model.layers[3].kernel.numpy() + model.layers[3].bias.numpy()
    # Keras 3 adds the activity penalty of the batch's outputs divided by the batch size (one batch of 32)
    expected = np.mean((out - Y) ** 2) + 0.1 * np.sum(hidden ** 2) / 32
    assert loss == pytest.approx(expected, rel=1e-4)


# ------------------------------------------------------------------ noise layers
def test_noise_layers_are_identity_outside_training():
    for layer in (layers.GaussianDropout(0.5), layers.AlphaDropout(0.5)):
        np.testing.assert_array_equal(layer(X), X)
        np.testing.assert_array_equal(layer(X, training=False), X)
    model = models.Sequential([layers.Input((5,)), layers.GaussianDropout(0.5), layers.AlphaDropout(0.4),
                               layers.Dense(2, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    expected = X @ np.ones((5, 2), dtype="float32")
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), np.mean((expected - Y) ** 2), rtol=1e-5)


def test_gaussian_dropout_moments():
    rate = 0.3
    x = np.full((400, 500), 2.0, dtype="float32")
    out = layers.GaussianDropout(rate, seed=1)(x, training=True)
    # x * N(1, rate / (1 - rate)): mean x, variance x^2 * rate / (1 - rate)
    assert abs(out.mean() - 2.0) < 0.01
    assert abs(out.var() - 4.0 * rate / (1 - rate)) < 0.02


def test_alpha_dropout_keeps_mean_and_variance():
    rate = 0.2
    x = np.random.default_rng(3).normal(size=(400, 500)).astype("float32")
    out = layers.AlphaDropout(rate, seed=2)(x, training=True)
    assert abs(out.mean()) < 0.01 and abs(out.var() - 1.0) < 0.02
    a = ((1 - rate) * (1 + rate * SELU_ALPHA_P ** 2)) ** -0.5
    b = -a * SELU_ALPHA_P * rate
    dropped = np.isclose(out, a * SELU_ALPHA_P + b)
    assert abs(dropped.mean() - rate) < 0.01
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)
    # noise_shape: one mask per column, shared by every row
    shared = layers.AlphaDropout(0.5, noise_shape=(1, None), seed=4)(x[:8], training=True)
    column_dropped = np.isclose(shared, a * SELU_ALPHA_P + b)
    assert (column_dropped == column_dropped[0]).all()


def test_seeded_noise_is_reproducible_and_trains():
    first = layers.GaussianDropout(0.4, seed=7)(X, training=True)
    np.testing.assert_array_equal(layers.GaussianDropout(0.4, seed=7)(X, training=True), first)
    model = models.Sequential([layers.Input((5,)), layers.Dense(8, activation="selu"), layers.AlphaDropout(0.1),
                               layers.GaussianDropout(0.1), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(X, Y, verbose=0)
    history = model.fit(X, Y, epochs=30, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and model.evaluate(X, Y, verbose=0) < before


@pytest.mark.parametrize("rate", [-0.1, 1.5, "a"])
def test_noise_rate_is_checked(rate):
    with pytest.raises(ValueError, match="rate"):
        layers.GaussianDropout(rate)
    with pytest.raises(ValueError, match="rate"):
        layers.AlphaDropout(rate)


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("make", [
    lambda: layers.UnitNormalization(),
    lambda: layers.UnitNormalization(axis=[1, 2]),
    lambda: layers.Lambda(lambda x: np.tanh(x) * x),
])
def test_gradients_match_finite_differences(make):
    layer = make()
    x = np.random.default_rng(5).normal(size=(3, 2, 4))
    weights = np.random.default_rng(6).normal(size=(3, 2, 4))
    _, pullback = autodiff.vjp(lambda t: layer.call(t), x)
    analytic = pullback(weights).inputs[0]
    numeric = numerical_gradient(lambda v: float(np.sum(layer.call(v) * weights)), x)
    assert relative_error(analytic, numeric) < 1e-6


def test_noise_gradients_are_the_noise():
    x = np.random.default_rng(8).normal(size=(6, 4))
    layer = layers.GaussianDropout(0.3, seed=3)
    out, pullback = autodiff.vjp(lambda t: layer.call(t, training=True), x)
    np.testing.assert_allclose(pullback(np.ones_like(x)).inputs[0], out / x, rtol=1e-6)


# ------------------------------------------------------------------ configs and saving
@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.Identity(),
    lambda lib: lib.layers.UnitNormalization(axis=[1]),
    lambda lib: lib.layers.ActivityRegularization(l1=0.1, l2=0.2),
    lambda lib: lib.layers.GaussianDropout(0.2, seed=3),
    lambda lib: lib.layers.AlphaDropout(0.2, noise_shape=(None, 5), seed=3),
])
def test_configs_match_tf_keras(keras, make):
    ours, theirs = config_without_name(make(fastdense)), config_without_name(make(keras))
    theirs = json.loads(json.dumps(theirs))
    assert json.loads(json.dumps(ours)) == theirs
    assert config_without_name(type(make(fastdense)).from_config(ours)) == ours


def test_lambda_config_and_safe_mode(tmp_path):
    layer = layers.Lambda(lambda x: x + 1.0, output_shape=(5,))
    config = layer.get_config()
    assert config["function"]["class_name"] == "__lambda__" and config["output_shape"] == [5]
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.Lambda.from_config(config)
    restored = layers.Lambda.from_config(config, safe_mode=False)
    np.testing.assert_allclose(restored(X), X + 1.0)

    model = models.Sequential([layers.Input((5,)), layers.Lambda(lambda x: x * 2.0), layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        models.load_model(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_lambda_with_registered_function_loads_in_safe_mode(tmp_path):
    model = models.Sequential([layers.Input((5,)), layers.Lambda(square_plus, arguments={"offset": 0.5}),
                               layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="square_plus"):
        models.load_model(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras", custom_objects={"square_plus": square_plus})
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def new_layers_model(lib):
    return lib.Sequential([lib.Input((5,)), lib.layers.Dense(6, activation="selu"), lib.layers.Identity(),
                           lib.layers.GaussianDropout(0.2), lib.layers.AlphaDropout(0.1),
                           lib.layers.UnitNormalization(), lib.layers.ActivityRegularization(l2=0.01),
                           lib.layers.Dense(2)])


@pytest.mark.parametrize("direction", ["fastdense_to_keras", "keras_to_fastdense"])
def test_keras_files_both_ways(keras, tmp_path, direction):
    source, target = (fastdense, keras) if direction == "fastdense_to_keras" else (keras, fastdense)
    model = new_layers_model(source)
    model.save(tmp_path / "m.keras")
    loaded = target.models.load_model(tmp_path / "m.keras")
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    np.testing.assert_allclose(np.asarray(loaded.predict(X, verbose=0)), np.asarray(model.predict(X, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    assert [config_without_name(l) for l in loaded.layers][1:] == [
        json.loads(json.dumps(config_without_name(l))) for l in model.layers][1:]


def test_lambda_keras_file_loads_in_keras_with_safe_mode_false(keras, tmp_path):
    model = models.Sequential([layers.Input((5,)), layers.Lambda(lambda x: x * 3.0), layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        keras.models.load_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_allclose(np.asarray(loaded.predict(X, verbose=0)), model.predict(X, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_keras2_h5_lambda_loads_with_safe_mode_false(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    model = tf_keras.Sequential([tf_keras.Input((5,)), tf_keras.layers.Lambda(lambda x: x * 2.0 + 1.0),
                                 tf_keras.layers.Dense(2)])
    model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match="safe_mode"):
        models.load_model(tmp_path / "m.h5")
    loaded = models.load_model(tmp_path / "m.h5", safe_mode=False)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
