"""Initializers: distributions (bounds, standard deviations, truncation, orthogonality), seeding,
configs and names. Values cannot match Keras's (TensorFlow RNG streams); distributions do."""

import math

import numpy as np
import pytest

from fastdense import initializers
from fastdense import random as fd_random


# 400 x 500 = 200,000 draws: the sample standard deviation is within ~0.2% of the true one (one
# standard error is sigma/sqrt(2n)), so 2% tolerances are safe yet catch any wrong constant.
BIG = (400, 500)
TRUNCATED_STD_OF_UNIT = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def test_constant_initializers():
    assert initializers.Zeros()((2, 3)).dtype == np.float32
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.Ones()(4, dtype="float64"), np.ones(4))
    assert initializers.Ones()(4, dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(initializers.Constant(2.5)((2, 2)), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(initializers.Identity(3.0)((2, 3)), 3.0 * np.eye(2, 3))
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="floating-point"):
        initializers.Zeros()((2,), dtype="int32")


def test_random_uniform_bounds_and_moments():
    x = initializers.RandomUniform(-0.3, 0.7, seed=1)(BIG)
    assert x.dtype == np.float32 and x.shape == BIG
    assert x.min() >= -0.3 and x.max() <= 0.7
    assert x.mean() == pytest.approx(0.2, abs=0.005)
    assert x.std() == pytest.approx(1.0 / math.sqrt(12), rel=0.02)


def test_random_normal_moments():
    x = initializers.RandomNormal(mean=1.0, stddev=0.5, seed=2)(BIG)
    assert x.mean() == pytest.approx(1.0, abs=0.005)
    assert x.std() == pytest.approx(0.5, rel=0.02)
    assert np.abs(x - 1.0).max() > 1.0  # not truncated


def test_truncated_normal_stays_within_two_stddevs():
    x = initializers.TruncatedNormal(mean=-1.0, stddev=0.2, seed=3)(BIG, dtype="float64")
    assert np.abs(x + 1.0).max() <= 0.4
    assert np.abs(x + 1.0).max() > 0.39  # the tails are filled up to the bound
    assert x.std() == pytest.approx(0.2 * TRUNCATED_STD_OF_UNIT, rel=0.02)


@pytest.mark.parametrize(
    "cls,scale,mode,distribution",
    [
        (initializers.GlorotUniform, 1.0, "fan_avg", "uniform"),
        (initializers.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
        (initializers.HeUniform, 2.0, "fan_in", "uniform"),
        (initializers.HeNormal, 2.0, "fan_in", "truncated_normal"),
        (initializers.LecunUniform, 1.0, "fan_in", "uniform"),
        (initializers.LecunNormal, 1.0, "fan_in", "truncated_normal"),
    ],
)
def test_variance_scaling_family(cls, scale, mode, distribution):
    fan_in, fan_out = BIG
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    x = cls(seed=4)(BIG)
    if distribution == "uniform":
        limit = math.sqrt(3 * scale / n)  # e.g. Glorot: sqrt(6 / (fan_in + fan_out))
        assert np.abs(x).max() <= limit and np.abs(x).max() > 0.99 * limit
        assert x.std() == pytest.approx(math.sqrt(scale / n), rel=0.02)
    else:
        stddev = math.sqrt(scale / n) / TRUNCATED_STD_OF_UNIT
        assert np.abs(x).max() <= 2 * stddev * (1 + 1e-6)
        # Dividing by 0.8796... restores the intended variance scale / n after truncation.
        assert x.std() == pytest.approx(math.sqrt(scale / n), rel=0.02)


def test_variance_scaling_options_and_fans():
    untruncated = initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=5)(BIG)
    assert untruncated.std() == pytest.approx(math.sqrt(2.0 / BIG[1]), rel=0.02)
    assert np.abs(untruncated).max() > 2.5 * math.sqrt(2.0 / BIG[1])
    assert initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    # A conv-like kernel (3, 3, 16, 32): fan_in = 9 * 16, fan_out = 9 * 32.
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans(()) == (1, 1)
    conv = initializers.HeUniform(seed=6)((3, 3, 16, 32))
    assert np.abs(conv).max() <= math.sqrt(6 / 144)
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_max")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5), (2, 3, 4)])
def test_orthogonal(shape):
    x = initializers.Orthogonal(gain=2.0, seed=7)(shape, dtype="float64")
    assert x.shape == shape
    flat = x.reshape(-1, shape[-1])
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="two-dimensional"):
        initializers.Orthogonal()((3,))


def test_seeded_initializer_repeats_itself_like_keras(keras):
    # Keras 3: a seeded initializer instance returns the same values on every call.
    k = keras.initializers.RandomNormal(seed=11)
    np.testing.assert_array_equal(np.asarray(k((3, 3))), np.asarray(k((3, 3))))
    ours = initializers.RandomNormal(seed=11)
    np.testing.assert_array_equal(ours((3, 3)), ours((3, 3)))


def test_unseeded_initializer_is_fixed_per_instance_like_keras(keras):
    # Keras 3 draws a seed when an unseeded initializer is created, so it too repeats itself.
    k = keras.initializers.GlorotUniform()
    np.testing.assert_array_equal(np.asarray(k((3, 3))), np.asarray(k((3, 3))))
    ours = initializers.GlorotUniform()
    np.testing.assert_array_equal(ours((3, 3)), ours((3, 3)))


def test_seeding_and_reproducibility():
    same = [initializers.GlorotNormal(seed=3)((20, 10)) for _ in range(2)]
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(initializers.GlorotNormal(seed=3)((20, 10)), initializers.GlorotNormal(seed=4)((20, 10)))
    assert not np.array_equal(initializers.RandomUniform()((20,)), initializers.RandomUniform()((20,)))

    fd_random.set_seed(123)
    first = [initializers.HeNormal()((8, 8)), initializers.Orthogonal()((8, 8)), initializers.TruncatedNormal()((8,))]
    fd_random.set_seed(123)
    second = [initializers.HeNormal()((8, 8)), initializers.Orthogonal()((8, 8)), initializers.TruncatedNormal()((8,))]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        fd_random.set_seed(-1)
    with pytest.raises(ValueError, match="seed"):
        initializers.RandomNormal(seed=1.5)


def test_float64_and_float32_draws_agree():
    init = initializers.RandomNormal(seed=9)
    np.testing.assert_array_equal(init((4, 4), dtype="float32"), init((4, 4), dtype="float64").astype(np.float32))


ALL_DEFAULTS = [
    "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal",
]


@pytest.mark.parametrize("name", ALL_DEFAULTS)
def test_configs_match_keras(keras, name):
    ours = getattr(initializers, name)()
    theirs = getattr(keras.initializers, name)()
    assert ours.get_config() == theirs.get_config()
    assert list(ours.get_config()) == list(theirs.get_config())
    assert initializers.serialize(ours) == keras.initializers.serialize(theirs)


def test_seeded_config_and_round_trip(keras):
    ours = initializers.VarianceScaling(2.0, "fan_avg", "uniform", seed=42)
    assert ours.get_config() == keras.initializers.VarianceScaling(2.0, "fan_avg", "uniform", seed=42).get_config()
    rebuilt = initializers.deserialize(initializers.serialize(ours))
    assert type(rebuilt) is initializers.VarianceScaling and rebuilt.get_config() == ours.get_config()
    np.testing.assert_array_equal(rebuilt((5, 5)), ours((5, 5)))
    # Identity keeps its gain (Keras 3 writes {} and loses it; {"gain": ...} still loads in Keras).
    identity = initializers.Identity(gain=2.0)
    assert identity.get_config() == {"gain": 2.0}
    assert keras.initializers.Identity.from_config(identity.get_config()).gain == 2.0
    assert initializers.deserialize(initializers.serialize(identity)).gain == 2.0
    # Keras 2 form.
    assert initializers.deserialize({"class_name": "RandomUniform", "config": {"minval": 0, "maxval": 1}}).maxval == 1
    clone = initializers.HeNormal(seed=3).clone()
    assert type(clone) is initializers.HeNormal and clone.seed == 3


def test_get_names():
    expected = {
        "glorot_uniform": initializers.GlorotUniform, "GlorotUniform": initializers.GlorotUniform,
        "glorot_normal": initializers.GlorotNormal, "he_normal": initializers.HeNormal,
        "he_uniform": initializers.HeUniform, "lecun_normal": initializers.LecunNormal,
        "lecun_uniform": initializers.LecunUniform, "random_normal": initializers.RandomNormal,
        "random_uniform": initializers.RandomUniform, "truncated_normal": initializers.TruncatedNormal,
        "variance_scaling": initializers.VarianceScaling, "zeros": initializers.Zeros, "ones": initializers.Ones,
        "constant": initializers.Constant, "identity": initializers.Identity, "orthogonal": initializers.Orthogonal,
        "normal": initializers.RandomNormal, "uniform": initializers.RandomUniform, "zero": initializers.Zeros,
        "one": initializers.Ones, "Zeros": initializers.Zeros, "Orthogonal": initializers.Orthogonal,
    }
    for name, cls in expected.items():
        assert type(initializers.get(name)) is cls, name
    assert initializers.get(None) is None
    init = initializers.Ones()
    assert initializers.get(init) is init
    assert type(initializers.get(initializers.HeNormal)) is initializers.HeNormal
    assert initializers.get({"class_name": "Constant", "config": {"value": 3.0}})((2,)).tolist() == [3.0, 3.0]
    fixed = initializers.get(np.arange(4.0).reshape(2, 2))
    np.testing.assert_array_equal(fixed((2, 2)), [[0, 1], [2, 3]])
    with pytest.raises(ValueError, match="Expected `shape`"):
        fixed((4,))
    with pytest.raises(ValueError, match="Did you mean 'glorot_uniform'"):
        initializers.get("glorot_unifrom")
    with pytest.raises(ValueError):
        initializers.get(5)
