"""Normalization and Rescaling inside the native engine (src/engine/layer/Affine.h): gradients by
finite differences, models that train with no Python node, parity with tf.keras with such a
layer in the middle, and statistics adapted after the network was built."""

import numpy as np
import pytest

from fastdense import _core, layers, models
from gradcheck import central_differences, relative_error
from layer_parity import adam, assert_same_training, fit_both, sgd
from native_step import OneBatch

RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 5)).astype("float32")
Y = RNG.normal(size=(48, 2)).astype("float32")
MEAN6 = np.linspace(-0.5, 0.5, 6).astype("float32")
VARIANCE6 = np.linspace(0.25, 4.0, 6).astype("float32")
ADAPT6 = np.random.default_rng(1).normal(0.3, 1.7, size=(200, 6)).astype("float32")


def test_engine_gradients_match_finite_differences():
    """Dense -> (x - a) / b -> Dense(tanh) -> x * a + b -> Dense -> MSE, float64: the gradient
    reaches the first Dense through both affine nodes (scaled by 1/b and by a)."""
    rng = np.random.default_rng(2)
    net = _core.Network("float64")
    x = net.add_input(4)
    k0, b0 = rng.normal(size=(4, 3)), rng.normal(size=3) * 0.1
    mean, std = rng.normal(size=3), rng.uniform(0.5, 2.0, size=3)
    k1, b1 = rng.normal(size=(3, 3)), rng.normal(size=3) * 0.1
    scale, offset = rng.normal(size=3), rng.normal(size=3)
    k2, b2 = rng.normal(size=(3, 2)), rng.normal(size=2) * 0.1
    normalized = net.add_affine(net.add_dense(x, k0, b0, {"name": "linear"}), "subtract_divide", mean, std)
    rescaled = net.add_affine(net.add_dense(normalized, k1, b1, {"name": "tanh"}), "multiply_add", scale, offset)
    net.add_output(net.add_dense(rescaled, k2, b2, {"name": "linear"}), {"name": "mean_squared_error"})
    assert net.layer_kinds == ["InputLayer", "Dense", "Affine", "Dense", "Affine", "Dense"]
    step = OneBatch(net, [k0, b0, k1, b1, k2, b2], [rng.normal(size=(7, 4))], [rng.normal(size=(7, 2))])
    numeric = central_differences(step.loss, step.params)
    assert relative_error(step.gradient_by_one_step(), numeric) < 1e-7


def test_engine_checks_its_arguments():
    net = _core.Network("float32")
    x = net.add_input(3)
    with pytest.raises(ValueError, match="multiply_add"):
        net.add_affine(x, "divide", np.ones(3, "float32"), np.ones(3, "float32"))
    with pytest.raises(ValueError, match="a"):
        net.add_affine(x, "multiply_add", np.ones(4, "float32"), np.ones(3, "float32"))


def middle_normalization(lib):
    return [lib.layers.Dense(6, activation="tanh"), lib.layers.Normalization(mean=MEAN6, variance=VARIANCE6),
            lib.layers.Dense(2)]


def middle_adapted_normalization(lib):
    normalization = lib.layers.Normalization()
    normalization.adapt(ADAPT6)
    return [lib.layers.Dense(6, activation="relu"), normalization, lib.layers.Dense(2)]


def middle_inverted_normalization(lib):
    return [lib.layers.Dense(6), lib.layers.Normalization(mean=MEAN6, variance=VARIANCE6, invert=True),
            lib.layers.Dense(2, activation="tanh")]


def middle_rescaling(lib):
    return [lib.layers.Dense(6, activation="sigmoid"), lib.layers.Rescaling(scale=2.5, offset=-1.0),
            lib.layers.Dense(2)]


def input_normalization(lib):
    normalization = lib.layers.Normalization(axis=-1)
    normalization.adapt(X * 3.0 + 1.0)
    return [normalization, lib.layers.Dense(4, activation="relu"), lib.layers.Rescaling(0.5), lib.layers.Dense(2)]


@pytest.mark.parametrize("make_layers", [middle_normalization, middle_adapted_normalization,
                                         middle_inverted_normalization, middle_rescaling, input_normalization])
@pytest.mark.parametrize("optimizer", [sgd, adam])
def test_training_matches_tf_keras(keras, make_layers, optimizer):
    tf_model, fd_model, histories = fit_both(keras, make_layers, optimizer, X, Y, "mse")
    assert_same_training(tf_model, fd_model, histories, X)
    kinds = fd_model._native_network([np.zeros((1, 2))]).layer_kinds
    assert "Affine" in kinds and "Callback" not in kinds


def test_whole_model_is_native_and_equals_python_computation():
    inputs = layers.Input((5,))
    normalization = layers.Normalization()
    normalization.adapt(X * 2.0 - 1.0)
    hidden = layers.Dense(6, activation="tanh")(normalization(inputs))
    hidden = layers.Rescaling(scale=np.linspace(0.5, 2.0, 6), offset=0.25)(hidden)
    model = models.Model(inputs, layers.Dense(2)(layers.Normalization(mean=MEAN6, variance=VARIANCE6)(hidden)))
    model.compile("adam", "mse")
    history = model.fit(X, Y, epochs=3, batch_size=16, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert model._native_network([np.zeros((1, 2))]).layer_kinds == \
        ["InputLayer", "Affine", "Dense", "Affine", "Affine", "Dense"]
    np.testing.assert_allclose(model.predict(X, verbose=0), model.call(X), rtol=1e-5, atol=1e-6)


def test_adapting_again_reaches_networks_already_built():
    inputs = layers.Input((5,))
    normalization = layers.Normalization()
    normalization.adapt(X)
    model = models.Model(inputs, layers.Dense(1)(normalization(inputs)))
    before = model.predict(X, verbose=0)
    normalization.adapt(X * 4.0 + 2.0)
    after = model.predict(X, verbose=0)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, model.call(X), rtol=1e-5, atol=1e-6)


def test_rank3_input_normalizes_per_last_axis_natively():
    x = np.random.default_rng(3).normal(size=(20, 3, 4)).astype("float32")
    inputs = layers.Input((3, 4))
    normalization = layers.Normalization(axis=-1)
    normalization.adapt(x)
    model = models.Model(inputs, layers.Dense(2)(layers.Flatten()(normalization(inputs))))
    model.compile("sgd", "mse")
    np.testing.assert_allclose(model.predict(x, verbose=0), model.call(x), rtol=1e-5, atol=1e-6)
    assert "Affine" in model._native_network([np.zeros((1, 2))]).layer_kinds


def test_normalization_read_by_a_preprocessing_layer_stays_before_the_engine():
    """Normalization feeding Discretization runs in the preprocessing stage (the engine cannot
    hand values back to a layer computed before it)."""
    inputs = layers.Input((1,))
    normalized = layers.Normalization(mean=[2.0], variance=[4.0])(inputs)
    binned = layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5])(normalized)
    encoded = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")(binned)
    model = models.Model(inputs, layers.Dense(1)(layers.Concatenate()([encoded, normalized])))
    x = np.array([[0.0], [1.5], [2.2], [5.0]], dtype="float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), model.call(x), rtol=1e-5, atol=1e-6)
