"""Activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU): native PReLU gradients, NumPy and
native forward passes, parity with tf.keras, configs and argument checks."""

import warnings

import numpy as np
import pytest

import fastdense
from fastdense import _core, layers
from gradcheck import attach_optimizer, central_differences, relative_error
from layer_parity import adam, assert_same_training, config_without_name, fit_both, sgd


# ------------------------------------------------------------------------ PReLU gradients
@pytest.mark.parametrize("shared", [False, True])
def test_prelu_gradients_match_finite_differences(shared):
    """input → Dense(linear) → PReLU → Dense → MSE in float64; one SGD(lr=1) step reveals the
    gradient. The Dense outputs stay at least 0.05 away from PReLU's kink at 0."""
    rng = np.random.default_rng(13)
    n, features, hidden = 8, 3, 5
    x, t = rng.normal(size=(n, features)), rng.normal(size=(n, 2))
    kernel1 = rng.normal(size=(features, hidden))
    bias1 = rng.normal(size=hidden) * 0.1
    alpha = rng.uniform(0.1, 0.5, size=1 if shared else hidden)
    kernel2, bias2 = rng.normal(size=(hidden, 2)), rng.normal(size=2) * 0.1
    assert np.abs(x @ kernel1 + bias1).min() > 0.05

    net = _core.Network("float64")
    h = net.add_dense(net.add_input(features), kernel1, bias1, {"name": "linear"})
    p = net.add_prelu(h, alpha, alpha_regularizer={"l1": 0.01, "l2": 0.02})
    net.add_output(net.add_dense(p, kernel2, bias2, {"name": "linear"}), {"name": "mean_squared_error"})
    params = [kernel1, bias1, alpha, kernel2, bias2]
    attach_optimizer(net, params)

    def loss():
        net.reset_metrics()
        net.evaluate([x], [t], None, n)
        return net.results()[0]

    before = [q.copy() for q in params]
    net.train([x], [t], None, np.arange(n, dtype=np.int64), n, np.array([1.0]))
    analytic = [b - q for b, q in zip(before, params)]
    for q, b in zip(params, before):
        q[...] = b
    assert relative_error(analytic, central_differences(loss, params)) < 1e-6


def test_prelu_forward_and_zero_input_gradient():
    # At x = 0 TensorFlow differentiates relu(x) − α·relu(−x) to 0; the engine does the same.
    x = np.array([[-2.0, 0.0, 3.0], [1.0, -0.5, 0.0]])
    alpha = np.array([0.1, 0.2, 0.3])
    kernel = np.eye(3)
    net = _core.Network("float64")
    h = net.add_dense(net.add_input(3), kernel, None, {"name": "linear"})
    net.add_output(net.add_prelu(h, alpha, trainable=False), {"name": "mean_squared_error"})
    attach_optimizer(net, [kernel])
    (predicted,) = net.predict([x], 2)
    np.testing.assert_array_equal(predicted, np.where(x > 0, x, alpha * x))
    t = np.zeros_like(x)
    net.train([x], [t], None, np.arange(2, dtype=np.int64), 2, np.array([1.0]))
    dy = 2 * np.where(x > 0, x, alpha * x) / x.size
    slope = np.where(x > 0, 1.0, np.where(x < 0, alpha, 0.0))
    np.testing.assert_allclose(np.eye(3) - kernel, x.T @ (dy * slope), rtol=1e-14, atol=1e-16)


# ---------------------------------------------------------------- forward, native and NumPy
def numpy_reference(name, x):
    """Independent NumPy formulas for the layers built by make_layer(name)."""
    if name == "relu_capped":
        return np.where(x >= 1.5, 1.5, np.where(x > 0.5, x, 0.1 * (x - 0.5)))
    if name == "relu":
        return np.maximum(x, 0)
    if name == "leaky_relu":
        return np.where(x >= 0, x, 0.3 * x)
    if name == "elu":
        return np.where(x > 0, x, 0.7 * np.expm1(x))
    if name == "softmax":
        e = np.exp(x - x.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    raise KeyError(name)


def make_layer(lib, name):
    return {
        "relu_capped": lambda: lib.layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.5),
        "relu": lambda: lib.layers.ReLU(),
        "leaky_relu": lambda: lib.layers.LeakyReLU(),
        "elu": lambda: lib.layers.ELU(alpha=0.7),
        "softmax": lambda: lib.layers.Softmax(),
    }[name]()


NAMES = ["relu_capped", "relu", "leaky_relu", "elu", "softmax"]


@pytest.mark.parametrize("name", NAMES)
def test_layer_forward_native_python_and_numpy_agree(name):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(12, 4)) * 2).astype(np.float32)
    layer = make_layer(fastdense, name)
    model = fastdense.Sequential([fastdense.Input((4,)), layer])
    native = model.predict(x, verbose=0)
    np.testing.assert_allclose(native, numpy_reference(name, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(layer(x), native, rtol=1e-6, atol=1e-7)


def test_prelu_python_call_and_shared_axes():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 2, 3)).astype(np.float32)
    layer = layers.PReLU(alpha_initializer="ones", shared_axes=[1])
    y = layer(x)
    assert layer.alpha.shape == (1, 3)
    layer.alpha.assign(np.array([[0.1, 0.2, 0.3]]))
    np.testing.assert_allclose(layer(x), np.where(x > 0, x, np.array([0.1, 0.2, 0.3], np.float32) * x), rtol=1e-6)
    np.testing.assert_array_equal(y, x)  # alpha = 1 is the identity
    # Rank 3 runs in Python: predict still works.
    model = fastdense.Sequential([fastdense.Input((2, 3)), layer])
    np.testing.assert_allclose(model.predict(x, verbose=0), layer(x), rtol=1e-6)


def test_softmax_on_other_axes_runs_in_python():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 3, 5)).astype(np.float32)
    model = fastdense.Sequential([fastdense.Input((3, 5)), layers.Softmax(axis=1)])
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(model.predict(x, verbose=0), e / e.sum(1, keepdims=True), rtol=1e-6)
    masked = layers.Softmax()(x[:, 0], mask=np.array([True, True, False, True, False]))
    assert np.all(masked[:, [2, 4]] == 0)
    np.testing.assert_allclose(masked.sum(1), 1.0, rtol=1e-6)


# -------------------------------------------------------------------------- tf.keras parity
def every_activation_layer(lib):
    """One model holding every activation layer, ending in a Softmax output."""
    return [lib.layers.Dense(8), make_layer(lib, "relu_capped"),
            lib.layers.Dense(8), make_layer(lib, "relu"),
            lib.layers.Dense(8), make_layer(lib, "leaky_relu"),
            lib.layers.Dense(8), make_layer(lib, "elu"),
            lib.layers.Dense(8), lib.layers.PReLU(alpha_initializer=lib.initializers.Constant(0.25),
                                                  alpha_regularizer=lib.regularizers.L2(0.01)),
            lib.layers.Dense(6), lib.layers.PReLU(alpha_initializer="ones", shared_axes=[1],
                                                  alpha_constraint="non_neg"),
            lib.layers.Dense(4), lib.layers.Softmax()]


@pytest.mark.parametrize("optimizer", [sgd, adam])
def test_activation_layers_train_like_tf_keras(keras, optimizer):
    """The same model fitted in tf.keras and fastdense from tf's initial weights (3 epochs of 5
    batches of 8, no shuffling, categorical crossentropy on the Softmax output): weights,
    History and predict agree."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(40, 5)) * 1.5).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 40)]
    tf_model, fd_model, histories = fit_both(keras, every_activation_layer, optimizer, x, y, "categorical_crossentropy")
    assert_same_training(tf_model, fd_model, histories, x)
    prelu = fd_model.layers[9]
    assert not np.allclose(prelu.alpha.numpy(), 0.25)  # alpha was trained


def test_softmax_layer_output_takes_the_crossentropy_logits_shortcut(keras):
    # tf.keras: the Softmax layer's output carries its logits (_keras_logits), so crossentropy
    # is computed from them without clipping. Logits [40, 0] with label 1 give exactly 40, the
    # clipped-probability path −log(1e-7) ≈ 16.118.
    x, y = np.array([[1.0, 0.0]], np.float32), np.array([[0.0, 1.0]], np.float32)
    kernel = np.array([[40.0, 0.0], [0.0, 0.0]], np.float32)
    results = []
    for lib in (keras, fastdense):
        model = lib.Sequential([lib.Input((2,)), lib.layers.Dense(2, use_bias=False), lib.layers.Softmax()])
        model.set_weights([kernel])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        results.append(model.evaluate(x, y, verbose=0))
    assert results[0] == pytest.approx(40.0, rel=1e-6)
    assert results[1] == pytest.approx(results[0], rel=1e-6)


# ---------------------------------------------------------------------------------- configs
@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU"])
def test_default_configs_match_keras(keras, name):
    ours, theirs = getattr(layers, name)(), getattr(keras.layers, name)()
    assert list(ours.get_config()) == list(theirs.get_config())
    assert config_without_name(ours) == config_without_name(theirs)


def test_default_names_follow_keras():
    for cls, prefix in ((layers.PReLU, "p_re_lu"), (layers.ReLU, "re_lu"), (layers.LeakyReLU, "leaky_re_lu"),
                        (layers.ELU, "elu"), (layers.Softmax, "softmax")):
        assert cls().name.startswith(prefix)


def test_configs_with_arguments_and_round_trip(keras):
    cases = [
        (layers.ReLU, keras.layers.ReLU, {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}),
        (layers.LeakyReLU, keras.layers.LeakyReLU, {"negative_slope": 0.1}),
        (layers.ELU, keras.layers.ELU, {"alpha": 0.5}),
        (layers.Softmax, keras.layers.Softmax, {"axis": [1]}),
        (layers.PReLU, keras.layers.PReLU, {"alpha_regularizer": "l2", "shared_axes": 1}),
    ]
    for ours_cls, theirs_cls, kwargs in cases:
        ours, theirs = ours_cls(**kwargs), theirs_cls(**kwargs)
        assert config_without_name(ours) == config_without_name(theirs)
        assert config_without_name(ours_cls.from_config(ours.get_config())) == config_without_name(ours)


def test_leaky_relu_alpha_is_a_deprecated_alias():
    with pytest.warns(UserWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.get_config()["negative_slope"] == 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.LeakyReLU(negative_slope=0.1)


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("make,message", [
    (lambda: layers.ReLU(max_value=-1.0), "max_value"),
    (lambda: layers.ReLU(negative_slope=-0.1), "negative_slope"),
    (lambda: layers.ReLU(negative_slope=None), "negative_slope"),
    (lambda: layers.ReLU(threshold=-1.0), "threshold"),
    (lambda: layers.ReLU(threshold="0"), "threshold"),
    (lambda: layers.LeakyReLU(negative_slope=-0.3), "negative_slope"),
    (lambda: layers.LeakyReLU(alpha=None), "negative_slope"),
    (lambda: layers.ELU(alpha="one"), "alpha"),
    (lambda: layers.Softmax(axis="last"), "axis"),
    (lambda: layers.Softmax(axis=[]), "axis"),
    (lambda: layers.PReLU(shared_axes=[0]), "shared_axes"),
    (lambda: layers.PReLU(alpha_initializer="no_such_initializer"), "no_such_initializer"),
])
def test_bad_arguments_raise_clear_errors(make, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=message):
            make()


def test_prelu_rejects_bad_inputs():
    layer = layers.PReLU()
    layer(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="incompatible"):
        layer(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="out of bounds"):
        layers.PReLU(shared_axes=[2])(np.zeros((2, 3), np.float32))


def test_native_prelu_binding_validates_alpha():
    net = _core.Network("float32")
    x = net.add_input(3)
    with pytest.raises(ValueError, match=r"alpha: expected shape \(3,\), got \(2,\)"):
        net.add_prelu(x, np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="alpha: expected dtype float32, got float64"):
        net.add_prelu(x, np.zeros(3))
    with pytest.raises(ValueError, match="alpha: array must be writeable"):
        frozen = np.zeros(3, np.float32)
        frozen.flags.writeable = False
        net.add_prelu(x, frozen)
    assert net.add_prelu(x, np.zeros(1, np.float32)) == 1  # one shared alpha is accepted
