"""Activations: native forward/backward against NumPy formulas, finite differences and tf.keras;
the Python module (shapes, dtypes, get/serialize); and bad input at the native boundary."""

import math
from collections import namedtuple

import numpy as np
import pytest

from fastdense import _core
from fastdense import activations
from gradcheck import numerical_gradient, relative_error

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
erf = np.vectorize(math.erf, otypes=[np.float64])


def np_sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def np_softplus(z):
    return np.logaddexp(0.0, z)


def np_softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_hard_sigmoid(z):
    return np.clip(z + 3, 0, 6) / 6


# config: the native config; numpy: an independent float64 formula; keras: the same call on
# keras.activations (K); kinks: points where the function is not differentiable.
Case = namedtuple("Case", "config numpy keras kinks")
CASES = {
    "linear": Case({"name": "linear"}, lambda z: z, lambda K, z: K.linear(z), ()),
    "relu": Case({"name": "relu"}, lambda z: np.maximum(z, 0), lambda K, z: K.relu(z), (0.0,)),
    "relu_slope": Case({"name": "relu", "negative_slope": 0.1}, lambda z: np.where(z > 0, z, 0.1 * z),
                       lambda K, z: K.relu(z, negative_slope=0.1), (0.0,)),
    "relu_max6": Case({"name": "relu", "max_value": 6.0}, lambda z: np.clip(z, 0, 6),
                      lambda K, z: K.relu(z, max_value=6.0), (0.0, 6.0)),
    "relu_max2.5": Case({"name": "relu", "max_value": 2.5}, lambda z: np.clip(z, 0, 2.5),
                        lambda K, z: K.relu(z, max_value=2.5), (0.0, 2.5)),
    "relu_threshold": Case({"name": "relu", "threshold": 0.5}, lambda z: np.where(z > 0.5, z, 0.0),
                           lambda K, z: K.relu(z, threshold=0.5), (0.5,)),
    # Without a max_value nothing clips at 0, so values in (-1, 0) pass through.
    "relu_negative_threshold": Case({"name": "relu", "threshold": -1.0}, lambda z: np.where(z > -1, z, 0.0),
                                    lambda K, z: K.relu(z, threshold=-1.0), (-1.0,)),
    "relu_all": Case({"name": "relu", "alpha": 0.1, "max_value": 2.5, "threshold": 0.5},
                     lambda z: np.clip(np.where(z > 0.5, z, 0.0), 0, 2.5) - 0.1 * np.maximum(0.5 - z, 0),
                     lambda K, z: K.relu(z, negative_slope=0.1, max_value=2.5, threshold=0.5), (0.5, 2.5)),
    "relu_slope_max6": Case({"name": "relu", "alpha": 0.1, "max_value": 6.0},
                            lambda z: np.clip(z, 0, 6) - 0.1 * np.maximum(-z, 0),
                            lambda K, z: K.relu(z, negative_slope=0.1, max_value=6.0), (0.0, 6.0)),
    "sigmoid": Case({"name": "sigmoid"}, np_sigmoid, lambda K, z: K.sigmoid(z), ()),
    "softmax": Case({"name": "softmax"}, np_softmax, lambda K, z: K.softmax(z), ()),
    "log_softmax": Case({"name": "log_softmax"}, np_log_softmax, lambda K, z: K.log_softmax(z), ()),
    "tanh": Case({"name": "tanh"}, np.tanh, lambda K, z: K.tanh(z), ()),
    "elu": Case({"name": "elu"}, lambda z: np.where(z > 0, z, np.expm1(z)), lambda K, z: K.elu(z), (0.0,)),
    "elu_0.5": Case({"name": "elu", "alpha": 0.5}, lambda z: np.where(z > 0, z, 0.5 * np.expm1(z)),
                    lambda K, z: K.elu(z, alpha=0.5), (0.0,)),
    "selu": Case({"name": "selu"}, lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(z)),
                 lambda K, z: K.selu(z), (0.0,)),
    "softplus": Case({"name": "softplus"}, np_softplus, lambda K, z: K.softplus(z), ()),
    "softsign": Case({"name": "softsign"}, lambda z: z / (1 + np.abs(z)), lambda K, z: K.softsign(z), ()),
    "silu": Case({"name": "silu"}, lambda z: z * np_sigmoid(z), lambda K, z: K.silu(z), ()),
    "gelu": Case({"name": "gelu"}, lambda z: 0.5 * z * (1 + erf(z / np.sqrt(2))), lambda K, z: K.gelu(z), ()),
    "gelu_approximate": Case(
        {"name": "gelu", "approximate": True},
        lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
        lambda K, z: K.gelu(z, approximate=True), ()),
    "exponential": Case({"name": "exponential"}, np.exp, lambda K, z: K.exponential(z), ()),
    "hard_sigmoid": Case({"name": "hard_sigmoid"}, np_hard_sigmoid, lambda K, z: K.hard_sigmoid(z),
                         (-3.0, 3.0)),
    "hard_silu": Case({"name": "hard_silu"}, lambda z: z * np_hard_sigmoid(z), lambda K, z: K.hard_silu(z),
                      (-3.0, 3.0)),
    "leaky_relu": Case({"name": "leaky_relu"}, lambda z: np.where(z > 0, z, 0.2 * z),
                       lambda K, z: K.leaky_relu(z), (0.0,)),
    "leaky_relu_0.1": Case({"name": "leaky_relu", "negative_slope": 0.1}, lambda z: np.where(z > 0, z, 0.1 * z),
                           lambda K, z: K.leaky_relu(z, negative_slope=0.1), (0.0,)),
    "relu6": Case({"name": "relu6"}, lambda z: np.clip(z, 0, 6), lambda K, z: K.relu6(z), (0.0, 6.0)),
    "mish": Case({"name": "mish"}, lambda z: z * np.tanh(np_softplus(z)), lambda K, z: K.mish(z), ()),
    # Keras 3.7-3.9 additions; celu is smooth, but TF's gradient at exactly 0 is 2 (see Activation.cpp).
    "celu": Case({"name": "celu"}, lambda z: np.where(z > 0, z, np.expm1(z)), lambda K, z: K.celu(z), (0.0,)),
    "celu_0.5": Case({"name": "celu", "alpha": 0.5}, lambda z: np.where(z > 0, z, 0.5 * np.expm1(z / 0.5)),
                     lambda K, z: K.celu(z, alpha=0.5), (0.0,)),
    "hard_tanh": Case({"name": "hard_tanh"}, lambda z: np.clip(z, -1, 1), lambda K, z: K.hard_tanh(z), (-1.0, 1.0)),
    "log_sigmoid": Case({"name": "log_sigmoid"}, lambda z: -np_softplus(-z), lambda K, z: K.log_sigmoid(z), ()),
    "soft_shrink": Case({"name": "soft_shrink"}, lambda z: np.sign(z) * np.maximum(np.abs(z) - 0.5, 0),
                        lambda K, z: K.soft_shrink(z), (-0.5, 0.5)),
    "soft_shrink_2": Case({"name": "soft_shrink", "threshold": 2.0},
                          lambda z: np.sign(z) * np.maximum(np.abs(z) - 2, 0),
                          lambda K, z: K.soft_shrink(z, threshold=2.0), (-2.0, 2.0)),
    "hard_shrink": Case({"name": "hard_shrink"}, lambda z: np.where(np.abs(z) > 0.5, z, 0.0),
                        lambda K, z: K.hard_shrink(z), (-0.5, 0.5)),
    "tanh_shrink": Case({"name": "tanh_shrink"}, lambda z: z - np.tanh(z), lambda K, z: K.tanh_shrink(z), ()),
    "squareplus": Case({"name": "squareplus"}, lambda z: (z + np.sqrt(z * z + 4)) / 2,
                       lambda K, z: K.squareplus(z), ()),
    "squareplus_1": Case({"name": "squareplus", "b": 1.0}, lambda z: (z + np.sqrt(z * z + 1)) / 2,
                         lambda K, z: K.squareplus(z, b=1.0), ()),
    "threshold": Case({"name": "threshold", "threshold": 0.5, "default_value": -1.0},
                      lambda z: np.where(z > 0.5, z, -1.0), lambda K, z: K.threshold(z, 0.5, -1.0), (0.5,)),
    "sparse_plus": Case({"name": "sparse_plus"},
                        lambda z: np.where(z <= -1, 0.0, np.where(z < 1, (z + 1) ** 2 / 4, z)),
                        lambda K, z: K.sparse_plus(z), (-1.0, 1.0)),
    "sparse_sigmoid": Case({"name": "sparse_sigmoid"}, lambda z: np.clip((z + 1) / 2, 0, 1),
                           lambda K, z: K.sparse_sigmoid(z), (-1.0, 1.0)),
}
ALL_NAMES = sorted({case.config["name"] for case in CASES.values()})
# keras.activations.threshold(x, threshold, default_value) has no defaults: the tests that call
# each module function on its own, or run it by name, leave it to test_threshold_needs_its_arguments.
BY_NAME_ALONE = [name for name in ALL_NAMES if name != "threshold"]


def points(rng, case, shape, low=-5.0, high=8.0, margin=0.05):
    """Random points at least `margin` away from the case's kinks."""
    z = rng.uniform(low, high, size=4 * int(np.prod(shape)))
    for kink in case.kinks:
        z = z[np.abs(z - kink) > margin]
    return z[: int(np.prod(shape))].reshape(shape)


def points_with_kinks(rng, case, shape, dtype):
    """Random points with every kink (and both sides of it) planted in the first row."""
    z = rng.uniform(-5.0, 8.0, size=shape)
    planted = [v for k in case.kinks for v in (k, k - 0.25, k + 0.25)]
    z.flat[: len(planted)] = planted
    return z.astype(dtype)


# Eigen evaluates a block's unaligned head and tail with scalar std:: functions and the rest with
# SIMD kernels, which can differ in the last bit; so the same input at another address may differ
# by an ulp, and comparisons between two native runs use this tolerance instead of equality.
ULP_RTOL = 1e-15


def forward(config, z):
    return _core.activation_forward(config, z)


def backward(config, z, dy):
    return _core.activation_backward(config, z, forward(config, z), dy)


# ---------------------------------------------------------------------------------------------
# (a) gradients by central differences, float64

@pytest.mark.parametrize("case_id", sorted(CASES))
def test_backward_matches_finite_differences(case_id):
    case = CASES[case_id]
    rng = np.random.default_rng(1)
    z = points(rng, case, (4, 7), low=-4.0, high=7.0)
    dy = rng.standard_normal(z.shape)
    analytic = backward(case.config, z, dy)

    # d/dz_i of L = Σ dy ⊙ f(z); for softmax a change in z_i moves its whole row.
    numeric = numerical_gradient(lambda v: np.sum(dy * forward(case.config, v)), z)
    assert relative_error(analytic, numeric) < 1e-6, case_id


# ---------------------------------------------------------------------------------------------
# (b) forward values against the NumPy formulas

@pytest.mark.parametrize("case_id", sorted(CASES))
def test_forward_matches_numpy_formula(case_id):
    case = CASES[case_id]
    rng = np.random.default_rng(2)
    z = points_with_kinks(rng, case, (6, 9), np.float64)
    expected = case.numpy(z)
    np.testing.assert_allclose(forward(case.config, z), expected, rtol=1e-12, atol=1e-15)
    # float32: a few float32 ulps of the float64 truth.
    np.testing.assert_allclose(forward(case.config, z.astype(np.float32)), expected, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "softmax", "gelu", "mish", "elu"])
def test_large_arrays_take_the_threaded_path_with_the_same_values(name):
    # 300 x 200 = 60000 elements is above kParallelThreshold (32768), so the blocks run on OpenMP.
    case = CASES[name]
    rng = np.random.default_rng(3)
    z = rng.uniform(-6, 6, size=(300, 200))
    np.testing.assert_allclose(forward(case.config, z), case.numpy(z), rtol=1e-12, atol=1e-15)
    dy = rng.standard_normal(z.shape)
    small = backward(case.config, z[:10], dy[:10])
    # Softmax's row sums also depend on alignment, and dy - <dy, y> then cancels: hence not ULP_RTOL.
    np.testing.assert_allclose(backward(case.config, z, dy)[:10], small, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_float32_gradients_are_accurate(case_id):
    # The float64 path is checked by finite differences above; float32 must stay within a few ulps.
    case = CASES[case_id]
    rng = np.random.default_rng(8)
    z32 = points(rng, case, (20, 30), low=-12.0, high=12.0).astype(np.float32)
    dy32 = rng.standard_normal(z32.shape).astype(np.float32)
    expected = backward(case.config, z32.astype(np.float64), dy32.astype(np.float64))
    np.testing.assert_allclose(backward(case.config, z32, dy32), expected, rtol=2e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# (c) against tf.keras (Keras 3), float32

@pytest.fixture(scope="module")
def keras_activations(keras):
    return keras.activations


# Both sides compute in float32 with different exp/tanh/erf kernels, each within a few float32 ulps
# (1.2e-7 relative) of the truth, so they agree to ~1e-6 relative for |y| >= 1 and ~1e-6 absolute
# below (where an absolute bound is the meaningful one: e.g. gelu's 1 + erf cancels in its left tail).
KERAS_RTOL = KERAS_ATOL = 1e-6
# TensorFlow's own float32 gradients of these two lose up to 4e-6 to cancellation (1 + tanh(u) in
# approximate gelu's left tail, 1 - tanh² in mish for z > 5; measured against TF in float64). Ours
# avoid it, so they can only agree to that level; test_float32_gradients_are_accurate holds ours to 1e-6.
KERAS_GRAD_ATOL = {"gelu_approximate": 1e-5, "mish": 1e-5}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_forward_matches_keras(case_id, keras_activations):
    case = CASES[case_id]
    z = points_with_kinks(np.random.default_rng(4), case, (16, 24), np.float32)
    expected = np.asarray(case.keras(keras_activations, z))
    np.testing.assert_allclose(forward(case.config, z), expected, rtol=KERAS_RTOL, atol=KERAS_ATOL)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_backward_matches_tensorflow_gradient_including_kinks(case_id, tf, keras_activations):
    # Exactly at a kink the derivative is a convention; it must be TensorFlow's.
    case = CASES[case_id]
    rng = np.random.default_rng(5)
    z = points_with_kinks(rng, case, (8, 12), np.float32)
    dy = rng.standard_normal(z.shape).astype(np.float32)
    z_var = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(z_var)
        y = case.keras(keras_activations, z_var)
    expected = tape.gradient(y, z_var, output_gradients=tf.constant(dy)).numpy()
    np.testing.assert_allclose(backward(case.config, z, dy), expected, rtol=KERAS_RTOL,
                               atol=KERAS_GRAD_ATOL.get(case_id, KERAS_ATOL))


def test_every_native_name_exists_in_keras(keras_activations):
    for name in list(activations._BY_NAME):
        assert callable(getattr(keras_activations, name)), name
    assert keras_activations.serialize(keras_activations.swish) == activations.serialize(activations.swish)
    assert keras_activations.serialize(keras_activations.hard_swish) == activations.serialize(activations.hard_swish)


# ---------------------------------------------------------------------------------------------
# (d) stability far out

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_give_finite_correct_values(dtype):
    z = np.array([[1000.0, -1000.0, 0.0]], dtype=dtype)
    expected = {
        "softplus": [1000.0, 0.0, np.log(2.0)],
        "sigmoid": [1.0, 0.0, 0.5],
        "softmax": [1.0, 0.0, 0.0],
        "log_softmax": [0.0, -2000.0, -1000.0],
        "mish": [1000.0, 0.0, 0.0],
        "silu": [1000.0, 0.0, 0.0],
        "tanh": [1.0, -1.0, 0.0],
    }
    for name, values in expected.items():
        y = forward({"name": name}, z)
        assert np.all(np.isfinite(y)), name
        np.testing.assert_allclose(y, [values], rtol=1e-6, atol=1e-30, err_msg=name)
        dz = _core.activation_backward({"name": name}, z, y, np.ones_like(z))
        assert np.all(np.isfinite(dz)), name


def test_extreme_input_gradients_are_correct():
    z = np.array([[1000.0, -1000.0]])
    ones = np.ones_like(z)
    np.testing.assert_allclose(backward({"name": "softplus"}, z, ones), [[1.0, 0.0]], atol=1e-300)
    np.testing.assert_allclose(backward({"name": "sigmoid"}, z, ones), [[0.0, 0.0]], atol=1e-300)
    np.testing.assert_allclose(backward({"name": "mish"}, z, ones), [[1.0, 0.0]], atol=1e-300)
    # log_softmax: all probability on the first entry, so dz = dy - p * Σdy = [1 - 2, 1 - 0].
    np.testing.assert_allclose(backward({"name": "log_softmax"}, z, ones), [[-1.0, 1.0]])


# ---------------------------------------------------------------------------------------------
# (e) the Python module

def test_module_functions_match_native_and_keep_shape():
    z = np.random.default_rng(6).standard_normal((2, 3, 4))
    for name in BY_NAME_ALONE:
        fn = getattr(activations, name)
        y = fn(z)
        assert y.shape == z.shape and y.dtype == np.float64, name
        if name not in ("softmax", "log_softmax"):
            np.testing.assert_allclose(y.reshape(6, 4), forward({"name": name}, z.reshape(6, 4)), rtol=ULP_RTOL)
    np.testing.assert_allclose(activations.softmax(z), np_softmax(z), rtol=1e-12)
    assert activations.relu(np.float64(-2.0)).shape == ()
    assert activations.tanh([]).shape == (0,)
    assert activations.softmax(np.zeros((3, 0))).shape == (3, 0)


def test_module_dtypes():
    ints = np.array([[-2, 0, 3]])
    y = activations.relu(ints)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[0, 0, 3]])
    assert activations.sigmoid(np.array([1, 2], dtype=np.float16)).dtype == np.float32
    assert activations.sigmoid(np.array([True, False])).dtype == np.float32
    assert activations.sigmoid(np.array([1.0, 2.0])).dtype == np.float64
    assert activations.sigmoid([1.0, 2.0]).dtype == np.float32  # Python floats: Keras's float32
    with pytest.raises(TypeError, match="complex"):
        activations.tanh(np.array([1j]))


def test_softmax_axis():
    z = np.random.default_rng(7).standard_normal((3, 4, 5))
    for axis in (0, 1, -1, (0, 2), None):
        np.testing.assert_allclose(activations.softmax(z, axis=axis), np_softmax(z, axis=axis), rtol=1e-12)
        np.testing.assert_allclose(activations.log_softmax(z, axis=axis), np_log_softmax(z, axis=axis),
                                   rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="out of bounds"):
        activations.softmax(z, axis=3)


def test_parameters_reach_the_native_code():
    z = np.linspace(-4, 8, 25)
    np.testing.assert_array_equal(activations.relu(z, alpha=0.1), activations.relu(z, negative_slope=0.1))
    np.testing.assert_allclose(activations.relu(z, negative_slope=0.1, max_value=2.5, threshold=0.5),
                               CASES["relu_all"].numpy(z), rtol=1e-12)
    np.testing.assert_allclose(activations.leaky_relu(z), np.where(z > 0, z, 0.2 * z))
    np.testing.assert_allclose(activations.elu(z, alpha=0.5), CASES["elu_0.5"].numpy(z), rtol=1e-12)
    np.testing.assert_allclose(activations.gelu(z, approximate=True), CASES["gelu_approximate"].numpy(z),
                               rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="same argument"):
        activations.relu(z, negative_slope=0.2, alpha=0.1)


def test_get_serialize_deserialize_and_aliases():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.swish is activations.silu and activations.hard_swish is activations.hard_silu

    def user_fn(x):
        return x

    assert activations.get(user_fn) is user_fn
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.hard_swish) == "hard_silu"
    assert activations.serialize(activations.gelu) == "gelu"
    assert activations.serialize(user_fn) == "user_fn"
    for name in ALL_NAMES:
        assert activations.deserialize(activations.serialize(activations.get(name))) is activations.get(name)
    assert activations.get({"class_name": "function", "config": "relu", "module": "keras.activations",
                            "registered_name": "function"}) is activations.relu
    assert activations.get({"class_name": "softmax", "config": None}) is activations.softmax
    assert activations.deserialize("user_fn", custom_objects={"user_fn": user_fn}) is user_fn
    with pytest.raises(ValueError, match="Could not interpret"):
        activations.get(42)
    with pytest.raises(ValueError, match="not a named function"):
        activations.serialize(42)


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match="Unknown activation function 'rellu'") as info:
        activations.get("rellu")
    assert "'relu'" in str(info.value) and "'relu6'" in str(info.value)
    with pytest.raises(ValueError, match="'gelu'"):
        activations.deserialize("gelux")
    with pytest.raises(ValueError, match="Unknown activation"):
        activations.get("Relu")  # lookup is exact, like Keras


def test_threshold_needs_its_arguments():
    z = np.linspace(-2, 2, 9).reshape(3, 3)
    np.testing.assert_array_equal(activations.threshold(z, 0.5, -1.0), np.where(z > 0.5, z, -1.0))
    assert activations.native_config(activations.threshold) is None  # not runnable by name alone
    assert activations.get("threshold") is activations.threshold
    assert activations.serialize(activations.threshold) == "threshold"
    with pytest.raises(TypeError, match="missing 2 required positional arguments"):
        activations.get("threshold")(z)


def test_native_config_attribute():
    assert activations.native_config(activations.relu) == {"name": "relu"}
    assert activations.native_config(activations.swish) == {"name": "silu"}
    assert activations.native_config(lambda x: x) is None
    for name in BY_NAME_ALONE:
        fn = activations.get(name)
        config = activations.native_config(fn)
        np.testing.assert_allclose(fn(np.ones((2, 3))), forward(config, np.ones((2, 3))), rtol=ULP_RTOL)
    with pytest.raises(TypeError):
        activations.relu._fastdense_config["name"] = "tanh"  # read-only, shared by every caller


# ---------------------------------------------------------------------------------------------
# (f) bad input at the native boundary: a ValueError naming the problem, never a crash

def test_wrong_dtype_rank_and_layout_are_value_errors():
    cfg = {"name": "relu"}
    with pytest.raises(ValueError, match="float32 or float64, got int64"):
        _core.activation_forward(cfg, np.ones((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="2-D"):
        _core.activation_forward(cfg, np.ones(3))
    with pytest.raises(ValueError, match="2-D"):
        _core.activation_forward(cfg, np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.activation_forward(cfg, np.ones((4, 6))[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.activation_forward(cfg, np.ones((4, 6)).T)
    with pytest.raises(ValueError, match="numpy array"):
        _core.activation_forward(cfg, [[1.0, 2.0]])


def test_backward_checks_shapes_and_dtypes():
    cfg = {"name": "tanh"}
    z = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"y: expected shape \(2, 3\).*got \(3, 2\)"):
        _core.activation_backward(cfg, z, np.ones((3, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dy: expected shape \(2, 3\).*got \(2, 4\)"):
        _core.activation_backward(cfg, z, np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="dy: expected dtype float64, got float32"):
        _core.activation_backward(cfg, z, np.ones((2, 3)), np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="y: expected a 2-D array"):
        _core.activation_backward(cfg, z, np.ones(6), np.ones((2, 3)))


@pytest.mark.parametrize("config, message", [
    ({"name": "relu", "slope": 0.1}, "unknown key 'slope'"),
    ({"name": "rellu"}, "unknown activation name 'rellu'"),
    ({"alpha": 0.1}, "missing required key 'name'"),
    ({"name": 3}, "'name' must be a string"),
    ({"name": "relu", "alpha": "big"}, "'alpha' must be a number"),
    ({"name": "relu", "threshold": float("nan")}, "'threshold' must not be NaN"),
    ({"name": "relu", "alpha": 0.1, "negative_slope": 0.2}, "name the same parameter"),
    ({"name": "sigmoid", "alpha": 0.5}, "'sigmoid' does not take 'alpha'"),
    ({"name": "tanh", "approximate": True}, "'tanh' does not take 'approximate'"),
    ({"name": "leaky_relu", "max_value": 6.0}, "'leaky_relu' does not take 'max_value'"),
    ({"name": "gelu", "approximate": "yes"}, "'approximate' must be a bool"),
    ({"name": "celu", "alpha": 0.0}, "'celu' needs a nonzero alpha"),
    ({"name": "squareplus", "b": -1.0}, "'squareplus' needs b >= 0"),
    ({"name": "relu", "b": 4.0}, "'relu' does not take 'b'"),
    ({"name": "tanh_shrink", "threshold": 0.5}, "'tanh_shrink' does not take 'threshold'"),
])
def test_bad_configs_are_value_errors(config, message):
    z = np.ones((2, 2))
    with pytest.raises(ValueError, match=message):
        _core.activation_forward(config, z)
    with pytest.raises(ValueError, match=message):
        _core.activation_backward(config, z, z, z)


def test_full_config_dicts_with_neutral_values_are_accepted():
    z = np.linspace(-3, 3, 12).reshape(3, 4)
    full = {"alpha": None, "max_value": None, "threshold": 0.0, "approximate": False}
    for name in ALL_NAMES:
        # For the shrinks, threshold 0.0 is a real band width (their default is 0.5), not a neutral value.
        config = {k: v for k, v in full.items() if not (k == "threshold" and name in ("soft_shrink", "hard_shrink"))}
        np.testing.assert_allclose(forward({"name": name, **config}, z), forward({"name": name}, z), rtol=ULP_RTOL)


@pytest.mark.parametrize("shape", [(0, 5), (3, 0), (0, 0)])
@pytest.mark.parametrize("name", ALL_NAMES)
def test_zero_size_arrays(name, shape):
    for dtype in (np.float32, np.float64):
        z = np.zeros(shape, dtype=dtype)
        y = _core.activation_forward({"name": name}, z)
        assert y.shape == shape and y.dtype == dtype
        dz = _core.activation_backward({"name": name}, z, y, z)
        assert dz.shape == shape and dz.dtype == dtype
