"""Regularizers: values vs NumPy formulas and tf.keras, gradients by finite differences, names, configs."""

import numpy as np
import pytest

from fastdense import _core
from fastdense import regularizers
from gradcheck import numerical_gradient


def sample(shape=(5, 4), seed=0):
    x = np.random.default_rng(seed).uniform(-2.0, 2.0, shape)
    x[np.abs(x) < 0.05] = 0.3  # away from |x|'s kink for the finite differences
    return x


def orthogonal_formula(x, factor, mode):
    v = x if mode == "rows" else x.T
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    n = len(u)
    off_diagonal = np.abs(u @ u.T) * (1 - np.eye(n))
    return factor * 0.5 * off_diagonal.sum() / (n * (n - 1) / 2)


def test_values_match_numpy_formulas():
    x = sample()
    assert regularizers.L1(0.3)(x) == pytest.approx(float(np.float32(0.3)) * np.abs(x).sum(), rel=1e-12)
    assert regularizers.L2(0.3)(x) == pytest.approx(0.3 * (x**2).sum(), rel=1e-12)
    assert regularizers.L1L2(0.1, 0.2)(x) == pytest.approx(0.1 * np.abs(x).sum() + 0.2 * (x**2).sum(), rel=1e-12)
    assert regularizers.L1L2()(x) == 0.0
    for mode in ("rows", "columns"):
        reg = regularizers.OrthogonalRegularizer(0.5, mode)
        assert reg(x) == pytest.approx(orthogonal_formula(x, reg.factor, mode), rel=1e-12)
    assert regularizers.Regularizer()(x) == 0.0


def test_values_match_tf_keras(keras):
    x = sample().astype(np.float32)
    # As a tensor, like a layer's kernel: Keras's NumPy path of OrthogonalRegularizer(mode="columns")
    # normalizes along the wrong axis.
    tensor = keras.ops.convert_to_tensor(x)
    pairs = [
        (regularizers.L1(), keras.regularizers.L1()),
        (regularizers.L2(0.05), keras.regularizers.L2(0.05)),
        (regularizers.L1L2(0.01, 0.02), keras.regularizers.L1L2(0.01, 0.02)),
        (regularizers.OrthogonalRegularizer(0.1), keras.regularizers.OrthogonalRegularizer(0.1)),
        (regularizers.OrthogonalRegularizer(0.1, "columns"), keras.regularizers.OrthogonalRegularizer(0.1, "columns")),
    ]
    for ours, theirs in pairs:
        # Keras sums in float32 (relative error ~1e-7 per term over 20 terms); fastdense in float64.
        assert ours(x) == pytest.approx(float(theirs(tensor)), rel=1e-5)
        assert ours.get_config() == theirs.get_config()
        assert regularizers.serialize(ours) == keras.regularizers.serialize(theirs)


@pytest.mark.parametrize(
    "reg",
    [
        regularizers.L1(0.3),
        regularizers.L2(0.2),
        regularizers.L1L2(0.1, 0.4),
        regularizers.OrthogonalRegularizer(0.5, "rows"),
        regularizers.OrthogonalRegularizer(0.5, "columns"),
    ],
    ids=["l1", "l2", "l1l2", "orthogonal_rows", "orthogonal_columns"],
)
def test_gradient_matches_central_differences(reg):
    x = sample()
    analytic = reg.gradient(x)
    numeric = numerical_gradient(reg, x)
    error = np.abs(analytic - numeric) / np.maximum(1e-8, np.abs(analytic) + np.abs(numeric))
    assert error.max() < 1e-6
    assert analytic.shape == x.shape and analytic.dtype == x.dtype


def test_l1_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(regularizers.L1(1.0).gradient(np.array([-1.0, 0.0, 2.0])), [-1.0, 0.0, 1.0])


def test_native_configs():
    assert regularizers.L1(0.5)._native_config() == {"l1": 0.5, "l2": 0.0}
    assert regularizers.L2(0.25)._native_config() == {"l1": 0.0, "l2": 0.25}
    assert regularizers.L1L2(0.1, 0.2)._native_config() == {"l1": 0.1, "l2": 0.2}
    assert regularizers.OrthogonalRegularizer()._native_config() is None
    for reg in (regularizers.L1(), regularizers.L2(), regularizers.L1L2(0.3, 0.4)):
        assert _core.regularizer_spec(reg._native_config()) == reg._native_config()
        assert regularizers._native_config_of(reg) == reg._native_config()
    assert regularizers._native_config_of(None) is None
    assert regularizers._native_config_of(lambda x: 0.0) is None


def test_get_names():
    assert type(regularizers.get("l1")) is regularizers.L1
    assert type(regularizers.get("L1")) is regularizers.L1
    assert type(regularizers.get("l2")) is regularizers.L2
    assert type(regularizers.get("L2")) is regularizers.L2
    assert regularizers.get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}  # Keras 3 defaults
    assert regularizers.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}  # Keras 2's string
    assert type(regularizers.get("orthogonal_regularizer")) is regularizers.OrthogonalRegularizer
    assert regularizers.get("l2").l2 == 0.01
    assert regularizers.get(None) is None
    assert type(regularizers.get(regularizers.L2)) is regularizers.L2

    def custom(x):
        return 0.0

    assert regularizers.get(custom) is custom
    reg = regularizers.L1()
    assert regularizers.get(reg) is reg
    assert regularizers.get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5
    with pytest.raises(ValueError, match="Did you mean 'l2'"):
        regularizers.get("l3")
    with pytest.raises(ValueError):
        regularizers.get(3)


def test_function_style_aliases():
    both = regularizers.l1_l2(l1=0.01, l2=0.01)  # the Keras 2 function call
    assert isinstance(both, regularizers.L1L2) and both.get_config() == {"l1": 0.01, "l2": 0.01}
    assert regularizers.l1(0.2).l1 == pytest.approx(0.2)
    assert regularizers.l2(0.2).l2 == 0.2


def test_config_round_trip_and_keras_serialization(keras):
    for reg in (regularizers.L1(0.2), regularizers.L2(0.3), regularizers.L1L2(0.1, 0.2),
                regularizers.OrthogonalRegularizer(0.2, "columns")):
        rebuilt = regularizers.deserialize(regularizers.serialize(reg))
        assert type(rebuilt) is type(reg) and rebuilt.get_config() == reg.get_config()
        from_keras = regularizers.deserialize(keras.regularizers.serialize(keras.regularizers.get(
            {"class_name": type(reg).__name__, "config": reg.get_config()})))
        assert from_keras.get_config() == reg.get_config()
    # Keras 2 style (no module key).
    assert regularizers.deserialize({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.5}}).l2 == 0.5


def test_validation():
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-0.1)
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L1L2(l1="a")
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(np.ones(3))
    assert regularizers.L1(None).l1 == pytest.approx(0.01)
    with pytest.raises(NotImplementedError):
        regularizers.Regularizer().get_config()
