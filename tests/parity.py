"""Shared harness of the tf.keras parity tests (tests/test_parity_*.py).

A case is written once, as functions of a "library" namespace `k` that is either tf.keras or
fastdense (both expose layers, models, optimizers, losses, metrics, regularizers, callbacks,
Input, Model, Sequential). `train_both` builds the model in both libraries, copies tf's initial
weights into fastdense, compiles and fits both on the same data with shuffle=False (so both see
the same batches), and returns what each produced; `assert_same_run` compares everything.

This module does not import TensorFlow: the test modules do (with pytest.importorskip) and
pass `keras` in.

Tolerance. Both libraries compute in float32 but add in different orders (Eigen's blocked,
vectorised products against TF's kernels), and fastdense accumulates losses and metric means in
float64. Two float32 summation orders of 64 terms differ by ~1e-7 of the sum of the terms'
magnitudes (test_float32_summation_order_noise measures 9e-8), and by much more relative to a
sum that cancels (2e-5 there); training steps carry such differences into the weights. So
values are compared relative to the scale of what they belong to: a History series or an
array by its largest magnitude, a weight by the model's largest weight (a bias that started
at 0 is as noisy as the kernels its gradient comes from). Over this suite the largest such gap
is ~2e-6 and the median ~4e-8; 1e-5 leaves room for that noise and still catches a wrong
formula, reduction, weighting, clipping or update rule. (Where a 1e-7 epsilon sits next to an
O(1) value is below float32 resolution for any comparison; the NumPy-formula tests of each
family pin such details.) tf's initial weights are seeded, so every case is deterministic.
"""

import numpy as np

RTOL = 1e-5


def relative_gap(actual, expected, scale=None):
    """max|a - e| / scale, where scale defaults to max(1e-3, max|e|)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shapes differ: {actual.shape} vs {expected.shape}"
    if actual.size == 0:
        return 0.0
    assert np.array_equal(np.isnan(actual), np.isnan(expected)), "NaNs in different places"
    diff = np.abs(np.where(np.isnan(expected), 0.0, actual - expected))
    if scale is None:
        scale = max(1e-3, float(np.nanmax(np.abs(expected), initial=0.0)))
    return float(np.max(diff) / scale)


def assert_close(actual, expected, what, rtol=RTOL, scale=None):
    gap = relative_gap(actual, expected, scale)
    assert gap <= rtol, f"{what}: relative gap {gap:.3g} > {rtol:g}\nfastdense: {actual}\ntf.keras:  {expected}"


def as_list(value):
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def copy_weights(tf_model, fd_model):
    weights = tf_model.get_weights()
    fd_model.set_weights(weights)
    for got, want in zip(fd_model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)


class Run:
    """What one library produced for a case."""

    def __init__(self, model, history, weights, evaluated, predicted):
        self.model = model
        self.history = history
        self.weights = weights
        self.evaluated = evaluated
        self.predicted = predicted


def run(k, build, compile_kwargs, fit_kwargs, evaluate_kwargs=None, predict_x=None, initial_weights=None,
        before_fit=None, extra_compile=None, fit_method="fit"):
    """Builds with `build(k)`, compiles with `compile_kwargs(k)`, fits with `fit_kwargs(k)`."""
    model = build(k)
    if initial_weights is not None:
        model.set_weights(initial_weights)
    starting_weights = model.get_weights()
    model.compile(**compile_kwargs(k), **(extra_compile or {}))
    if before_fit is not None:
        before_fit(model)
    fit_kwargs = dict(fit_kwargs(k))
    fit_kwargs.setdefault("verbose", 0)
    fit_kwargs.setdefault("shuffle", False)
    history = getattr(model, fit_method)(**fit_kwargs)
    evaluated = None
    if evaluate_kwargs is not None:
        evaluated = evaluate(k, model, evaluate_kwargs)
    predicted = None
    if predict_x is not None:
        predicted = predict(k, model, predict_x)
    result = Run(model, history, model.get_weights(), evaluated, predicted)
    result.initial_weights = starting_weights
    return result


def evaluate(k, model, kwargs):
    """fastdense's `evaluate`; for tf.keras, when the data is one default batch (at most 32
    samples, no batch_size or steps), `test_on_batch`: the same single-batch results in the
    same return convention, without tf.data's set-up."""
    one_batch = set(kwargs) <= {"x", "y", "sample_weight", "return_dict"} and \
        len(as_list(kwargs["x"])[0]) <= 32
    if k.__name__ == "fastdense" or not one_batch:
        return model.evaluate(**dict(kwargs, verbose=0))
    return model.test_on_batch(**kwargs)


def predict(k, model, x):
    """fastdense's `predict`; tf.keras's `predict_on_batch`, the same forward pass without the
    ~0.2 s of tf.data set-up per call (test_parity_api compares the two `predict`s directly)."""
    if k.__name__ == "fastdense":
        return model.predict(x, verbose=0)
    return model.predict_on_batch(x)


def train_both(keras, fastdense, build, compile_kwargs, fit_kwargs, evaluate_kwargs=None, predict_x=None,
               before_fit=None, eager=True, fit_method=lambda k: "fit", seed=0):
    """(fastdense Run, tf.keras Run) of the same case from tf's initial weights.

    tf.keras runs eagerly by default here: on this small a problem tracing tf.functions costs
    seconds per model, and eager execution computes the same numbers (sigmoid/softmax outputs
    keep their logits as `_keras_logits` on eager tensors too, so the crossentropy shortcut is
    the same; test_graph_mode_matches_eager checks one case both ways).
    """
    keras.utils.set_random_seed(seed)  # the same initial weights on every run: no flaky cases
    expected = run(keras, build, compile_kwargs, fit_kwargs, evaluate_kwargs, predict_x, None, before_fit,
                   extra_compile={"run_eagerly": True} if eager else None, fit_method=fit_method(keras))
    actual = run(fastdense, build, compile_kwargs, fit_kwargs, evaluate_kwargs, predict_x, expected.initial_weights,
                 before_fit, fit_method=fit_method(fastdense))
    return actual, expected


def assert_same_history(actual, expected, rtol=RTOL):
    assert list(actual.history) == list(expected.history), \
        f"History keys differ:\nfastdense: {list(actual.history)}\ntf.keras:  {list(expected.history)}"
    assert actual.epoch == expected.epoch, f"History.epoch differs: {actual.epoch} vs {expected.epoch}"
    assert actual.params == expected.params, f"History.params differ: {actual.params} vs {expected.params}"
    for key, values in expected.history.items():
        assert len(actual.history[key]) == len(values), f"History['{key}'] lengths differ"
        assert_close(actual.history[key], values, f"History['{key}']", rtol)


def assert_same_run(actual, expected, rtol=RTOL):
    """Final weights, every History series, evaluate results and predictions agree."""
    assert_same_history(actual.history, expected.history, rtol)
    assert_same_weights(actual.weights, expected.weights, rtol)
    if expected.evaluated is not None:
        assert_same_results(actual.evaluated, expected.evaluated, "evaluate", rtol)
    if expected.predicted is not None:
        a_pred, e_pred = as_list(actual.predicted), as_list(expected.predicted)
        assert len(a_pred) == len(e_pred)
        for i, (a, e) in enumerate(zip(a_pred, e_pred)):
            assert_close(a, e, f"predict output {i}", rtol)


def assert_same_weights(actual, expected, rtol=RTOL):
    """Every weight array within rtol of the scale of the model's weights: a bias that starts
    at 0 holds values of the order of the learning rate, whose float32 noise is that of the
    O(1) quantities (kernels, activations) its gradient was computed from."""
    assert len(actual) == len(expected), f"{len(actual)} weights vs {len(expected)}"
    scale = max(1e-3, max(float(np.max(np.abs(e), initial=0.0)) for e in expected))
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, f"weight {i}", rtol, scale)


def assert_same_results(actual, expected, what, rtol=RTOL):
    """evaluate / *_on_batch results: same structure (float, list or dict) and values."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{what}: expected a dict, got {actual!r}"
        assert list(actual) == list(expected), f"{what} keys differ: {list(actual)} vs {list(expected)}"
        for key in expected:
            assert_close(actual[key], expected[key], f"{what}['{key}']", rtol)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{what}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{what}: {actual} vs {expected}"
        assert_close(actual, expected, what, rtol)
    else:
        assert isinstance(actual, float), f"{what}: expected a float, got {type(actual).__name__} {actual!r}"
        assert_close(actual, float(expected), what, rtol)


# ------------------------------------------------------------------------------------ data
def data_rng(seed=0):
    return np.random.default_rng(seed)


def features(rows=32, cols=4, seed=0):
    return data_rng(seed).normal(size=(rows, cols)).astype(np.float32)


def regression_targets(rows=32, cols=2, seed=1):
    return data_rng(seed).normal(size=(rows, cols)).astype(np.float32)


def class_indices(rows=32, classes=3, seed=2):
    return data_rng(seed).integers(0, classes, size=(rows,))


def one_hot(indices, classes=3):
    return np.eye(classes, dtype=np.float32)[indices]
