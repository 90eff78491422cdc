"""fastdense.autodiff's API and how fastdense's own pieces behave in traced code: vjp, value_and_grad,
GradientTape, Variables, activations and losses, issue 6's custom components, clear errors, and
plain NumPy in / plain NumPy out outside traces."""

import threading

import numpy as np
import pytest

from fastdense import activations, autodiff, layers, losses, ops
from fastdense.variables import Variable
from gradcheck import numerical_gradient, relative_error

rng = np.random.default_rng(99)


# -------------------------------------------- issue 6's custom pieces (Custom components)

def scaled_tanh(x):
    return 1.7159 * np.tanh(2.0 / 3.0 * x)


def scaled_tanh_ops(x):
    return ops.multiply(1.7159, ops.tanh(ops.multiply(2.0 / 3.0, x)))


def weighted_mse(y_true, y_pred):
    return np.mean((y_true - y_pred) ** 2 * (1 + np.abs(y_true)), axis=-1)


def weighted_mse_ops(y_true, y_pred):
    return ops.mean(ops.multiply(ops.square(ops.subtract(y_true, y_pred)), ops.add(1.0, ops.abs(y_true))), axis=-1)


class Scale(layers.Layer):
    def build(self, input_shape):
        self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.s + np.sin(x)


class ScaleOps(Scale):
    def call(self, x):
        return ops.add(ops.multiply(x, self.s), ops.sin(x))


class MyDense(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, x):
        return activations.relu(x @ self.kernel + self.bias, alpha=0.1)


@pytest.mark.parametrize("fn", [scaled_tanh, scaled_tanh_ops])
def test_scaled_tanh(fn):
    x = rng.normal(size=(5, 3))
    dy = rng.normal(size=(5, 3))
    y, pullback = autodiff.vjp(fn, x)
    np.testing.assert_allclose(y, 1.7159 * np.tanh(2 / 3 * x), rtol=1e-15)
    (dx,), _ = pullback(dy)
    np.testing.assert_allclose(dx, dy * 1.7159 * 2 / 3 * (1 - np.tanh(2 / 3 * x) ** 2), rtol=1e-13)


@pytest.mark.parametrize("fn", [weighted_mse, weighted_mse_ops])
def test_weighted_mse(fn):
    y_true, y_pred, dl = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=6)
    loss, pullback = autodiff.vjp(fn, y_true, y_pred, argnums=(1,))
    np.testing.assert_allclose(loss, np.mean((y_true - y_pred) ** 2 * (1 + np.abs(y_true)), axis=-1), rtol=1e-14)
    (dp,), _ = pullback(dl)
    expected = dl[:, None] * 2 * (y_pred - y_true) * (1 + np.abs(y_true)) / 4
    np.testing.assert_allclose(dp, expected, rtol=1e-13)


@pytest.mark.parametrize("layer_class", [Scale, ScaleOps])
def test_custom_layer_with_its_own_weight(layer_class):
    layer = layer_class(dtype="float64")
    x, dy = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    layer(x)  # builds it
    layer.s.assign(rng.normal(size=3))
    y, pullback = autodiff.vjp(layer.call, x, variables=layer.trainable_weights)
    np.testing.assert_allclose(y, x * layer.s.numpy() + np.sin(x), rtol=1e-15)
    assert pullback.variables == [layer.s]
    grads = pullback(dy)
    np.testing.assert_allclose(grads.inputs[0], dy * (layer.s.numpy() + np.cos(x)), rtol=1e-14)
    np.testing.assert_allclose(grads.variables[0], np.sum(dy * x, axis=0), rtol=1e-14)


def test_dense_layer_with_kernel_and_bias_against_finite_differences():
    layer = MyDense(4, dtype="float64")
    x = rng.normal(size=(6, 3))
    layer(x)
    layer.bias.assign(rng.normal(size=4))
    dy = rng.normal(size=(6, 4))
    _, pullback = autodiff.vjp(layer.call, x, variables=layer.trainable_weights)
    grads = pullback(dy)

    def weighted(variable):
        def f(value):
            saved = variable.numpy()
            variable.assign(value)
            out = float(np.sum(dy * layer.call(x)))
            variable.assign(saved)
            return out
        return f

    assert relative_error(grads.inputs[0], numerical_gradient(lambda v: float(np.sum(dy * layer.call(v))), x)) < 1e-6
    for variable, g in zip(layer.trainable_weights, grads.variables):
        assert relative_error(g, numerical_gradient(weighted(variable), variable.numpy())) < 1e-6


def test_issue_examples_match_tf_gradient_tape():
    tf = pytest.importorskip("tensorflow")
    x, y_true, s = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=3)
    dy, dl = rng.normal(size=(5, 3)), rng.normal(size=5)
    # custom activation, written with tf ops for TensorFlow
    y, pullback = autodiff.vjp(scaled_tanh, x)
    (tf_dx,) = _tf_vjp(tf, lambda t: 1.7159 * tf.tanh(2.0 / 3.0 * t), [x], dy)
    np.testing.assert_allclose(pullback(dy).inputs[0], tf_dx, rtol=1e-13)
    # custom loss
    tf_loss = lambda t, p: tf.reduce_mean((t - p) ** 2 * (1 + tf.abs(t)), axis=-1)  # noqa: E731
    _, pullback = autodiff.vjp(weighted_mse, y_true, x, argnums=(1,))
    np.testing.assert_allclose(pullback(dl).inputs[0], _tf_vjp(tf, tf_loss, [y_true, x], dl)[1], rtol=1e-13)
    # custom layer
    layer = Scale(dtype="float64")
    layer(x)
    layer.s.assign(s)
    _, pullback = autodiff.vjp(layer.call, x, variables=layer.trainable_weights)
    grads = pullback(dy)
    tf_dx, tf_ds = _tf_vjp(tf, lambda t, w: t * w + tf.sin(t), [x, s], dy)
    np.testing.assert_allclose(grads.inputs[0], tf_dx, rtol=1e-13)
    np.testing.assert_allclose(grads.variables[0], tf_ds, rtol=1e-13)


def _tf_vjp(tf, fn, args, output_gradient):
    tensors = [tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        out = fn(*tensors)
    return [g.numpy() for g in tape.gradient(out, tensors, output_gradients=tf.constant(output_gradient))]


def test_custom_regularizer_on_a_variable():
    w = Variable(rng.normal(size=(3, 2)), name="kernel", dtype="float64")
    regularizer = lambda w: 0.01 * np.sum(np.abs(w))  # noqa: E731
    assert type(regularizer(w)) in (np.float64, np.ndarray)  # outside a trace: plain NumPy
    value, pullback = autodiff.vjp(regularizer, w, variables=[w])
    np.testing.assert_allclose(value, 0.01 * np.abs(w.numpy()).sum())
    grads = pullback(1.0)
    np.testing.assert_allclose(grads.inputs[0], 0.01 * np.sign(w.numpy()))
    np.testing.assert_allclose(grads.variables[0], 0.01 * np.sign(w.numpy()))


# --------------------------------------------------------------------------------- Variables

def test_variable_outside_a_trace_computes_plain_arrays():
    v = Variable(np.arange(6.0).reshape(2, 3), name="w")
    x = np.ones((4, 2), dtype=np.float32)
    for result in (v * 2, 2 - v, v / 3, v ** 2, -v, abs(v), x @ v, v.T @ np.ones(2, np.float32), np.tanh(v),
                   np.sum(v, axis=0), np.concatenate([v, v]), v[0], v[:, 1:], ops.tanh(v), activations.relu(v),
                   np.maximum(v, 2.0), v > 1):
        assert type(result) is np.ndarray
    np.testing.assert_array_equal(x @ v, x @ v.numpy())
    np.testing.assert_array_equal(np.tanh(v), np.tanh(v.numpy()))
    assert v.ndim == 2 and len(v) == 2


def test_variable_keeps_its_api_and_identity():
    v = Variable(np.zeros(3), name="b", trainable=False, path="dense/b")
    w = Variable(np.zeros(3), name="b")
    assert v != w and v == v and {v: 1}[v] == 1 and [w, v].index(v) == 1
    assert v.shape == (3,) and v.dtype == "float32" and v.size == 3 and v.path == "dense/b"
    v.assign([1, 2, 3])
    np.testing.assert_array_equal(np.asarray(v), [1, 2, 3])
    assert np.asarray(v) is v.value  # the live array, as the native network needs
    assert "Variable" in repr(v)


def test_variable_gradient_accumulates_over_all_its_uses():
    w = Variable(rng.normal(size=3), name="w", dtype="float64")
    x = rng.normal(size=(4, 3))
    _, pullback = autodiff.vjp(lambda x: w * x + w ** 2 + np.tanh(w) + w[1] * x, x, variables=[w])
    dy = rng.normal(size=(4, 3))
    g = pullback(dy).variables[0]
    value = w.numpy()
    expected = (dy * x).sum(0) + 2 * value * dy.sum(0) + (1 - np.tanh(value) ** 2) * dy.sum(0)
    expected[1] += np.sum(dy * x)
    np.testing.assert_allclose(g, expected, rtol=1e-13)


def test_trainable_variables_are_watched_on_use_and_non_trainable_ones_are_constants():
    a = Variable(np.ones(2), name="a", dtype="float64")
    b = Variable(np.full(2, 3.0), name="b", dtype="float64", trainable=False)
    c = Variable(np.full(2, 5.0), name="c", dtype="float64")
    _, pullback = autodiff.vjp(lambda x: x * b + a * c + a, np.ones(2))
    assert pullback.variables == [a, c]
    grads = pullback(np.ones(2))
    np.testing.assert_array_equal(grads.inputs[0], [3, 3])
    np.testing.assert_array_equal(grads.variables[0], [6, 6])
    np.testing.assert_array_equal(grads.variables[1], [1, 1])


def test_explicit_variables_only_those_are_traced_and_unused_ones_get_zeros():
    a = Variable(np.ones(2), name="a", dtype="float64")
    unused = Variable(np.ones((2, 2)), name="unused", dtype="float32")
    other = Variable(np.full(2, 2.0), name="other", dtype="float64")
    _, pullback = autodiff.vjp(lambda x: x * a * other, np.ones(2), variables=[unused, a])
    grads = pullback(np.ones(2))
    assert pullback.variables == [unused, a]
    np.testing.assert_array_equal(grads.variables[0], np.zeros((2, 2)))
    assert grads.variables[0].dtype == np.float32
    np.testing.assert_array_equal(grads.variables[1], [2, 2])


def test_variable_used_directly_as_output():
    w = Variable(rng.normal(size=3), name="w", dtype="float64")
    out, pullback = autodiff.vjp(lambda x: (w, x * 2), np.ones(3), variables=[w])
    np.testing.assert_array_equal(out[0], w.numpy())
    grads = pullback([np.full(3, 4.0), None])
    np.testing.assert_array_equal(grads.variables[0], np.full(3, 4.0))
    np.testing.assert_array_equal(grads.inputs[0], np.zeros(3))


# ----------------------------------------------------------------------------------- activations

@pytest.mark.parametrize("name", [n for n in activations._BUILTINS])
def test_activation_in_traced_code_equals_its_plain_value_and_native_derivative(name):
    from fastdense import _core
    f = getattr(activations, name)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    y, pullback = autodiff.vjp(f, x)
    # Equal up to float32 rounding: the engine's SIMD loops peel unaligned ends differently.
    np.testing.assert_allclose(y, f(x), rtol=1e-6, atol=1e-7)
    assert y.dtype == np.float32 and type(y) is np.ndarray
    dy = rng.normal(size=(4, 5)).astype(np.float32)
    dx = pullback(dy).inputs[0]
    assert dx.dtype == np.float32
    config = activations.native_config(f)
    if name in ("softmax", "log_softmax"):
        expected = _core.activation_backward(config, x, f(x), dy)
    else:
        expected = _core.activation_backward(config, x.reshape(1, -1), f(x).reshape(1, -1), dy.reshape(1, -1))
    np.testing.assert_allclose(dx, expected.reshape(4, 5), rtol=1e-6, atol=1e-7)


def test_activation_keyword_arguments_in_traced_code():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    y, pullback = autodiff.vjp(lambda t: activations.relu(t, alpha=0.1, max_value=2.0), x)
    np.testing.assert_allclose(y, [[-0.2, -0.05, 0.5, 2.0]])
    np.testing.assert_allclose(pullback(np.ones_like(x)).inputs[0], [[0.1, 0.1, 1.0, 0.0]])


def test_threshold_with_its_arguments_in_traced_code():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    y, pullback = autodiff.vjp(lambda t: activations.threshold(t, 0.5, -1.0), x)
    np.testing.assert_array_equal(y, [[-1.0, -1.0, -1.0, 3.0]])  # 0.5 is not above the threshold
    np.testing.assert_array_equal(pullback(np.full_like(x, 2.0)).inputs[0], [[0.0, 0.0, 0.0, 2.0]])


def test_activation_on_a_variable_inside_a_trace():
    w = Variable(np.array([-1.0, 0.5, 2.0]), name="w", dtype="float64")
    _, pullback = autodiff.vjp(lambda x: x * activations.sigmoid(w), np.ones(3), variables=[w])
    s = 1 / (1 + np.exp(-w.numpy()))
    np.testing.assert_allclose(pullback(np.ones(3)).variables[0], s * (1 - s), rtol=1e-14)


def test_activations_on_plain_input_return_plain_arrays():
    for name, f in activations._BUILTINS.items():
        out = f(np.linspace(-2, 2, 6).reshape(2, 3))
        assert type(out) is np.ndarray, name


# ---------------------------------------------------------------------------------------- losses

def test_builtin_loss_in_a_custom_loss():
    y_true, y_pred = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))

    def custom(t, p):
        return losses.mean_squared_error(t, p) + 0.5 * losses.mean_absolute_error(t, p)

    value, pullback = autodiff.vjp(custom, y_true, y_pred, argnums=(1,))
    np.testing.assert_allclose(value, np.mean((y_true - y_pred) ** 2, -1) + 0.5 * np.mean(np.abs(y_true - y_pred), -1))
    dl = rng.normal(size=5)
    expected = dl[:, None] * (2 * (y_pred - y_true) + 0.5 * np.sign(y_pred - y_true)) / 3
    np.testing.assert_allclose(pullback(dl).inputs[0], expected, rtol=1e-13)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"])
def test_loss_object_in_traced_code(reduction):
    y_true, y_pred = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    weights = rng.uniform(0.5, 2.0, size=5)
    loss = losses.MeanSquaredError(reduction=reduction, dtype="float64")
    value, pullback = autodiff.vjp(lambda p: loss(y_true, p, sample_weight=weights), y_pred)
    np.testing.assert_allclose(value, loss(y_true, y_pred, sample_weight=weights), rtol=1e-14)
    seed = rng.normal(size=np.shape(value))
    numeric = numerical_gradient(lambda p: float(np.sum(seed * loss(y_true, p, sample_weight=weights))), y_pred)
    assert relative_error(pullback(seed).inputs[0], numeric) < 1e-6


def test_custom_loss_wrapped_in_a_loss_function_wrapper():
    wrapper = losses.LossFunctionWrapper(weighted_mse, dtype="float64")
    y_true, y_pred = rng.normal(size=(4, 1)), rng.normal(size=(4,))  # rank alignment expands y_pred
    value, pullback = autodiff.vjp(lambda p: wrapper(y_true, p), y_pred)
    np.testing.assert_allclose(value, wrapper(y_true, y_pred))
    numeric = numerical_gradient(lambda p: float(wrapper(y_true, p)), y_pred)
    assert relative_error(pullback(1.0).inputs[0], numeric) < 1e-6


def test_builtin_loss_has_no_gradient_with_respect_to_y_true():
    y_true, y_pred = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    _, pullback = autodiff.vjp(losses.mean_squared_error, y_true, y_pred)  # both traced
    with pytest.raises(NotImplementedError, match="mean_squared_error.*y_true"):
        pullback(np.ones(3))


def test_losses_on_plain_input_return_plain_arrays():
    y_true, y_pred = rng.uniform(0.1, 0.9, size=(4, 3)), rng.uniform(0.1, 0.9, size=(4, 3))
    assert type(losses.mean_squared_error(y_true, y_pred)) is np.ndarray
    assert type(losses.binary_crossentropy(y_true, y_pred)) is np.ndarray
    assert isinstance(losses.MeanSquaredError()(y_true, y_pred), float)


# ----------------------------------------------------------------------------- API behaviour

def test_value_and_grad_and_grad():
    x, y = rng.normal(size=3), rng.normal(size=3)
    value, g = autodiff.value_and_grad(lambda a, b: np.sum(a * b))(x, y)
    np.testing.assert_allclose(value, np.sum(x * y))
    np.testing.assert_allclose(g, y)
    ga, gb = autodiff.grad(lambda a, b: np.sum(a ** 2 * b), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(ga, 2 * x * y)
    np.testing.assert_allclose(gb, x ** 2)
    with pytest.raises(ValueError, match="scalar output"):
        autodiff.value_and_grad(lambda a: a * 2)(x)


def test_gradient_tape_like_tensorflow():
    w = Variable(rng.normal(size=(3, 2)), name="w", dtype="float64")
    x = rng.normal(size=(4, 3))
    with autodiff.GradientTape() as tape:
        xt = tape.watch(x)
        hidden = xt @ w
        y = np.sum(np.tanh(hidden))
    dx, dw, dhidden = tape.gradient(y, [xt, w, hidden])
    dh = 1 - np.tanh(x @ w.numpy()) ** 2
    np.testing.assert_allclose(dhidden, dh)
    np.testing.assert_allclose(dx, dh @ w.numpy().T)
    np.testing.assert_allclose(dw, x.T @ dh)
    # the tape can be asked again, with output gradients; unconnected sources give None or zeros
    unused = Variable(np.ones(2), name="unused")
    seed = np.full(hidden.shape, 2.0)
    assert tape.gradient(hidden, [unused]) == [None]
    np.testing.assert_array_equal(tape.gradient(hidden, unused, unconnected_gradients="zero"), np.zeros(2))
    np.testing.assert_allclose(tape.gradient(hidden, xt, output_gradients=seed), seed @ w.numpy().T)


def test_pullback_outputs_dtypes_and_reuse():
    x32 = rng.normal(size=(3, 4)).astype(np.float32)
    out, pullback = autodiff.vjp(lambda x: (x * np.float64(2.0), np.sum(x)), x32)
    assert out[0].dtype == np.float64 and out[1].dtype == np.float32 and isinstance(out, tuple)
    seed = (np.ones((3, 4)), np.array(1.0))
    first = pullback(seed).inputs[0]
    assert first.dtype == np.float32 and first.flags.c_contiguous
    np.testing.assert_array_equal(first, np.full((3, 4), 3.0))
    np.testing.assert_array_equal(pullback(seed).inputs[0], first)
    with pytest.raises(ValueError, match="does not match"):
        pullback((np.ones((4, 3)), np.array(1.0)))
    with pytest.raises(ValueError, match="2 output"):
        pullback(np.ones((3, 4)))


def test_gradient_never_aliases_the_output_gradient():
    dy = np.ones((2, 3))
    _, pullback = autodiff.vjp(lambda x: x + 0.0, np.zeros((2, 3)))
    dx = pullback(dy).inputs[0]
    dx += 1
    np.testing.assert_array_equal(dy, np.ones((2, 3)))


def test_constant_output_and_non_traced_arguments():
    labels = np.array([0, 2, 1])
    out, pullback = autodiff.vjp(lambda p, labels: np.take_along_axis(p, labels[:, None], axis=1)[:, 0] + np.zeros(3),
                                 rng.normal(size=(3, 4)), labels, argnums=0)
    g = pullback(np.ones(3)).inputs[0]
    np.testing.assert_array_equal(g, np.eye(4)[labels])
    out, pullback = autodiff.vjp(lambda x: np.zeros_like(x), np.ones(2))
    np.testing.assert_array_equal(pullback(np.ones(2)).inputs[0], np.zeros(2))


def test_traced_array_behaves_like_an_array():
    x = np.arange(6.0).reshape(2, 3)
    with autodiff.GradientTape() as tape:
        t = tape.watch(x)
        assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64 and len(t) == 2
        assert [row.shape for row in t] == [(3,), (3,)]
        assert t[1, 2].item() == 5.0 and bool(t[0, 1]) and t[1, 0].value == 3.0
        with pytest.raises(TypeError, match="item"):
            float(t[0, 0])  # NumPy calls float() when storing into an array: it would cut the gradient
        assert t.tolist() == x.tolist() and t.value is x
        assert "TracedArray" in repr(t) and t.T.shape == (3, 2) and t.argmax() == 5
        assert type(t == 1.0) is np.ndarray and type(t > 1.0) is np.ndarray
        assert isinstance(t.sum(), autodiff.TracedArray)


def test_plain_arrays_are_never_traced_inside_a_tape():
    with autodiff.GradientTape() as tape:
        tape.watch(np.ones(2))
        assert type(np.tanh(np.ones(3)) @ np.ones(3)) is np.float64
        assert type(ops.add(np.ones(2), 1.0)) is np.ndarray
        assert not autodiff.is_traced(np.ones(2), 3.0)


def test_tapes_are_per_thread():
    seen = []
    w = Variable(np.ones(2), name="w")
    with autodiff.GradientTape():
        thread = threading.Thread(target=lambda: seen.append(type(w * 2)))
        thread.start()
        thread.join()
    assert seen == [np.ndarray]


# ----------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("fn, message", [
    (lambda x: np.remainder(x, 2.0), "np.remainder is not supported"),
    (lambda x: x % 2.0, "np.remainder is not supported"),
    (lambda x: np.fmax(x, 0.0), "np.fmax is not supported"),
    (lambda x: np.nansum(x), "np.nansum is not supported"),
    (lambda x: np.fft.fft(x), "np.fft.fft is not supported"),
    (lambda x: np.linalg.inv(x), "np.linalg.inv is not supported"),
    (lambda x: np.add.accumulate(x), "np.add.accumulate is not supported"),
    (lambda x: np.exp(x, out=np.empty((2, 2))), "writes in place"),
    (lambda x: np.sum(x, where=x > 0), "where"),
    (lambda x: np.asarray(x), "cannot be converted to a plain NumPy array"),
    (lambda x: np.array(x) * 2, "cannot be converted"),
    (lambda x: np.sum(x).item(), "returned a Python float"),
    (lambda x: float(np.sum(x)), "cut its gradient"),
    (lambda x: np.ones(2) * __import__("math").exp(x[0, 0]), "cut its gradient"),
    (lambda x: np.einsum("...i,i", x, x[0]), "'...' is not supported"),
    (lambda x: np.einsum("ii->i", x), "repeated index"),
    (lambda x: np.linalg.norm(x, ord=2), "need an SVD"),
    (lambda x: x.reshape(4, order="F"), "order='C'"),
    (lambda x: _assign_with_int_array(x), "integer-array indices"),
    (lambda x: x * 1j, "complex128 result"),
])
def test_unsupported_operations_raise_clear_errors(fn, message):
    with pytest.raises((TypeError, NotImplementedError), match=message):
        autodiff.vjp(fn, rng.normal(size=(2, 2)))


def _assign_with_int_array(x):
    y = x * 1.0
    y[[0, 0]] = 1.0
    return y


@pytest.mark.parametrize("index", [0, slice(None)])
def test_writing_a_traced_value_into_a_numpy_array_raises(index):
    def fn(x):
        buffer = np.zeros(2)
        buffer[index] = x[index]
        return x
    with pytest.raises((TypeError, ValueError)):  # NumPy's wording for a scalar, ours for an array
        autodiff.vjp(fn, np.ones(2))


def test_traced_value_used_after_its_trace_raises():
    kept = []
    autodiff.vjp(lambda x: kept.append(x) or x * 2, np.ones(2))
    with pytest.raises(RuntimeError, match="after its trace ended"):
        np.tanh(kept[0])


def test_values_of_two_traces_cannot_be_mixed():
    with autodiff.GradientTape() as outer:
        a = outer.watch(np.ones(2))
        with autodiff.GradientTape() as inner:
            b = inner.watch(np.ones(2))
            with pytest.raises(ValueError, match="two different traces"):
                a + b
            assert isinstance(b * 2, autodiff.TracedArray)  # each tape on its own works


def test_only_float_arrays_are_differentiated():
    with pytest.raises(TypeError, match="float arrays"):
        autodiff.vjp(lambda x: x * 2, np.arange(3))
    out, pullback = autodiff.vjp(lambda x, n: x * n, np.ones(3), np.arange(3), argnums=0)
    np.testing.assert_array_equal(pullback(np.ones(3)).inputs[0], [0, 1, 2])
