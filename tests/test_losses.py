"""Losses: native gradients (finite differences), values (NumPy formulas and tf.keras), the
Keras-shaped Python API of fastdense.losses / fastdense.metrics, and bad-input handling."""

import zlib

import numpy as np
import pytest

from fastdense import _core, losses, metrics
from gradcheck import numerical_gradient, relative_error

EPS = 1e-7

# ---------------------------------------------------------------------------------------------
# Test data. Every maker returns float64 (y_true, y_pred) of shape (rows, cols) whose points stay
# away from the kinks and clipping bounds of its loss, so finite differences are meaningful.

ROWS, COLS = 6, 4


def _signed(rng, low, high, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def regression_data(rng):
    y = rng.normal(size=(ROWS, COLS))
    return y, y + _signed(rng, 0.1, 1.0, y.shape)


def percentage_data(rng):
    y = _signed(rng, 0.5, 2.0, (ROWS, COLS))
    return y, y + _signed(rng, 0.1, 1.0, y.shape)


def positive_data(rng):
    return rng.uniform(0.1, 3.0, (ROWS, COLS)), rng.uniform(0.1, 3.0, (ROWS, COLS))


def poisson_data(rng):
    return rng.uniform(0.0, 3.0, (ROWS, COLS)), rng.uniform(0.1, 3.0, (ROWS, COLS))


def probability_data(rng):
    return rng.uniform(0.0, 1.0, (ROWS, COLS)), rng.uniform(0.05, 0.95, (ROWS, COLS))


def kl_data(rng):
    return rng.uniform(0.05, 1.0, (ROWS, COLS)), rng.uniform(0.05, 0.95, (ROWS, COLS))


def binary_logits_data(rng):
    return rng.integers(0, 2, (ROWS, COLS)).astype(float), 3.0 * rng.normal(size=(ROWS, COLS))


def one_hot(rng, rows=ROWS, cols=COLS):
    return np.eye(cols)[rng.integers(0, cols, rows)]


def categorical_probs_data(rng):
    # Unnormalized on purpose: the loss renormalizes, and p / sum(p) stays inside the clip range.
    return one_hot(rng), rng.uniform(0.1, 1.0, (ROWS, COLS))


def categorical_logits_data(rng):
    return one_hot(rng), 2.0 * rng.normal(size=(ROWS, COLS))


def soft_label_logits_data(rng):
    # Label rows that do not sum to 1: the gradient must still be the true derivative.
    return rng.uniform(0.0, 1.0, (ROWS, COLS)), 2.0 * rng.normal(size=(ROWS, COLS))


def sparse_probs_data(rng):
    return rng.integers(0, COLS, (ROWS, 1)).astype(float), rng.uniform(0.05, 0.95, (ROWS, COLS))


def sparse_logits_data(rng):
    return rng.integers(0, COLS, (ROWS, 1)).astype(float), 2.0 * rng.normal(size=(ROWS, COLS))


def huber_data(rng):
    # |error| avoids both deltas used below (0.5 and 1.0), where the formula switches.
    y = rng.normal(size=(ROWS, COLS))
    bands = np.array([[0.1, 0.4], [0.6, 0.9], [1.1, 2.0]])[rng.integers(0, 3, y.shape)]
    return y, y + rng.choice([-1.0, 1.0], y.shape) * rng.uniform(bands[..., 0], bands[..., 1])


def hinge_data(labels):
    """Predictions whose hinge margins 1 - y p are at least 0.1 away from the kink at 0."""
    def make(rng):
        y = rng.choice(labels, size=(ROWS, COLS)).astype(float)
        signed = 2.0 * y - 1.0 if set(labels) == {0, 1} else y
        return y, signed * (1.0 - _signed(rng, 0.1, 0.9, y.shape))
    return make


def categorical_hinge_data(rng):
    y, p = one_hot(rng), rng.normal(size=(ROWS, COLS))
    margin = np.max((1 - y) * p, axis=1) - np.sum(y * p, axis=1) + 1
    assert np.all(np.abs(margin) > 1e-3)  # away from the kink
    return y, p


# (id, engine config, data maker); ids double as pytest ids.
CASES = [
    ("mse", {"name": "mean_squared_error"}, regression_data),
    ("mae", {"name": "mean_absolute_error"}, regression_data),
    ("mape", {"name": "mean_absolute_percentage_error"}, percentage_data),
    ("msle", {"name": "mean_squared_logarithmic_error"}, positive_data),
    ("bce", {"name": "binary_crossentropy"}, probability_data),
    ("bce_smooth", {"name": "binary_crossentropy", "label_smoothing": 0.2}, probability_data),
    ("bce_logits", {"name": "binary_crossentropy", "from_logits": True}, binary_logits_data),
    ("bce_logits_smooth", {"name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.1},
     binary_logits_data),
    ("cce", {"name": "categorical_crossentropy"}, categorical_probs_data),
    ("cce_smooth", {"name": "categorical_crossentropy", "label_smoothing": 0.2}, categorical_probs_data),
    ("cce_logits", {"name": "categorical_crossentropy", "from_logits": True}, categorical_logits_data),
    ("cce_logits_smooth", {"name": "categorical_crossentropy", "from_logits": True, "label_smoothing": 0.1},
     categorical_logits_data),
    ("cce_logits_soft_labels", {"name": "categorical_crossentropy", "from_logits": True}, soft_label_logits_data),
    ("cce_soft_labels", {"name": "categorical_crossentropy"},
     lambda rng: (rng.uniform(0.0, 1.0, (ROWS, COLS)), rng.uniform(0.1, 1.0, (ROWS, COLS)))),
    ("scce", {"name": "sparse_categorical_crossentropy"}, sparse_probs_data),
    ("scce_logits", {"name": "sparse_categorical_crossentropy", "from_logits": True}, sparse_logits_data),
    ("huber", {"name": "huber"}, huber_data),
    ("huber_delta_0.5", {"name": "huber", "delta": 0.5}, huber_data),
    ("hinge_01", {"name": "hinge"}, hinge_data([0, 1])),
    ("hinge_pm1", {"name": "hinge"}, hinge_data([-1, 1])),
    ("squared_hinge_01", {"name": "squared_hinge"}, hinge_data([0, 1])),
    ("squared_hinge_pm1", {"name": "squared_hinge"}, hinge_data([-1, 1])),
    ("categorical_hinge", {"name": "categorical_hinge"}, categorical_hinge_data),
    ("kld", {"name": "kl_divergence"}, kl_data),
    ("poisson", {"name": "poisson"}, poisson_data),
    ("log_cosh", {"name": "log_cosh"}, regression_data),
    ("cosine", {"name": "cosine_similarity"}, regression_data),
]
CASE_IDS = [case[0] for case in CASES]


def weights_for(rng, rows=ROWS):
    w = rng.uniform(0.2, 2.0, rows)
    w[1] = 0.0  # a zero weight must zero that row's gradient and contribution
    return w


# ---------------------------------------------------------------------------------------------
# Independent NumPy formulas (float64), written from the Keras 3 definitions.

def _softplus(x):
    return np.logaddexp(0.0, x)


def reference_per_sample(config, y, p):
    name = config["name"]
    logits = config.get("from_logits", False)
    ls = config.get("label_smoothing", 0.0)
    lo, hi = EPS, 1 - EPS
    if name == "mean_squared_error":
        return np.mean((y - p) ** 2, axis=-1)
    if name == "mean_absolute_error":
        return np.mean(np.abs(y - p), axis=-1)
    if name == "mean_absolute_percentage_error":
        return 100 * np.mean(np.abs(y - p) / np.maximum(np.abs(y), EPS), axis=-1)
    if name == "mean_squared_logarithmic_error":
        return np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2, axis=-1)
    if name == "binary_crossentropy":
        y = y * (1 - ls) + 0.5 * ls
        if logits:  # -y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))
            return np.mean(y * _softplus(-p) + (1 - y) * _softplus(p), axis=-1)
        q = np.clip(p, lo, hi)
        return np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q)), axis=-1)
    if name == "categorical_crossentropy":
        y = y * (1 - ls) + ls / y.shape[-1]
        if logits:
            log_q = p - np.log(np.sum(np.exp(p), axis=-1, keepdims=True))
        else:
            log_q = np.log(np.clip(p / np.sum(p, axis=-1, keepdims=True), lo, hi))
        return -np.sum(y * log_q, axis=-1)
    if name == "sparse_categorical_crossentropy":
        label = y[:, 0].astype(int)
        rows = np.arange(len(label))
        if logits:
            return np.log(np.sum(np.exp(p), axis=-1)) - p[rows, label]
        q = np.clip(p, lo, hi)
        return -np.log(q[rows, label] / np.sum(q, axis=-1))
    if name == "huber":
        d = config.get("delta", 1.0)
        e = np.abs(p - y)
        return np.mean(np.where(e <= d, 0.5 * e ** 2, d * e - 0.5 * d ** 2), axis=-1)
    if name in ("hinge", "squared_hinge"):
        if np.all((y == 0) | (y == 1)):
            y = 2 * y - 1
        margin = np.maximum(1 - y * p, 0)
        return np.mean(margin if name == "hinge" else margin ** 2, axis=-1)
    if name == "categorical_hinge":
        return np.maximum(np.max((1 - y) * p, axis=-1) - np.sum(y * p, axis=-1) + 1, 0)
    if name == "kl_divergence":
        yc, pc = np.clip(y, EPS, 1), np.clip(p, EPS, 1)
        return np.sum(yc * np.log(yc / pc), axis=-1)
    if name == "poisson":
        return np.mean(p - y * np.log(p + EPS), axis=-1)
    if name == "log_cosh":
        return np.mean(np.log(np.cosh(p - y)), axis=-1)
    if name == "cosine_similarity":
        def unit(v):
            return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), EPS)
        return -np.sum(unit(y) * unit(p), axis=-1)
    raise AssertionError(name)


# ---------------------------------------------------------------------------------------------
# (a) Finite-difference gradients of the native losses, float64.

def numeric_gradient(config, y, p, w):
    """The gradient of the reduced loss with respect to y_pred, by central differences."""
    return numerical_gradient(lambda q: _core.loss_evaluate(config, y, q, w, with_grad=False)[0], p)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case_id, config, make", CASES, ids=CASE_IDS)
def test_gradient_matches_finite_differences(case_id, config, make, weighted):
    rng = np.random.default_rng(zlib.crc32(case_id.encode()))
    y, p = make(rng)
    w = weights_for(rng) if weighted else None
    _, _, grad = _core.loss_evaluate(config, y, p, w)
    numeric = numeric_gradient(config, y, p, w)
    assert relative_error(grad, numeric) < 1e-6
    assert np.any(grad != 0)
    if weighted:
        assert np.all(grad[1] == 0)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_native_reductions(reduction, weighted):
    """sum_i w_i l_i divided by N (sum_over_batch_size, mean), 1 (sum) or sum_i w_i
    (mean_with_sample_weight, N without weights); the gradient is that of the reduced value."""
    rng = np.random.default_rng(3)
    y, p = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    w = rng.uniform(0.1, 2.0, size=5) if weighted else None
    config = {"name": "mean_squared_error", "reduction": reduction}
    loss, per_sample, grad = _core.loss_evaluate(config, y, p, w)
    weights = np.ones(5) if w is None else w
    divisor = {"sum_over_batch_size": 5, "mean": 5, "sum": 1, "mean_with_sample_weight": weights.sum()}[reduction]
    np.testing.assert_allclose(loss, np.sum(weights * np.mean((p - y) ** 2, axis=-1)) / divisor, rtol=1e-12)
    np.testing.assert_allclose(per_sample, np.mean((p - y) ** 2, axis=-1), rtol=1e-12)
    assert relative_error(grad, numeric_gradient(config, y, p, w)) < 1e-6


def test_zero_weight_sum_reduces_to_zero_and_unknown_reductions_fail():
    config = {"name": "mean_absolute_error", "reduction": "mean_with_sample_weight"}
    loss, _, grad = _core.loss_evaluate(config, np.ones((2, 2)), np.zeros((2, 2)), np.zeros(2))
    assert loss == 0.0 and not np.any(grad)
    with pytest.raises(ValueError, match="unknown reduction 'none'"):
        _core.loss_evaluate({"name": "mean_absolute_error", "reduction": "none"}, np.ones((2, 2)), np.zeros((2, 2)))


def test_grad_scale_multiplies_the_gradient_only():
    rng = np.random.default_rng(1)
    y, p = categorical_logits_data(rng)
    config = {"name": "categorical_crossentropy", "from_logits": True}
    loss, per_sample, grad = _core.loss_evaluate(config, y, p)
    scaled_loss, scaled_per_sample, scaled_grad = _core.loss_evaluate(config, y, p, grad_scale=2.5)
    assert scaled_loss == loss
    np.testing.assert_array_equal(scaled_per_sample, per_sample)
    np.testing.assert_allclose(scaled_grad, 2.5 * grad, rtol=1e-15)


@pytest.mark.parametrize("config, y, p, clipped", [
    # The gradient of the clipped formula is zero where clipping is active.
    ({"name": "binary_crossentropy"}, [[1.0, 0.0, 1.0]], [[0.0, 1.0, 0.5]], [True, True, False]),
    ({"name": "kl_divergence"}, [[0.5, 0.5, 0.5]], [[0.0, 0.4, 1.5]], [True, False, True]),
    ({"name": "mean_squared_logarithmic_error"}, [[1.0, 1.0]], [[-2.0, 0.5]], [True, False]),
    ({"name": "sparse_categorical_crossentropy"}, [[1.0]], [[0.0, 0.5, 1.0]], [True, False, True]),
])
def test_gradient_is_zero_where_clipping_is_active(config, y, p, clipped):
    _, _, grad = _core.loss_evaluate(config, np.array(y), np.array(p))
    assert np.all(grad[0, clipped] == 0)
    assert np.all(grad[0, ~np.array(clipped)] != 0)


# ---------------------------------------------------------------------------------------------
# (b) Values against the NumPy formulas.

@pytest.mark.parametrize("case_id, config, make", CASES, ids=CASE_IDS)
def test_values_match_numpy_formulas(case_id, config, make):
    rng = np.random.default_rng(7)
    y, p = make(rng)
    w = weights_for(rng)
    expected = reference_per_sample(config, y, p)
    loss, per_sample, _ = _core.loss_evaluate(config, y, p, w)
    np.testing.assert_allclose(per_sample, expected, rtol=1e-12, atol=1e-14)
    assert loss == pytest.approx(np.sum(w * expected) / ROWS, rel=1e-12)


@pytest.mark.parametrize("config, y, p", [
    ({"name": "binary_crossentropy"}, [[0.0, 1.0, 1.0, 0.0]], [[1.0, 0.0, 1.0, 0.0]]),
    ({"name": "categorical_crossentropy"}, [[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]]),
    ({"name": "sparse_categorical_crossentropy"}, [[1.0]], [[1.0, 0.0, 0.0]]),
    ({"name": "kl_divergence"}, [[0.0, 1.0, 0.3]], [[1.0, 0.0, 0.0]]),
    ({"name": "mean_squared_logarithmic_error"}, [[0.0, 2.0]], [[-1.0, 0.0]]),
    ({"name": "poisson"}, [[2.0, 1.0]], [[0.0, 0.0]]),
    ({"name": "mean_absolute_percentage_error"}, [[0.0, 1.0]], [[0.5, 1.0]]),
    ({"name": "cosine_similarity"}, [[0.0, 0.0], [1.0, 2.0]], [[1.0, 2.0], [0.0, 0.0]]),
])
def test_clipped_and_degenerate_values_match_numpy_formulas(config, y, p):
    y, p = np.array(y), np.array(p)
    _, per_sample, grad = _core.loss_evaluate(config, y, p)
    np.testing.assert_allclose(per_sample, reference_per_sample(config, y, p), rtol=1e-12)
    assert np.all(np.isfinite(per_sample)) and np.all(np.isfinite(grad))


def test_float32_clips_at_the_float32_value_of_one_minus_epsilon():
    # -log(1 - clip(1.0)) with 1 - 1e-7 rounded to float32 (0.99999988) is 15.942, not 16.118.
    y, p = np.array([[0.0]], np.float32), np.array([[1.0]], np.float32)
    loss32 = _core.loss_evaluate({"name": "binary_crossentropy"}, y, p)[0]
    loss64 = _core.loss_evaluate({"name": "binary_crossentropy"}, y.astype(float), p.astype(float))[0]
    assert loss32 == pytest.approx(-np.log(1 - float(np.float32(1 - 1e-7))), rel=1e-6)
    assert loss32 == pytest.approx(15.942, abs=1e-3)
    assert loss64 == pytest.approx(16.118, abs=1e-3)


def test_huber_switches_at_delta():
    y = np.zeros((1, 2))
    p = np.array([[0.3, 2.0]])
    per_sample = _core.loss_evaluate({"name": "huber", "delta": 0.5}, y, p)[1]
    assert per_sample[0] == pytest.approx((0.5 * 0.09 + (0.5 * 2.0 - 0.125)) / 2)


def test_hinge_maps_labels_only_when_all_are_binary():
    p = np.array([[0.5, -0.5]])
    binary = _core.loss_evaluate({"name": "hinge"}, np.array([[1.0, 0.0]]), p)[0]
    mixed = _core.loss_evaluate({"name": "hinge"}, np.array([[1.0, 0.5]]), p)[0]
    assert binary == pytest.approx(0.5)  # labels 1, -1: margins 0.5, 0.5
    assert mixed == pytest.approx((0.5 + 1.25) / 2)  # labels 1, 0.5 unchanged


def test_large_batch_runs_parallel_and_does_not_depend_on_thread_count():
    rng = np.random.default_rng(3)
    rows, cols = 20000, 3
    y = np.eye(cols)[rng.integers(0, cols, rows)]
    p = rng.normal(size=(rows, cols))
    w = rng.uniform(0, 2, rows)
    config = {"name": "categorical_crossentropy", "from_logits": True}
    threads = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        serial = _core.loss_evaluate(config, y, p, w)
        _core.set_num_threads(2)
        parallel = _core.loss_evaluate(config, y, p, w)
    finally:
        _core.set_num_threads(threads)
    assert serial[0] == parallel[0]
    np.testing.assert_array_equal(serial[1], parallel[1])
    np.testing.assert_array_equal(serial[2], parallel[2])
    expected = reference_per_sample(config, y, p)
    np.testing.assert_allclose(serial[1], expected, rtol=1e-12)
    assert serial[0] == pytest.approx(np.sum(w * expected) / rows, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# (c) Against tf.keras, float32.
#
# Tolerance: both sides compute in float32 inputs and outputs; TensorFlow also rounds every
# intermediate to float32, fastdense rounds only the result. The differences are therefore a few
# float32 ulps of the inputs propagated through log/exp/division (relative ~1e-6 at worst, e.g.
# log_cosh's x + softplus(-2x) - log 2 cancels in float32), so rtol = 1e-5 with atol = 1e-6
# leaves margin for the ~100-ulp worst cases without hiding any formula difference (those show
# up at 1e-3 or above: K2's extra epsilon in BCE, 16.118 vs 15.942 for the clip bound, ...).
RTOL, ATOL = 1e-5, 1e-6


# (fastdense/keras class name, kwargs, data maker, function name)
KERAS_CASES = [
    ("MeanSquaredError", {}, regression_data, "mean_squared_error"),
    ("MeanAbsoluteError", {}, regression_data, "mean_absolute_error"),
    ("MeanAbsolutePercentageError", {}, percentage_data, "mean_absolute_percentage_error"),
    ("MeanSquaredLogarithmicError", {}, positive_data, "mean_squared_logarithmic_error"),
    ("BinaryCrossentropy", {}, probability_data, "binary_crossentropy"),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, probability_data, "binary_crossentropy"),
    ("BinaryCrossentropy", {"from_logits": True}, binary_logits_data, "binary_crossentropy"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, binary_logits_data,
     "binary_crossentropy"),
    ("CategoricalCrossentropy", {}, categorical_probs_data, "categorical_crossentropy"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, categorical_probs_data, "categorical_crossentropy"),
    ("CategoricalCrossentropy", {"from_logits": True}, categorical_logits_data, "categorical_crossentropy"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, categorical_logits_data,
     "categorical_crossentropy"),
    ("SparseCategoricalCrossentropy", {}, sparse_probs_data, "sparse_categorical_crossentropy"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, sparse_logits_data,
     "sparse_categorical_crossentropy"),
    ("Huber", {}, huber_data, "huber"),
    ("Huber", {"delta": 0.5}, huber_data, "huber"),
    ("Hinge", {}, hinge_data([0, 1]), "hinge"),
    ("Hinge", {}, hinge_data([-1, 1]), "hinge"),
    ("SquaredHinge", {}, hinge_data([0, 1]), "squared_hinge"),
    ("SquaredHinge", {}, hinge_data([-1, 1]), "squared_hinge"),
    ("CategoricalHinge", {}, categorical_hinge_data, "categorical_hinge"),
    ("KLDivergence", {}, kl_data, "kl_divergence"),
    ("Poisson", {}, poisson_data, "poisson"),
    ("LogCosh", {}, regression_data, "log_cosh"),
    ("CosineSimilarity", {}, regression_data, "cosine_similarity"),
]


def _keras_case_id(case):
    return case[0] + "".join(f"-{k}={v}" for k, v in case[1].items())


def _float32_data(make, seed):
    y, p = make(np.random.default_rng(seed))
    if make in (sparse_probs_data, sparse_logits_data):
        y = y[:, 0]  # Keras's usual (N,) label layout
    return y.astype(np.float32), p.astype(np.float32)


@pytest.mark.parametrize("class_name, kwargs, make, fn_name", KERAS_CASES,
                         ids=[_keras_case_id(c) for c in KERAS_CASES])
def test_matches_keras(keras, class_name, kwargs, make, fn_name):
    y, p = _float32_data(make, 11)
    w = weights_for(np.random.default_rng(12)).astype(np.float32)
    ours = getattr(losses, class_name)(**kwargs)
    theirs = getattr(keras.losses, class_name)(**kwargs)
    assert ours(y, p, sample_weight=w) == pytest.approx(float(theirs(y, p, sample_weight=w)), rel=RTOL, abs=ATOL)
    assert ours(y, p) == pytest.approx(float(theirs(y, p)), rel=RTOL, abs=ATOL)
    ours_fn = getattr(losses, fn_name)(y, p, **kwargs)
    theirs_fn = np.asarray(getattr(keras.losses, fn_name)(y, p, **kwargs))
    assert ours_fn.dtype == np.float32
    np.testing.assert_allclose(ours_fn, theirs_fn, rtol=RTOL, atol=ATOL)


# Probabilities exactly 0 and 1 (the clipping paths), ties at kinks and other degenerate inputs.
DEGENERATE_CASES = [
    ("BinaryCrossentropy", {}, [[0, 1, 1, 0], [1, 0, 1, 0]], [[1, 0, 1, 0], [0.5, 1, 0, 0]]),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, [[0, 1, 1, 0]], [[1, 0, 1, 0]]),
    ("CategoricalCrossentropy", {}, [[0, 1, 0], [1, 0, 0]], [[1, 0, 0], [1, 0, 0]]),
    ("CategoricalCrossentropy", {"label_smoothing": 0.3}, [[0, 1, 0], [1, 0, 0]], [[1, 0, 0], [0.2, 0.8, 0]]),
    ("SparseCategoricalCrossentropy", {}, [1, 0, 2], [[1, 0, 0], [1, 0, 0], [0.3, 0.3, 0.4]]),
    ("KLDivergence", {}, [[0, 1, 0.3], [1, 0, 0]], [[1, 0, 0], [0, 0.5, 1]]),
    ("MeanSquaredLogarithmicError", {}, [[0, 2], [1, 1]], [[-1, 0], [0, 5]]),
    ("Poisson", {}, [[2, 1], [0, 3]], [[0, 0], [1, 0]]),
    ("MeanAbsolutePercentageError", {}, [[0, 1], [0, 0]], [[0.5, 1], [1e-3, 0]]),
    ("MeanAbsoluteError", {}, [[0, 1], [2, 0]], [[0.5, 1], [2, -1]]),
    ("CosineSimilarity", {}, [[0, 0], [1, 2], [3, 4]], [[1, 2], [0, 0], [3, 4]]),
    ("Hinge", {}, [[1, 0.5], [0, 1]], [[0.5, -0.5], [2, 0.3]]),
    ("Hinge", {}, [[1, 0], [0, 1]], [[1, -0.5], [-1, 0.3]]),  # margins exactly 0
    ("CategoricalHinge", {}, [[1, 0, 0], [0, 1, 0]], [[0.5, 0.5, 0.5], [0.2, 0.7, 0.7]]),  # tied maxima
    ("Huber", {"delta": 0.5}, [[0, 0, 0]], [[0.5, -0.5, 2]]),  # |error| exactly delta
    ("LogCosh", {}, [[0, 0], [1, 2]], [[100, -60], [1, 2]]),
]


def _degenerate_id(case):
    return case[0] + "".join(f"-{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize("class_name, kwargs, y, p", DEGENERATE_CASES,
                         ids=[_degenerate_id(c) for c in DEGENERATE_CASES])
def test_matches_keras_on_clipping_and_degenerate_inputs(keras, class_name, kwargs, y, p):
    y, p = np.array(y, np.float32), np.array(p, np.float32)
    w = np.linspace(0.5, 1.5, len(p)).astype(np.float32)
    ours = getattr(losses, class_name)(**kwargs, reduction=None)(y, p, sample_weight=w)
    theirs = np.asarray(getattr(keras.losses, class_name)(**kwargs, reduction=None)(y, p, sample_weight=w))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def _native_gradient(class_name, kwargs, y, p, w):
    """The engine's float32 gradient of the weighted sum_over_batch_size loss."""
    config = getattr(losses, class_name)(**kwargs)._fastdense_config()
    y_2d = np.ascontiguousarray(y[:, None] if y.ndim == 1 else y)
    return _core.loss_evaluate(config, y_2d, p, w)[2]


def _keras_gradient(class_name, kwargs, y, p, w):
    import keras
    import tensorflow as tf
    p_var = tf.Variable(p)
    with tf.GradientTape() as tape:
        loss = getattr(keras.losses, class_name)(**kwargs)(y, p_var, sample_weight=w)
    return tape.gradient(loss, p_var).numpy()


def _assert_gradients_close(ours, theirs):
    # Same float32 argument as the values; atol is relative to the gradient's scale.
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL * np.max(np.abs(theirs)))


@pytest.mark.parametrize("class_name, kwargs, make, fn_name", KERAS_CASES,
                         ids=[_keras_case_id(c) for c in KERAS_CASES])
def test_gradient_matches_tensorflow(keras, class_name, kwargs, make, fn_name):
    y, p = _float32_data(make, 13)
    w = weights_for(np.random.default_rng(14)).astype(np.float32)
    _assert_gradients_close(_native_gradient(class_name, kwargs, y, p, w), _keras_gradient(class_name, kwargs, y, p, w))


@pytest.mark.parametrize("class_name, kwargs, y, p", DEGENERATE_CASES,
                         ids=[_degenerate_id(c) for c in DEGENERATE_CASES])
def test_gradient_matches_tensorflow_at_clips_and_kinks(keras, class_name, kwargs, y, p):
    # TF's conventions: no gradient through an active clip, maximum/abs/where pick a side at
    # ties, reduce_max shares the gradient between tied maxima.
    y, p = np.array(y, np.float32), np.array(p, np.float32)
    w = np.linspace(0.5, 1.5, len(p)).astype(np.float32)
    _assert_gradients_close(_native_gradient(class_name, kwargs, y, p, w), _keras_gradient(class_name, kwargs, y, p, w))


def test_logits_crossentropy_gradient_with_unnormalized_labels_is_the_true_one(keras):
    # Deviation on purpose: TF's softmax_cross_entropy_with_logits back-propagates softmax - y,
    # which is the derivative only when each label row sums to 1. fastdense returns the true
    # derivative sum(y) softmax - y (identical for normalized labels, as label smoothing keeps them).
    y = np.array([[0.2, 1.0, 0.0], [1.0, 0.5, 0.0]], np.float32)
    p = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    ours = _native_gradient("CategoricalCrossentropy", {"from_logits": True}, y, p, None)
    softmax = np.exp(p) / np.sum(np.exp(p), axis=1, keepdims=True)
    true_gradient = (np.sum(y, axis=1, keepdims=True) * softmax - y) / len(y)
    np.testing.assert_allclose(ours, true_gradient, rtol=1e-6)
    tf_gradient = _keras_gradient("CategoricalCrossentropy", {"from_logits": True}, y, p, None)
    np.testing.assert_allclose(tf_gradient, (softmax - y) / len(y), rtol=1e-5)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None])
def test_reductions_match_keras(keras, reduction):
    y, p = _float32_data(regression_data, 5)
    w = weights_for(np.random.default_rng(6)).astype(np.float32)
    for sample_weight in (None, w):
        ours = losses.MeanAbsoluteError(reduction=reduction)(y, p, sample_weight=sample_weight)
        theirs = np.asarray(keras.losses.MeanAbsoluteError(reduction=reduction)(y, p, sample_weight=sample_weight))
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


def test_higher_rank_and_axis_match_keras(keras):
    rng = np.random.default_rng(8)
    y = rng.uniform(0, 1, (3, 5, 4)).astype(np.float32)
    p = rng.uniform(0.05, 0.95, (3, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(losses.mse(y, p), keras.losses.mean_squared_error(y, p), rtol=RTOL, atol=ATOL)
    assert losses.mse(y, p).shape == (3, 5)
    for axis in (1, -1):
        np.testing.assert_allclose(losses.binary_crossentropy(y, p, axis=axis),
                                   keras.losses.binary_crossentropy(y, p, axis=axis), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(losses.categorical_crossentropy(y, p, axis=axis),
                                   keras.losses.categorical_crossentropy(y, p, axis=axis), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(losses.cosine_similarity(y, p, axis=axis),
                                   keras.losses.cosine_similarity(y, p, axis=axis), rtol=RTOL, atol=ATOL)
    labels = rng.integers(0, 4, (3, 5)).astype(np.float32)
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(labels, p),
                               keras.losses.sparse_categorical_crossentropy(labels, p), rtol=RTOL, atol=ATOL)


def test_rank_1_y_true_against_column_y_pred_matches_keras(keras):
    y = np.array([0.0, 1.0, 2.0, 3.0], np.float32)
    p = np.array([[0.5], [1.5], [1.0], [4.0]], np.float32)
    assert losses.mse(y, p).shape == (4,)
    np.testing.assert_allclose(losses.mse(y, p), (y - p[:, 0]) ** 2)
    assert losses.MeanSquaredError()(y, p) == pytest.approx(float(keras.losses.MeanSquaredError()(y, p)))
    assert losses.Poisson()(y, p) == pytest.approx(float(keras.losses.Poisson()(y, p)), rel=RTOL)
    np.testing.assert_allclose(losses.mse(p, y), losses.mse(y, p))


def test_serialized_configs_match_keras(keras):
    for cls in losses._CLASSES:
        ours, theirs = losses.serialize(cls()), keras.losses.serialize(getattr(keras.losses, cls.__name__)())
        if cls in (losses.Huber, losses.CosineSimilarity):
            # Keras 3 drops delta / axis from these configs (so its round trip loses them).
            extra = {losses.Huber: "delta", losses.CosineSimilarity: "axis"}[cls]
            assert ours["config"].pop(extra) == {"delta": 1.0, "axis": -1}[extra]
        assert ours == theirs
    assert losses.serialize(losses.mse) == keras.losses.serialize(keras.losses.mean_squared_error)


def test_deserializes_keras_configs(keras):
    config = keras.losses.serialize(keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1))
    loss = losses.deserialize(config)
    assert isinstance(loss, losses.BinaryCrossentropy)
    assert loss.from_logits is True and loss.label_smoothing == 0.1
    assert losses.deserialize(keras.losses.serialize(keras.losses.kl_divergence)) is losses.kl_divergence
    wrapper = keras.losses.serialize(keras.src.losses.LossFunctionWrapper(keras.losses.huber, delta=2.0))
    loss = losses.deserialize(wrapper)
    assert isinstance(loss, losses.LossFunctionWrapper) and loss.fn is losses.huber
    assert loss._fastdense_config() == {"name": "huber", "delta": 2.0}


def test_metric_functions_match_keras(keras):
    rng = np.random.default_rng(9)
    p = rng.uniform(0, 1, (8, 5)).astype(np.float32)
    p[0, :] = 0.5  # ties: all classes share the top score
    labels = rng.integers(0, 5, 8)
    onehot = np.eye(5, dtype=np.float32)[labels]
    sparse = labels.astype(np.float32)
    km = keras.metrics
    pairs = [
        (metrics.binary_accuracy(onehot, p), km.binary_accuracy(onehot, p)),
        (metrics.binary_accuracy(onehot, p, threshold=0.7), km.binary_accuracy(onehot, p, threshold=0.7)),
        (metrics.binary_accuracy(onehot[:, 0], p[:, :1]), km.binary_accuracy(onehot[:, 0], p[:, :1])),
        (metrics.categorical_accuracy(onehot, p), km.categorical_accuracy(onehot, p)),
        (metrics.sparse_categorical_accuracy(sparse, p), km.sparse_categorical_accuracy(sparse, p)),
        (metrics.sparse_categorical_accuracy(sparse[:, None], p), km.sparse_categorical_accuracy(sparse[:, None], p)),
        (metrics.cosine_similarity(onehot, p), -np.asarray(keras.losses.cosine_similarity(onehot, p))),
        (metrics.mse(onehot, p), km.mean_squared_error(onehot, p)),
        (metrics.kl_divergence(onehot, p), km.kl_divergence(onehot, p)),
    ]
    for k in (1, 2, 5):
        pairs.append((metrics.top_k_categorical_accuracy(onehot, p, k=k), km.top_k_categorical_accuracy(onehot, p, k=k)))
        pairs.append((metrics.sparse_top_k_categorical_accuracy(sparse, p, k=k),
                      km.sparse_top_k_categorical_accuracy(sparse, p, k=k)))
        pairs.append((metrics.sparse_top_k_categorical_accuracy(sparse[:, None], p, k=k),
                      km.sparse_top_k_categorical_accuracy(sparse[:, None], p, k=k)))
    for ours, theirs in pairs:
        theirs = np.asarray(theirs)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)
    # The metric CosineSimilarity reports the positive similarity.
    metric = keras.metrics.CosineSimilarity()
    metric.update_state(onehot, p)
    assert np.mean(metrics.cosine_similarity(onehot, p)) == pytest.approx(float(metric.result()), rel=RTOL)


# ---------------------------------------------------------------------------------------------
# (d) The Python API, framework-free.

def test_aliases_are_the_same_functions():
    assert losses.mse is losses.MSE is losses.mean_squared_error
    assert losses.mae is losses.MAE is losses.mean_absolute_error
    assert losses.mape is losses.MAPE is losses.mean_absolute_percentage_error
    assert losses.msle is losses.MSLE is losses.mean_squared_logarithmic_error
    assert losses.kld is losses.KLD is losses.kullback_leibler_divergence is losses.kl_divergence
    assert losses.logcosh is losses.log_cosh
    for name in ("mse", "mae", "mape", "msle", "binary_crossentropy", "categorical_crossentropy",
                 "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
                 "categorical_hinge", "log_cosh", "huber"):
        assert getattr(metrics, name) is getattr(losses, name)
    assert metrics.cosine_similarity is not losses.cosine_similarity


@pytest.mark.parametrize("identifier, expected", [
    ("mse", "mean_squared_error"), ("MSE", "mean_squared_error"), ("mae", "mean_absolute_error"),
    ("MAPE", "mean_absolute_percentage_error"), ("msle", "mean_squared_logarithmic_error"),
    ("bce", "binary_crossentropy"), ("kld", "kl_divergence"), ("KLD", "kl_divergence"),
    ("kullback_leibler_divergence", "kl_divergence"), ("logcosh", "log_cosh"), ("huber_loss", "huber"),
    ("categorical_hinge", "categorical_hinge"), ("cosine_similarity", "cosine_similarity"),
])
def test_get_resolves_function_names(identifier, expected):
    fn = losses.get(identifier)
    assert fn is getattr(losses, expected)
    assert fn.__name__ == expected


def test_get_instantiates_class_names_with_defaults():
    for cls in losses._CLASSES:
        loss = losses.get(cls.__name__)
        assert type(loss) is cls
        assert loss.reduction == "sum_over_batch_size"
    assert losses.get("Huber").name == "huber_loss"
    assert losses.get("Huber").delta == 1.0


def test_get_passes_callables_and_instances_through():
    def my_loss(y_true, y_pred):
        return np.mean(y_true - y_pred, axis=-1)
    instance = losses.Huber(delta=0.3)
    assert losses.get(my_loss) is my_loss
    assert losses.get(instance) is instance
    assert losses.get(None) is None
    assert isinstance(losses.get(losses.Poisson), losses.Poisson)
    with pytest.raises(ValueError, match="Could not interpret"):
        losses.get(42)


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError) as err:
        losses.get("mean_squared_eror")
    assert "'mean_squared_eror'" in str(err.value)
    assert "'mean_squared_error'" in str(err.value)
    with pytest.raises(ValueError, match="Unknown loss: 'crossentropy'"):
        losses.get("crossentropy")


@pytest.mark.parametrize("loss", [
    losses.MeanSquaredError(), losses.MeanAbsoluteError(reduction="sum"), losses.MeanAbsolutePercentageError(),
    losses.MeanSquaredLogarithmicError(name="my_msle"),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2),
    losses.CategoricalCrossentropy(label_smoothing=0.1, reduction="none"),
    losses.SparseCategoricalCrossentropy(from_logits=True), losses.Huber(delta=0.5), losses.Hinge(),
    losses.SquaredHinge(), losses.CategoricalHinge(), losses.KLDivergence(), losses.Poisson(), losses.LogCosh(),
    losses.CosineSimilarity(axis=1), losses.LossFunctionWrapper(losses.huber, delta=0.25, name="wrapped"),
], ids=lambda loss: type(loss).__name__)
def test_serialize_deserialize_round_trip(loss):
    config = losses.serialize(loss)
    restored = losses.deserialize(config)
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()
    assert restored._fastdense_config() == loss._fastdense_config()
    assert losses.get(config).get_config() == loss.get_config()
    assert type(loss).from_config(loss.get_config()).get_config() == loss.get_config()


def test_get_config_keys_and_default_names():
    assert losses.MeanSquaredError().get_config() == {"name": "mean_squared_error", "reduction": "sum_over_batch_size"}
    assert losses.BinaryCrossentropy().get_config() == {
        "name": "binary_crossentropy", "reduction": "sum_over_batch_size", "from_logits": False,
        "label_smoothing": 0.0, "axis": -1}
    assert losses.SparseCategoricalCrossentropy().get_config() == {
        "name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size", "from_logits": False,
        "ignore_class": None}
    assert losses.Huber(delta=2.0).get_config() == {"name": "huber_loss", "reduction": "sum_over_batch_size",
                                                    "delta": 2.0}
    assert losses.LogCosh().name == "log_cosh"
    assert losses.KLDivergence().name == "kl_divergence"
    wrapper = losses.LossFunctionWrapper(losses.mse)
    assert wrapper.name.startswith("loss_function_wrapper")
    assert wrapper.get_config()["fn"] == {"module": "builtins", "class_name": "function",
                                          "config": "mean_squared_error", "registered_name": "function"}


def test_deserialize_functions_custom_objects_and_keras2_configs():
    assert losses.deserialize("mse") is losses.mean_squared_error
    assert isinstance(losses.deserialize("Poisson"), losses.Poisson)
    assert losses.deserialize({"class_name": "function", "config": "log_cosh"}) is losses.log_cosh

    def my_loss(y_true, y_pred):
        return np.zeros(len(y_true))
    assert losses.deserialize("my_loss", custom_objects={"my_loss": my_loss}) is my_loss
    config = losses.serialize(losses.LossFunctionWrapper(my_loss, name="mine"))
    assert losses.deserialize(config, custom_objects={"my_loss": my_loss}).fn is my_loss
    keras2 = {"class_name": "CategoricalCrossentropy",
              "config": {"reduction": "auto", "name": "categorical_crossentropy", "from_logits": True,
                         "label_smoothing": 0.0, "axis": -1}}
    loss = losses.deserialize(keras2)
    assert loss.reduction == "sum_over_batch_size" and loss.from_logits is True
    with pytest.raises(ValueError, match="Unknown loss class"):
        losses.deserialize({"class_name": "NoSuchLoss", "config": {}})


def test_native_config_for_every_builtin_is_accepted_by_the_engine():
    y, p = np.array([[0.0, 1.0]]), np.array([[0.3, 0.7]])
    for fn in losses._FUNCTIONS:
        config = fn._fastdense_config()
        assert config["name"] == fn.__name__
        assert losses.native_config(fn.__name__) == config
        _core.loss_evaluate(config, np.array([[1.0]]) if "sparse" in fn.__name__ else y, p)
    for cls in losses._CLASSES:
        assert losses.native_config(cls()) == cls()._fastdense_config() is not None
    assert losses.native_config("bce") == {"name": "binary_crossentropy", "from_logits": False,
                                           "label_smoothing": 0.0}
    assert losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)._fastdense_config() == {
        "name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.1}
    assert losses.Huber(delta=0.5)._fastdense_config() == {"name": "huber", "delta": 0.5}
    assert losses.native_config("SparseCategoricalCrossentropy") == {
        "name": "sparse_categorical_crossentropy", "from_logits": False}


def test_native_config_is_none_when_the_engine_cannot_compute_the_loss():
    class Custom(losses.Loss):
        def call(self, y_true, y_pred):
            return np.mean(np.abs(y_true - y_pred) ** 3, axis=-1)

    def custom_fn(y_true, y_pred):
        return np.mean(y_true * y_pred, axis=-1)
    assert losses.native_config(custom_fn) is None
    assert losses.native_config(Custom()) is None
    assert losses.native_config(losses.LossFunctionWrapper(custom_fn)) is None
    assert losses.native_config(losses.CosineSimilarity(axis=0)) is None
    assert losses.native_config(losses.CosineSimilarity(axis=-1)) == {"name": "cosine_similarity"}


def test_custom_loss_subclass_is_called_and_reduced():
    class Cubic(losses.Loss):
        def call(self, y_true, y_pred):
            return np.mean(np.abs(y_true - y_pred) ** 3, axis=-1)
    y, p = np.zeros((4, 2)), np.ones((4, 2))
    w = np.array([1.0, 2.0, 0.0, 1.0])
    assert Cubic()(y, p, sample_weight=w) == pytest.approx(1.0)  # (1 + 2 + 0 + 1) / 4
    assert Cubic(reduction="mean_with_sample_weight")(y, p, sample_weight=w) == pytest.approx(1.0)
    assert Cubic(reduction="sum")(y, p) == pytest.approx(4.0)
    assert Cubic().name.startswith("cubic")
    assert Cubic().dtype == "float32"


def test_reductions_against_numpy():
    rng = np.random.default_rng(4)
    y, p = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    w = np.array([1.0, 2.0, 0.0, 0.5, 1.5])
    per_sample = np.mean((y - p) ** 2, axis=-1)
    mse = {r: losses.MeanSquaredError(reduction=r, dtype="float64") for r in losses.REDUCTIONS}
    assert mse["sum_over_batch_size"](y, p, sample_weight=w) == pytest.approx(np.sum(w * per_sample) / 5)
    assert mse["mean"](y, p, sample_weight=w) == pytest.approx(np.sum(w * per_sample) / 5)
    assert mse["sum"](y, p, sample_weight=w) == pytest.approx(np.sum(w * per_sample))
    assert mse["mean_with_sample_weight"](y, p, sample_weight=w) == pytest.approx(np.sum(w * per_sample) / np.sum(w))
    assert mse["mean_with_sample_weight"](y, p) == pytest.approx(np.mean(per_sample))
    np.testing.assert_allclose(mse["none"](y, p, sample_weight=w), w * per_sample)
    np.testing.assert_allclose(mse[None](y, p), per_sample)
    assert mse["none"](y, p).dtype == np.float64
    assert losses.MeanSquaredError(reduction="none")(y, p).dtype == np.float32
    # Column-shaped weights are squeezed to the per-sample shape.
    assert mse["sum"](y, p, sample_weight=w[:, None]) == pytest.approx(np.sum(w * per_sample))
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="auto")
    with pytest.raises(ValueError, match="sample_weight"):
        losses.MeanSquaredError()(y, p, sample_weight=np.ones(3))


def test_functions_return_per_sample_values_of_the_batch_shape():
    rng = np.random.default_rng(2)
    y, p = rng.uniform(0.1, 1, (2, 3, 4)), rng.uniform(0.1, 1, (2, 3, 4))
    for fn in losses._FUNCTIONS:
        if fn is losses.sparse_categorical_crossentropy:
            out = fn(rng.integers(0, 4, (2, 3)), p)
        else:
            out = fn(y, p)
        assert out.shape == (2, 3), fn.__name__
        assert out.dtype == np.float64
    np.testing.assert_allclose(losses.mse(y, p), np.mean((y - p) ** 2, axis=-1))
    assert losses.mse([1.0, 2.0], [1.0, 4.0]).shape == ()
    assert losses.mse(np.ones((3, 2), np.float32), np.ones((3, 2), np.float32)).dtype == np.float32
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy([[1], [0]], [[0.2, 0.8], [0.6, 0.4]]),
                               -np.log([0.8, 0.6]), rtol=1e-6)


def test_ignore_class_is_rejected_clearly():
    with pytest.raises(NotImplementedError, match="ignore_class"):
        losses.sparse_categorical_crossentropy([0], [[0.5, 0.5]], ignore_class=0)
    with pytest.raises(NotImplementedError, match="ignore_class"):
        losses.SparseCategoricalCrossentropy(ignore_class=-1)


def test_metric_functions_against_numpy():
    y_pred = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3], [0.3, 0.3, 0.4], [0.2, 0.4, 0.4]])
    labels = np.array([1, 2, 2, 2])
    onehot = np.eye(3)[labels]
    np.testing.assert_array_equal(metrics.categorical_accuracy(onehot, y_pred), [1, 0, 1, 0])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels, y_pred), [1, 0, 1, 0])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels[:, None], y_pred), [1, 0, 1, 0])
    # Ties straddling the k-th place count as inside the top k (row 3: 0.4, 0.4).
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(onehot, y_pred, k=1), [1, 0, 1, 1])
    np.testing.assert_array_equal(metrics.sparse_top_k_categorical_accuracy(labels, y_pred, k=2), [1, 1, 1, 1])
    assert metrics.sparse_top_k_categorical_accuracy(labels[:, None], y_pred, k=1).shape == (4, 1)
    # Sorted ids: only the given order counts (row 3 lists class 1 before the tied class 2).
    ids = np.argsort(-y_pred, axis=1, kind="stable")
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(labels, ids, k=1, from_sorted_ids=True), [1, 0, 1, 0])
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(labels, ids, k=2, from_sorted_ids=True), [1, 1, 1, 1])
    np.testing.assert_array_equal(metrics.binary_accuracy([[1, 0], [0, 1]], [[0.7, 0.5], [0.2, 0.3]]),
                                  [[1, 1], [1, 0]])
    np.testing.assert_allclose(metrics.cosine_similarity([[1.0, 0.0]], [[1.0, 1.0]]), [np.sqrt(0.5)])


# ---------------------------------------------------------------------------------------------
# (e) Bad input: a ValueError naming the problem, never a crash.

@pytest.mark.parametrize("bad_label, row", [(3.0, 1), (-1.0, 0), (np.nan, 2), (np.inf, 0)])
def test_sparse_label_out_of_range_is_a_value_error(bad_label, row):
    y = np.array([[0.0], [1.0], [2.0]])
    y[row, 0] = bad_label
    p = np.full((3, 3), 1 / 3)
    for config in ({"name": "sparse_categorical_crossentropy"},
                   {"name": "sparse_categorical_crossentropy", "from_logits": True}):
        with pytest.raises(ValueError, match=rf"y_true\[{row}\] = {bad_label:g}.*\[0, 3\)"):
            _core.loss_evaluate(config, y, p)
    with pytest.raises(ValueError, match="not a class index"):
        losses.sparse_categorical_crossentropy(y[:, 0], p)
    with pytest.raises(ValueError, match="not a class index"):
        losses.SparseCategoricalCrossentropy()(y, p.astype(np.float32))


def test_wrong_shapes_are_value_errors():
    p = np.zeros((4, 3))
    mse = {"name": "mean_squared_error"}
    with pytest.raises(ValueError, match=r"y_true.*\(4, 3\).*\(4, 2\)"):
        _core.loss_evaluate(mse, np.zeros((4, 2)), p)
    with pytest.raises(ValueError, match=r"y_true.*\(5, 3\)"):
        _core.loss_evaluate(mse, np.zeros((5, 3)), p)
    with pytest.raises(ValueError, match="sample_weight"):
        _core.loss_evaluate(mse, p, p, np.ones(3))
    with pytest.raises(ValueError, match="sample_weight"):
        _core.loss_evaluate(mse, p, p, np.ones((4, 1)))
    with pytest.raises(ValueError, match="y_pred.*2-D"):
        _core.loss_evaluate(mse, p[0], p[0])
    with pytest.raises(ValueError, match=r"y_true.*\(4, 1\)"):
        _core.loss_evaluate({"name": "sparse_categorical_crossentropy"}, p, p)
    with pytest.raises(ValueError, match="column"):
        _core.loss_evaluate(mse, np.zeros((4, 0)), np.zeros((4, 0)))
    with pytest.raises(ValueError, match="incompatible shapes"):
        losses.mse(np.zeros((4, 2)), p)
    with pytest.raises(ValueError, match="up to its last axis"):
        losses.sparse_categorical_crossentropy(np.zeros(5), p)
    with pytest.raises(ValueError, match="axis"):
        losses.sparse_categorical_crossentropy(np.zeros(3), p.T, axis=0)
    with pytest.raises(ValueError, match="scalar"):
        losses.mse(1.0, 2.0)


def test_wrong_dtypes_are_value_errors():
    p = np.zeros((4, 3))
    mse = {"name": "mean_squared_error"}
    with pytest.raises(ValueError, match="float32 or float64"):
        _core.loss_evaluate(mse, p.astype(np.int64), p.astype(np.int64))
    with pytest.raises(ValueError, match="y_true: expected dtype float64"):
        _core.loss_evaluate(mse, p.astype(np.float32), p)
    with pytest.raises(ValueError, match="sample_weight: expected dtype float32"):
        _core.loss_evaluate(mse, p.astype(np.float32), p.astype(np.float32), np.ones(4))
    with pytest.raises(ValueError, match="numpy array"):
        _core.loss_evaluate(mse, p, [[0.0, 0.0, 0.0]] * 4)
    with pytest.raises(ValueError, match="numpy array"):
        _core.loss_evaluate(mse, "text", p)
    with pytest.raises(ValueError, match="numeric"):
        losses.mse(np.array([["a", "b"]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="numeric"):
        losses.mse(np.zeros((1, 2)), np.zeros((1, 2), np.complex64))


def test_non_contiguous_arrays():
    rng = np.random.default_rng(10)
    y, p = rng.normal(size=(6, 8)), rng.normal(size=(6, 8))
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.loss_evaluate({"name": "mean_squared_error"}, y[:, ::2], p[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.loss_evaluate({"name": "mean_squared_error"}, y, np.asfortranarray(p))
    # The Python layer copies once and gives the same numbers.
    np.testing.assert_allclose(losses.mse(y[:, ::2], p[:, ::2]), np.mean((y[:, ::2] - p[:, ::2]) ** 2, axis=-1))
    np.testing.assert_allclose(losses.mse(y.T, p.T), np.mean((y.T - p.T) ** 2, axis=-1))


def test_bad_configs_are_value_errors():
    y = p = np.zeros((2, 2))
    for config, message in [
        ({"name": "mse"}, "unknown loss name 'mse'"),
        ({}, "missing 'name'"),
        ({"name": "huber", "delta": 2.0, "alpha": 1.0}, "unknown key 'alpha'"),
        ({"name": "mean_squared_error", "delta": 2.0}, "'delta' does not apply"),
        ({"name": "poisson", "from_logits": True}, "'from_logits' does not apply"),
        ({"name": "sparse_categorical_crossentropy", "label_smoothing": 0.1}, "'label_smoothing' does not apply"),
        ({"name": 3}, "invalid value for 'name'"),
        ({"name": "huber", "delta": "big"}, "invalid value for 'delta'"),
    ]:
        with pytest.raises(ValueError, match=message):
            _core.loss_evaluate(config, y, p)


def test_empty_batch_gives_zero_loss():
    loss, per_sample, grad = _core.loss_evaluate({"name": "categorical_crossentropy"}, np.zeros((0, 3)),
                                                 np.zeros((0, 3)))
    assert loss == 0.0 and per_sample.shape == (0,) and grad.shape == (0, 3)
    assert losses.mse(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0,)
    assert losses.MeanSquaredError()(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
