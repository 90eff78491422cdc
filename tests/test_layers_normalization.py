"""BatchNormalization and LayerNormalization: native gradients, moving statistics, parity with
tf.keras, configs and argument checks."""

import numpy as np
import pytest

import fastdense
from fastdense import _core, layers
from gradcheck import attach_optimizer, central_differences, relative_error
from layer_parity import adam, assert_same_training, config_without_name, fit_both, sgd


class Stack:
    """input → Dense(tanh) → normalization → Dense → MSE, in float64, trained by SGD(lr=1) so
    that one step reveals the gradient: w_before − w_after."""

    def __init__(self, rng, add_normalization, rows=7, features=3, hidden=4, outputs=2):
        self.net = net = _core.Network("float64")
        x = net.add_input(features)
        self.kernel1, self.bias1 = rng.normal(size=(features, hidden)), rng.normal(size=hidden) * 0.1
        h = net.add_dense(x, self.kernel1, self.bias1, {"name": "tanh"})
        normalized, self.norm_params = add_normalization(net, h, hidden)
        self.kernel2, self.bias2 = rng.normal(size=(hidden, outputs)), rng.normal(size=outputs) * 0.1
        out = net.add_dense(normalized, self.kernel2, self.bias2, {"name": "linear"})
        net.add_output(out, {"name": "mean_squared_error"})
        self.params = [self.kernel1, self.bias1, *self.norm_params, self.kernel2, self.bias2]
        self.optimizer = attach_optimizer(net, self.params)
        self.inputs = [rng.normal(size=(rows, features))]
        self.targets = [rng.normal(size=(rows, outputs))]
        self.sample_weight = rng.uniform(0.5, 2.0, size=rows)
        self.rows = rows

    def train(self, learning_rate):
        self.net.reset_metrics()
        index = np.arange(self.rows, dtype=np.int64)
        self.net.train(self.inputs, self.targets, self.sample_weight, index, self.rows, np.array([learning_rate]))
        return self.net.results()[0]

    def training_loss(self):
        """The loss in training mode; SGD with lr=0 leaves every trained weight unchanged."""
        return self.train(0.0)

    def inference_loss(self):
        self.net.reset_metrics()
        self.net.evaluate(self.inputs, self.targets, self.sample_weight, self.rows)
        return self.net.results()[0]

    def gradient_by_one_step(self):
        before = [p.copy() for p in self.params]
        self.train(1.0)
        gradient = [b - p for b, p in zip(before, self.params)]
        for p, b in zip(self.params, before):
            p[...] = b
        return gradient


def batch_normalization(gamma=True, beta=True, momentum=0.9, epsilon=1e-3, trainable=True, rng=None,
                        regularizer=None, keep=None):
    """An add_normalization for Stack; `keep` collects the moving statistics' arrays."""
    rng = rng or np.random.default_rng(10)

    def add(net, source, width):
        g = rng.uniform(0.5, 1.5, size=width) if gamma else None
        b = rng.normal(size=width) * 0.1 if beta else None
        mean, variance = rng.normal(size=width) * 0.1, rng.uniform(0.5, 1.5, size=width)
        if keep is not None:
            keep.update(gamma=g, beta=b, moving_mean=mean, moving_variance=variance)
        node = net.add_batch_normalization(source, g, b, mean, variance, momentum=momentum, epsilon=epsilon,
                                           gamma_regularizer=regularizer, trainable=trainable)
        return node, [p for p in (g, b) if p is not None and trainable]

    return add


def layer_normalization(gamma=True, beta=True, epsilon=1e-3, rng=None):
    rng = rng or np.random.default_rng(11)

    def add(net, source, width):
        g = rng.uniform(0.5, 1.5, size=width) if gamma else None
        b = rng.normal(size=width) * 0.1 if beta else None
        node = net.add_layer_normalization(source, g, b, epsilon=epsilon, beta_regularizer={"l1": 0.0, "l2": 0.03})
        return node, [p for p in (g, b) if p is not None]

    return add


# --------------------------------------------------------------------------- NumPy references
def bn_forward(x, gamma, beta, eps):
    """Training-mode batch normalization over axis 0 (biased variance)."""
    mu = x.mean(0)
    var = ((x - mu) ** 2).mean(0)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def bn_backward(x, gamma, eps, dy):
    """Gradients of training-mode batch normalization, written as the step-by-step chain rule
    through μ and σ² (independent of the compact formula the engine uses)."""
    n = x.shape[0]
    mu = x.mean(0)
    centered = x - mu
    var = (centered ** 2).mean(0)
    std = np.sqrt(var + eps)
    xhat = centered / std
    dgamma, dbeta = (dy * xhat).sum(0), dy.sum(0)
    dxhat = dy * gamma
    dvar = (dxhat * centered).sum(0) * -0.5 * std ** -3
    dmu = -(dxhat / std).sum(0) + dvar * (-2.0 * centered).mean(0)
    dx = dxhat / std + dvar * 2.0 * centered / n + dmu / n
    return dx, dgamma, dbeta


def test_numpy_batch_normalization_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, gamma, beta = rng.normal(size=(6, 3)), rng.uniform(0.5, 1.5, 3), rng.normal(size=3)
    weights = rng.normal(size=(6, 3))  # loss = Σ weights · bn(x): dLoss/dY = weights

    def loss():
        return float((weights * bn_forward(x, gamma, beta, 1e-3)).sum())

    analytic = bn_backward(x, gamma, 1e-3, weights)
    numeric = central_differences(loss, [x, gamma, beta])
    assert relative_error(analytic, numeric) < 1e-8


# ------------------------------------------------------------------------------ gradients
def test_batch_normalization_training_gradients_match_finite_differences():
    stack = Stack(np.random.default_rng(1), batch_normalization(regularizer={"l1": 0.0, "l2": 0.05}))
    analytic = stack.gradient_by_one_step()
    numeric = central_differences(stack.training_loss, stack.params)
    assert relative_error(analytic, numeric) < 1e-6


def test_batch_normalization_gradients_match_the_numpy_chain_rule():
    # input → Dense(identity kernel K, trained) → BN → MSE against t: dK = Xᵀ·dX_bn recovers the
    # input gradient of the normalization, compared with bn_backward.
    rng = np.random.default_rng(2)
    n, width = 9, 4
    x, t = rng.normal(size=(n, width)) * 2 + 1, rng.normal(size=(n, width))
    kernel, gamma, beta = np.eye(width), rng.uniform(0.5, 1.5, width), rng.normal(size=width)
    net = _core.Network("float64")
    h = net.add_dense(net.add_input(width), kernel, None, {"name": "linear"})
    bn = net.add_batch_normalization(h, gamma, beta, np.zeros(width), np.ones(width))
    net.add_output(bn, {"name": "mean_squared_error"})
    params = [kernel, gamma, beta]
    attach_optimizer(net, params)
    before = [p.copy() for p in params]
    net.train([x], [t], None, np.arange(n, dtype=np.int64), n, np.array([1.0]))
    native = [b - p for b, p in zip(before, params)]

    dy = 2.0 * (bn_forward(x, before[1], before[2], 1e-3) - t) / (n * width)
    dx, dgamma, dbeta = bn_backward(x, before[1], 1e-3, dy)
    assert relative_error(native, [x.T @ dx, dgamma, dbeta]) < 1e-12


@pytest.mark.parametrize("gamma,beta", [(False, True), (True, False), (False, False)])
def test_batch_normalization_without_scale_or_center(gamma, beta):
    # With neither γ nor β the normalization has no parameter: the Dense before it is checked.
    stack = Stack(np.random.default_rng(3), batch_normalization(gamma=gamma, beta=beta))
    analytic = stack.gradient_by_one_step()
    assert relative_error(analytic, central_differences(stack.training_loss, stack.params)) < 1e-6


def test_frozen_batch_normalization_uses_moving_statistics_while_training():
    keep = {}
    stack = Stack(np.random.default_rng(4), batch_normalization(trainable=False, keep=keep))
    saved = {k: v.copy() for k, v in keep.items()}
    assert stack.training_loss() == pytest.approx(stack.inference_loss(), rel=1e-13)
    analytic = stack.gradient_by_one_step()
    assert relative_error(analytic, central_differences(stack.inference_loss, stack.params)) < 1e-6
    for name, value in keep.items():  # γ, β and the moving statistics stay as they were
        np.testing.assert_array_equal(value, saved[name])


def test_layer_normalization_gradients_match_finite_differences():
    stack = Stack(np.random.default_rng(5), layer_normalization())
    analytic = stack.gradient_by_one_step()
    assert relative_error(analytic, central_differences(stack.inference_loss, stack.params)) < 1e-6


@pytest.mark.parametrize("gamma,beta", [(False, True), (True, False), (False, False)])
def test_layer_normalization_without_scale_or_center(gamma, beta):
    stack = Stack(np.random.default_rng(6), layer_normalization(gamma=gamma, beta=beta), hidden=5)
    analytic = stack.gradient_by_one_step()
    assert relative_error(analytic, central_differences(stack.inference_loss, stack.params)) < 1e-6


# ------------------------------------------------------------------------- forward passes
def test_batch_normalization_moving_statistics_and_inference():
    rng = np.random.default_rng(7)
    n, width, momentum = 10, 3, 0.9
    x = rng.normal(size=(n, width)) * 3 + 2
    gamma, beta = rng.uniform(0.5, 1.5, width), rng.normal(size=width)
    mean0, var0 = rng.normal(size=width), rng.uniform(0.5, 2.0, width)
    mean, var = mean0.copy(), var0.copy()
    net = _core.Network("float64")
    bn = net.add_batch_normalization(net.add_input(width), gamma, beta, mean, var, momentum=momentum, epsilon=0.01)
    net.add_output(bn, {"name": "mean_squared_error"})
    attach_optimizer(net, [gamma, beta], {"name": "sgd", "learning_rate": 0.0})
    net.train([x], [np.zeros((n, width))], None, np.arange(n, dtype=np.int64), n, np.array([0.0]))
    # Keras 3 moves toward the biased batch variance.
    np.testing.assert_allclose(mean, momentum * mean0 + (1 - momentum) * x.mean(0), rtol=1e-14)
    np.testing.assert_allclose(var, momentum * var0 + (1 - momentum) * x.var(0), rtol=1e-14)
    # Two batches of 5: two updates, each with its own batch's statistics.
    mean[...], var[...] = mean0, var0
    net.train([x], [np.zeros((n, width))], None, np.arange(n, dtype=np.int64), 5, np.array([0.0, 0.0]))
    for half in (x[:5], x[5:]):
        mean0 = momentum * mean0 + (1 - momentum) * half.mean(0)
        var0 = momentum * var0 + (1 - momentum) * half.var(0)
    np.testing.assert_allclose(mean, mean0, rtol=1e-14)
    np.testing.assert_allclose(var, var0, rtol=1e-14)
    # predict and evaluate normalize with the moving statistics and leave them alone.
    (predicted,) = net.predict([x], 4)
    np.testing.assert_allclose(predicted, gamma * (x - mean) / np.sqrt(var + 0.01) + beta, rtol=1e-13)
    net.evaluate([x], [np.zeros((n, width))], None, n)
    np.testing.assert_array_equal(mean, mean0)


def test_layer_normalization_forward_matches_numpy():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(6, 5)) * 4 - 1
    gamma, beta = rng.uniform(0.5, 1.5, 5), rng.normal(size=5)
    net = _core.Network("float64")
    net.add_output(net.add_layer_normalization(net.add_input(5), gamma, beta, epsilon=0.1))
    (predicted,) = net.predict([x], 6)
    mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    np.testing.assert_allclose(predicted, gamma * (x - mu) / np.sqrt(var + 0.1) + beta, rtol=1e-13)


def test_python_call_matches_native_math():
    rng = np.random.default_rng(9)
    x = (rng.normal(size=(16, 6)) * 2 + 1).astype(np.float32)
    for layer in (layers.BatchNormalization(momentum=0.5, epsilon=0.01), layers.LayerNormalization(epsilon=0.01)):
        model = fastdense.Sequential([fastdense.Input((6,)), layer])
        weights = [rng.uniform(0.5, 1.5, 6).astype(np.float32) for _ in model.get_weights()]
        model.set_weights(weights)
        np.testing.assert_allclose(model.predict(x, verbose=0), layer(x), rtol=1e-6, atol=1e-6)
    # Training-mode call updates the moving statistics exactly as the native training pass does.
    bn = layers.BatchNormalization(momentum=0.5)
    model = fastdense.Sequential([fastdense.Input((6,)), bn])
    model.compile(optimizer=fastdense.optimizers.SGD(learning_rate=0.0), loss="mse")
    model.fit(x, np.zeros_like(x), batch_size=16, epochs=1, verbose=0, shuffle=False)
    native = [w.copy() for w in model.get_weights()]
    reference = layers.BatchNormalization(momentum=0.5)
    reference(x[:1])
    out = reference(x, training=True)
    np.testing.assert_allclose(reference.get_weights()[2:], native[2:], rtol=1e-6)
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-5, atol=1e-5)


def test_normalization_on_higher_rank_inputs_runs_in_python():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(4, 3, 5)).astype(np.float32)
    ln = layers.LayerNormalization(axis=[1, 2])
    y = ln(x)
    mu, var = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - mu) / np.sqrt(var + 1e-3), rtol=1e-5, atol=1e-5)
    bn = layers.BatchNormalization(axis=1)
    np.testing.assert_allclose(bn(x), x / np.sqrt(1 + 1e-3), rtol=1e-6)
    model = fastdense.Sequential([fastdense.Input((3, 5)), layers.LayerNormalization()])
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3),
                               rtol=1e-5, atol=1e-5)


# -------------------------------------------------------------------------- tf.keras parity
def regression_data():
    """The parity fits' data: 5 batches of 8 rows of 5 features, 2 regression targets."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(40, 5)) * 2 + 0.5).astype(np.float32)
    return x, rng.normal(size=(40, 2)).astype(np.float32)


X, Y = regression_data()


@pytest.mark.parametrize("optimizer", [sgd, adam])
def test_normalizations_train_like_tf_keras(keras, optimizer):
    # The Dense before the batch normalization has no bias: the normalization subtracts it
    # again, so its gradient would be rounding noise, which Adam turns into lr-sized steps of
    # arbitrary sign in both libraries.
    def make(lib):
        return [lib.layers.Dense(8, use_bias=False),
                lib.layers.BatchNormalization(momentum=0.8, gamma_regularizer=lib.regularizers.L2(0.01)),
                lib.layers.Activation("tanh"), lib.layers.Dense(8),
                lib.layers.LayerNormalization(beta_regularizer="l2"), lib.layers.Activation("relu"),
                lib.layers.Dense(2)]

    tf_model, fd_model, histories = fit_both(keras, make, optimizer, X, Y, "mse")
    assert_same_training(tf_model, fd_model, histories, X)
    assert not np.allclose(fd_model.layers[1].moving_mean.numpy(), 0)  # the moving statistics moved


def test_frozen_batch_normalization_trains_like_tf_keras(keras):
    def make(lib):
        frozen = lib.layers.BatchNormalization()
        frozen.trainable = False
        return [lib.layers.Dense(8), frozen, lib.layers.Dense(2)]

    tf_model, fd_model, histories = fit_both(keras, make, adam, X, Y, "mse")
    assert len(fd_model.trainable_weights) == len(tf_model.trainable_weights) == 4
    assert_same_training(tf_model, fd_model, histories, X)


def test_normalizations_without_center_or_scale_train_like_tf_keras(keras):
    def make(lib):
        return [lib.layers.Dense(8, use_bias=False), lib.layers.BatchNormalization(center=False),
                lib.layers.Dense(8, use_bias=False), lib.layers.BatchNormalization(scale=False, epsilon=0.01),
                lib.layers.Dense(6), lib.layers.LayerNormalization(center=False),
                lib.layers.Dense(6), lib.layers.LayerNormalization(scale=False, epsilon=0.01),
                lib.layers.Dense(2)]

    tf_model, fd_model, histories = fit_both(keras, make, sgd, X, Y, "mse")
    assert [w.shape for w in fd_model.get_weights()] == [w.shape for w in tf_model.get_weights()]
    assert_same_training(tf_model, fd_model, histories, X)


# ---------------------------------------------------------------------------------- configs
@pytest.mark.parametrize("name", ["BatchNormalization", "LayerNormalization"])
def test_default_configs_match_keras(keras, name):
    ours, theirs = getattr(layers, name)(), getattr(keras.layers, name)()
    assert list(ours.get_config()) == list(theirs.get_config())
    assert config_without_name(ours) == config_without_name(theirs)
    ours.build((None, 3))
    theirs.build((None, 3))
    assert config_without_name(ours) == config_without_name(theirs)  # LayerNormalization: axis becomes [-1]
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]


def test_configs_round_trip():
    bn = layers.BatchNormalization(momentum=0.9, epsilon=0.01, center=False, gamma_regularizer="l2",
                                   beta_constraint="non_neg")
    rebuilt = layers.BatchNormalization.from_config(bn.get_config())
    assert config_without_name(rebuilt) == config_without_name(bn)
    ln = layers.LayerNormalization(axis=[-1], scale=False)
    assert config_without_name(layers.LayerNormalization.from_config(ln.get_config())) == config_without_name(ln)


def test_weights_in_keras_order():
    bn = layers.BatchNormalization()
    bn.build((None, 4))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    bn.trainable = False
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4
    ln = layers.LayerNormalization(center=False)
    ln.build((None, 4))
    assert [w.name for w in ln.weights] == ["gamma"]


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("kwargs,error,message", [
    ({"renorm": True}, ValueError, "renorm"),
    ({"axis": "features"}, TypeError, "axis"),
    ({"axis": [1, 2]}, TypeError, "axis"),
    ({"momentum": "high"}, ValueError, "momentum"),
    ({"momentum": float("nan")}, ValueError, "momentum"),
    ({"epsilon": -1e-3}, ValueError, "epsilon"),
    ({"unknown": 1}, TypeError, "unknown"),
])
def test_batch_normalization_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        layers.BatchNormalization(**kwargs)


@pytest.mark.parametrize("kwargs,error,message", [
    ({"rms_scaling": True}, ValueError, "rms_scaling"),
    ({"axis": 1.5}, TypeError, "axis"),
    ({"axis": []}, ValueError, "axis"),
    ({"epsilon": None}, ValueError, "epsilon"),
])
def test_layer_normalization_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        layers.LayerNormalization(**kwargs)


def test_normalization_rejects_bad_input_shapes():
    with pytest.raises(ValueError, match="out of bounds"):
        layers.BatchNormalization(axis=2)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="non-batch"):
        layers.LayerNormalization(axis=0)(np.zeros((2, 3), np.float32))
    bn = layers.BatchNormalization()
    bn(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="incompatible"):
        bn(np.zeros((2, 4), np.float32))


def test_native_bindings_validate_arrays():
    net = _core.Network("float64")
    x = net.add_input(3)
    ok = np.ones(3)
    with pytest.raises(ValueError, match=r"gamma: expected shape \(3,\), got \(4,\)"):
        net.add_batch_normalization(x, np.ones(4), ok.copy(), ok.copy(), ok.copy())
    with pytest.raises(ValueError, match="moving_variance: expected dtype float64, got float32"):
        net.add_batch_normalization(x, None, None, ok.copy(), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="moving_mean: array must be C-contiguous"):
        net.add_batch_normalization(x, None, None, np.ones(6)[::2], ok.copy())
    with pytest.raises(ValueError, match="epsilon"):
        net.add_batch_normalization(x, None, None, ok.copy(), ok.copy(), epsilon=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        net.add_batch_normalization(x, None, None, ok.copy(), ok.copy(), momentum=float("inf"))
    with pytest.raises(ValueError, match=r"beta: expected shape \(3,\), got \(3, 1\)"):
        net.add_layer_normalization(x, None, np.ones((3, 1)))
    with pytest.raises(ValueError, match="epsilon"):
        net.add_layer_normalization(x, None, None, epsilon=float("nan"))
    with pytest.raises(ValueError, match="no layer with id 7"):
        net.add_layer_normalization(7, None, None)
    with pytest.raises(ValueError, match="unknown constraint"):
        net.add_layer_normalization(x, ok.copy(), None, gamma_constraint={"name": "clip"})
