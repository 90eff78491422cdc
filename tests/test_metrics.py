"""Stateful metrics of fastdense.metrics: against keras.metrics on the same weighted batches, and
against NumPy formulas written here; state, reset, names, configs, get/serialize."""

import numpy as np
import pytest

from fastdense import metrics
from fastdense.trainers import compile_utils

RTOL, ATOL = 2e-5, 1e-6
EPS = 1e-7


def _batches(kind, seed=0, rows=(13, 9)):
    """Two (y_true, y_pred, sample_weight) batches of the given kind of problem."""
    rng = np.random.default_rng(seed)
    out = []
    for n in rows:
        weight = rng.uniform(0.1, 2.0, size=n).astype(np.float32)
        if kind == "binary":
            y_true = (rng.random((n, 1)) > 0.5).astype(np.float32)
            y_pred = rng.random((n, 1)).astype(np.float32)
        elif kind == "logits":
            y_true = (rng.random((n, 1)) > 0.5).astype(np.float32)
            y_pred = rng.normal(scale=2.0, size=(n, 1)).astype(np.float32)
        elif kind == "multilabel":
            y_true = (rng.random((n, 3)) > 0.5).astype(np.float32)
            y_pred = rng.random((n, 3)).astype(np.float32)
        elif kind in ("categorical", "sparse"):
            labels = rng.integers(0, 4, size=n)
            logits = rng.normal(size=(n, 4))
            y_pred = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
            y_true = np.eye(4, dtype=np.float32)[labels] if kind == "categorical" else labels.astype(np.float32)
        elif kind == "regression":
            y_true = rng.normal(size=(n, 3)).astype(np.float32)
            y_pred = (y_true + rng.normal(scale=0.7, size=(n, 3))).astype(np.float32)
        elif kind == "positive":
            y_true = rng.uniform(0.1, 3.0, size=(n, 3)).astype(np.float32)
            y_pred = rng.uniform(0.1, 3.0, size=(n, 3)).astype(np.float32)
        else:
            raise ValueError(kind)
        out.append((y_true, y_pred, weight))
    return out


# (id, fastdense factory, keras factory, kind of data)
CASES = [
    ("mse", lambda m: m.MeanSquaredError(), "regression"),
    ("mae", lambda m: m.MeanAbsoluteError(), "regression"),
    ("mape", lambda m: m.MeanAbsolutePercentageError(), "positive"),
    ("msle", lambda m: m.MeanSquaredLogarithmicError(), "positive"),
    ("rmse", lambda m: m.RootMeanSquaredError(), "regression"),
    ("logcosh", lambda m: m.LogCoshError(), "regression"),
    ("cosine", lambda m: m.CosineSimilarity(), "regression"),
    ("binary_accuracy", lambda m: m.BinaryAccuracy(threshold=0.6), "multilabel"),
    ("categorical_accuracy", lambda m: m.CategoricalAccuracy(), "categorical"),
    ("sparse_categorical_accuracy", lambda m: m.SparseCategoricalAccuracy(), "sparse"),
    ("top_k", lambda m: m.TopKCategoricalAccuracy(k=2), "categorical"),
    ("sparse_top_k", lambda m: m.SparseTopKCategoricalAccuracy(k=2), "sparse"),
    ("bce", lambda m: m.BinaryCrossentropy(label_smoothing=0.1), "binary"),
    ("bce_logits", lambda m: m.BinaryCrossentropy(from_logits=True), "logits"),
    ("cce", lambda m: m.CategoricalCrossentropy(), "categorical"),
    ("scce", lambda m: m.SparseCategoricalCrossentropy(), "sparse"),
    ("kld", lambda m: m.KLDivergence(), "categorical"),
    ("poisson", lambda m: m.Poisson(), "positive"),
    ("hinge", lambda m: m.Hinge(), "binary"),
    ("squared_hinge", lambda m: m.SquaredHinge(), "binary"),
    ("categorical_hinge", lambda m: m.CategoricalHinge(), "categorical"),
    ("accuracy", lambda m: m.Accuracy(), "sparse_as_pred"),
    ("auc", lambda m: m.AUC(), "binary"),
    ("auc_pr", lambda m: m.AUC(curve="PR"), "binary"),
    ("auc_prgain", lambda m: m.AUC(curve="PRGAIN"), "binary"),
    ("auc_minoring", lambda m: m.AUC(summation_method="minoring"), "multilabel"),
    ("auc_majoring_pr", lambda m: m.AUC(curve="PR", summation_method="majoring"), "binary"),
    ("auc_few_thresholds_logits", lambda m: m.AUC(num_thresholds=7, from_logits=True), "logits"),
    ("auc_given_thresholds", lambda m: m.AUC(thresholds=[0.7, 0.2, 0.5]), "binary"),
    ("auc_multi_label", lambda m: m.AUC(multi_label=True), "multilabel"),
    ("auc_multi_label_pr_weights", lambda m: m.AUC(multi_label=True, curve="PR", label_weights=[1.0, 2.0, 0.5]),
     "multilabel"),
    ("auc_label_weights", lambda m: m.AUC(label_weights=[1.0, 2.0, 0.5]), "multilabel"),
    ("precision", lambda m: m.Precision(), "binary"),
    ("precision_thresholds", lambda m: m.Precision(thresholds=[0.3, 0.6]), "multilabel"),
    ("precision_top_k", lambda m: m.Precision(top_k=2), "multilabel"),
    ("precision_class_id", lambda m: m.Precision(class_id=1), "multilabel"),
    ("precision_even_thresholds", lambda m: m.Precision(thresholds=[0.0, 0.25, 0.5, 0.75, 1.0]), "binary"),
    ("recall", lambda m: m.Recall(), "binary"),
    ("recall_thresholds_top_k", lambda m: m.Recall(thresholds=0.4, top_k=1), "multilabel"),
    ("recall_class_id", lambda m: m.Recall(class_id=2), "multilabel"),
    ("true_positives", lambda m: m.TruePositives(thresholds=[0.2, 0.6]), "binary"),
    ("false_positives", lambda m: m.FalsePositives(), "multilabel"),
    ("true_negatives", lambda m: m.TrueNegatives(), "binary"),
    ("false_negatives", lambda m: m.FalseNegatives(thresholds=0.3), "binary"),
    ("r2", lambda m: m.R2Score(), "regression"),
    ("r2_per_class", lambda m: m.R2Score(class_aggregation=None), "regression"),
    ("r2_variance_weighted_adjusted", lambda m: m.R2Score("variance_weighted_average", num_regressors=2),
     "regression"),
]


def _case_batches(kind):
    if kind == "sparse_as_pred":  # exact equality needs predictions that sometimes match
        return [(t, np.argmax(p, axis=1).astype(np.float32), w) for t, p, w in _batches("sparse")]
    return _batches(kind)


@pytest.mark.parametrize("case_id, factory, kind", CASES, ids=[c[0] for c in CASES])
def test_metric_matches_keras_on_weighted_batches(keras, case_id, factory, kind):
    ours, theirs = factory(metrics), factory(keras.metrics)
    for weighted in (True, False):
        for y_true, y_pred, weight in _case_batches(kind):
            sample_weight = weight if weighted else None
            ours.update_state(y_true, y_pred, sample_weight=sample_weight)
            theirs.update_state(y_true, y_pred, sample_weight=sample_weight)
            np.testing.assert_allclose(ours.result(), np.asarray(theirs.result()), rtol=RTOL, atol=ATOL)
        assert len(ours.variables) == len(theirs.variables)
        for mine, reference in zip(ours.variables, theirs.variables):
            assert mine.shape == tuple(reference.shape)
            np.testing.assert_allclose(mine.numpy(), np.asarray(reference), rtol=RTOL, atol=1e-5)
        ours.reset_state()
        theirs.reset_state()
        for variable in ours.variables:
            assert not np.any(variable.numpy())


# --------------------------------------------------------------------------- NumPy formulas

def _weighted_mean(per_sample, weight):
    return np.sum(per_sample * weight) / np.sum(weight)


def _stream(metric, batches):
    for y_true, y_pred, weight in batches:
        metric.update_state(y_true, y_pred, sample_weight=weight)
    return metric.result()


def _concat(batches):
    return tuple(np.concatenate(parts) for parts in zip(*batches))


def test_mean_based_metrics_match_numpy_formulas():
    batches = _batches("regression")
    y, p, w = _concat(batches)
    expected = {
        metrics.MeanSquaredError: _weighted_mean(np.mean((y - p) ** 2, axis=1), w),
        metrics.MeanAbsoluteError: _weighted_mean(np.mean(np.abs(y - p), axis=1), w),
        metrics.RootMeanSquaredError: np.sqrt(_weighted_mean(np.mean((y - p) ** 2, axis=1), w)),
        metrics.LogCoshError: _weighted_mean(np.mean(np.log(np.cosh(p - y)), axis=1), w),
        metrics.CosineSimilarity: _weighted_mean(
            np.sum(y * p, axis=1) / np.linalg.norm(y, axis=1) / np.linalg.norm(p, axis=1), w),
    }
    for cls, value in expected.items():
        assert float(_stream(cls(), batches)) == pytest.approx(value, rel=1e-5), cls.__name__


def test_accuracy_metrics_match_numpy_formulas():
    batches = _batches("categorical")
    y, p, w = _concat(batches)
    order = np.argsort(-p, axis=1)
    expected = {
        metrics.CategoricalAccuracy(): _weighted_mean(np.argmax(y, 1) == np.argmax(p, 1), w),
        metrics.TopKCategoricalAccuracy(k=2): _weighted_mean(np.any(order[:, :2] == np.argmax(y, 1)[:, None], 1), w),
    }
    binary = _batches("multilabel")
    yb, pb, wb = _concat(binary)
    bin_acc = metrics.BinaryAccuracy(threshold=0.3)
    for batch in binary:
        bin_acc.update_state(*batch[:2], sample_weight=batch[2])
    assert float(bin_acc.result()) == pytest.approx(_weighted_mean(np.mean((pb > 0.3) == yb, axis=1), wb), rel=1e-6)
    for metric, value in expected.items():
        assert float(_stream(metric, batches)) == pytest.approx(value, rel=1e-6)


def _confusion(y, p, w, thresholds):
    positive = y.reshape(-1) != 0
    p, w = p.reshape(-1), np.broadcast_to(w[:, None], y.shape).reshape(-1)
    above = p[None, :] > np.asarray(thresholds)[:, None]
    tp = (above & positive) @ w
    fp = (above & ~positive) @ w
    fn = (~above & positive) @ w
    tn = (~above & ~positive) @ w
    return tp, fp, tn, fn


def test_auc_roc_matches_numpy_trapezoids():
    batches = _batches("binary", rows=(40, 25))
    y, p, w = _concat(batches)
    thresholds = np.array([-EPS] + [(i + 1) / 199 for i in range(198)] + [1 + EPS], dtype=np.float32)
    tp, fp, tn, fn = _confusion(y, p, w, thresholds)
    tpr, fpr = tp / (tp + fn), fp / (fp + tn)
    expected = np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)
    assert float(_stream(metrics.AUC(), batches)) == pytest.approx(expected, rel=1e-5)
    # minoring: the lower of the two heights
    expected_min = np.sum((fpr[:-1] - fpr[1:]) * np.minimum(tpr[:-1], tpr[1:]))
    assert float(_stream(metrics.AUC(summation_method="minoring"), batches)) == pytest.approx(expected_min, rel=1e-5)


def test_auc_of_a_perfect_ranking_is_one_and_of_a_reversed_one_zero():
    y = np.array([0, 0, 1, 1, 0, 1], dtype=np.float32)
    p = np.array([0.1, 0.3, 0.35, 0.8, 0.2, 0.9], dtype=np.float32)
    assert float(metrics.AUC()(y, p)) == pytest.approx(1.0, abs=1e-6)
    assert float(metrics.AUC()(y, 1 - p)) == pytest.approx(0.0, abs=1e-6)


def test_precision_and_recall_match_numpy_counts():
    batches = _batches("multilabel")
    y, p, w = _concat(batches)
    tp, fp, tn, fn = _confusion(y, p, w, [0.3, 0.6])
    np.testing.assert_allclose(_stream(metrics.Precision(thresholds=[0.3, 0.6]), batches), tp / (tp + fp), rtol=1e-6)
    np.testing.assert_allclose(_stream(metrics.Recall(thresholds=[0.3, 0.6]), batches), tp / (tp + fn), rtol=1e-6)
    np.testing.assert_allclose(_stream(metrics.TrueNegatives(thresholds=[0.3, 0.6]), batches), tn, rtol=1e-6)
    # top_k: only each row's largest prediction can count as positive
    top = np.zeros_like(p, dtype=bool)
    top[np.arange(len(p)), np.argmax(p, axis=1)] = True
    wide = np.broadcast_to(w[:, None], y.shape)
    true_pos = np.sum(wide * (top & (y != 0)))
    assert float(_stream(metrics.Precision(top_k=1), batches)) == pytest.approx(true_pos / np.sum(wide * top), rel=1e-6)


def test_precision_is_zero_without_positive_predictions():
    precision = metrics.Precision()
    precision.update_state([1, 0, 1], [0.1, 0.2, 0.3])
    assert float(precision.result()) == 0.0


def test_r2_score_matches_numpy_formula():
    batches = _batches("regression")
    y, p, w = _concat(batches)
    wide = np.broadcast_to(w[:, None], y.shape)
    mean = np.sum(wide * y, axis=0) / np.sum(wide, axis=0)
    per_column = 1 - np.sum(wide * (y - p) ** 2, axis=0) / np.sum(wide * (y - mean) ** 2, axis=0)
    np.testing.assert_allclose(_stream(metrics.R2Score(class_aggregation=None), batches), per_column, rtol=1e-4)
    assert float(_stream(metrics.R2Score(), batches)) == pytest.approx(np.mean(per_column), rel=1e-4)
    n = y.size
    adjusted = 1 - (1 - np.mean(per_column)) * (n - 1) / (n - 3 - 1)
    assert float(_stream(metrics.R2Score(num_regressors=3), batches)) == pytest.approx(adjusted, rel=1e-4)


def test_r2_score_rejects_other_ranks_and_falls_back_with_too_many_regressors():
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.R2Score().update_state(np.zeros(4), np.zeros(4))
    score = metrics.R2Score(num_regressors=10)
    score.update_state(np.array([[1.0], [2.0], [4.0]]), np.array([[1.5], [2.0], [3.0]]))
    with pytest.warns(UserWarning, match="More independent predictors"):
        value = float(score.result())
    plain = metrics.R2Score()
    plain.update_state(np.array([[1.0], [2.0], [4.0]]), np.array([[1.5], [2.0], [3.0]]))
    assert value == pytest.approx(float(plain.result()))


# --------------------------------------------------------------------------- Mean, Sum, wrapper

def test_mean_and_sum_reduce_extra_axes_and_weights():
    mean, total = metrics.Mean(), metrics.Sum()
    values = np.array([[1.0, 3.0], [5.0, 7.0], [2.0, 2.0]])
    weights = np.array([1.0, 0.5, 0.0])
    mean.update_state(values, sample_weight=weights)
    total.update_state(values, sample_weight=weights)
    assert float(mean.result()) == pytest.approx((2.0 * 1 + 6.0 * 0.5) / 1.5)
    assert float(total.result()) == pytest.approx(4.0 * 1 + 12.0 * 0.5)
    mean.update_state(10.0)  # a scalar counts as one sample
    assert float(mean.result()) == pytest.approx((2.0 + 3.0 + 10.0) / 2.5)
    mean.reset_state()
    assert float(mean.result()) == 0.0 and mean.result().dtype == np.float32
    assert [v.path for v in mean.variables] == ["mean/total", "mean/count"]


def test_mean_metric_wrapper_averages_a_user_function():
    def halved_error(y_true, y_pred):
        return np.abs(y_true - y_pred) / 2

    metric = metrics.MeanMetricWrapper(halved_error, name="half")
    metric.update_state(np.array([[1.0], [3.0]]), np.array([[2.0], [0.0]]), sample_weight=np.array([1.0, 3.0]))
    assert metric.name == "half"
    assert float(metric.result()) == pytest.approx((0.5 * 1 + 1.5 * 3) / 4)
    assert metric(np.array([[0.0]]), np.array([[4.0]])) == pytest.approx((0.5 + 4.5 + 2.0) / 5)
    assert not hasattr(metric, "_direction")  # Keras cannot tell whether to maximize it
    assert metric._native_metric_spec((None, 1), (None, 1)) is None


def test_metric_matches_keras_mean_and_sum(keras):
    values = np.array([[1.0, 3.0], [5.0, 7.0], [2.0, 2.0]], dtype=np.float32)
    weights = np.array([[1.0], [0.5], [0.0]], dtype=np.float32)
    for cls in ("Mean", "Sum"):
        ours, theirs = getattr(metrics, cls)(), getattr(keras.metrics, cls)()
        for sample_weight in (weights, weights[:, 0], None):
            ours.update_state(values, sample_weight=sample_weight)
            theirs.update_state(values, sample_weight=sample_weight)
            assert float(ours.result()) == pytest.approx(float(theirs.result()), rel=1e-6)


def test_custom_metric_subclass_with_add_variable():
    class CountAbove(metrics.Metric):
        def __init__(self, name="count_above", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = self.add_variable((), initializer="zeros", name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self._add(self.count, np.sum(np.asarray(y_pred) > 0.5))

        def result(self):
            return self._scalar(self.count.value)

    metric = CountAbove()
    metric.update_state(None, np.array([0.2, 0.7, 0.9]))
    metric.update_state(None, np.array([0.8]))
    assert float(metric.result()) == 3.0
    metric.reset_state()
    assert float(metric.result()) == 0.0
    assert metric.variables[0].path == "count_above/count"
    assert metric.get_config() == {"name": "count_above", "dtype": "float32"}


# --------------------------------------------------------------------------- names and configs

NAMED_CLASSES = [
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "RootMeanSquaredError", "LogCoshError", "CosineSimilarity", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
    "CategoricalHinge", "R2Score", "Accuracy", "Mean", "Sum",
]


@pytest.mark.parametrize("cls_name", NAMED_CLASSES)
def test_default_names_and_configs_match_keras(keras, cls_name):
    ours, theirs = getattr(metrics, cls_name)(), getattr(keras.metrics, cls_name)()
    assert ours.name == theirs.name
    assert ours.get_config() == theirs.get_config()
    assert metrics.serialize(ours) == keras.metrics.serialize(theirs)
    rebuilt = metrics.deserialize(metrics.serialize(ours))
    assert type(rebuilt) is type(ours) and rebuilt.get_config() == ours.get_config()


def test_documented_default_names():
    assert metrics.MeanAbsoluteError().name == "mean_absolute_error"
    assert metrics.LogCoshError().name == "logcosh"  # Keras's name, not log_cosh_error
    assert metrics.R2Score().name == "r2_score"
    assert metrics.RootMeanSquaredError().name == "root_mean_squared_error"


@pytest.mark.parametrize("make", [
    lambda m: m.AUC(name="a", num_thresholds=50, curve="PR", summation_method="majoring", from_logits=True),
    lambda m: m.AUC(name="a", thresholds=[0.1, 0.5, 0.9], multi_label=True, num_labels=3),
    lambda m: m.Precision(name="p", thresholds=[0.2, 0.4], class_id=2),
    lambda m: m.Recall(name="r", top_k=3),
    lambda m: m.R2Score(name="r2", class_aggregation=None, num_regressors=4),
    lambda m: m.BinaryAccuracy(name="b", threshold=0.7),
    lambda m: m.SparseTopKCategoricalAccuracy(k=3, name="s", from_sorted_ids=True),
    lambda m: m.TruePositives(name="tp", thresholds=[0.3, 0.6]),
    lambda m: m.BinaryCrossentropy(name="bce", from_logits=True, label_smoothing=0.2),
], ids=["auc", "auc_thresholds", "precision", "recall", "r2", "binary_accuracy", "sparse_top_k", "tp", "bce"])
def test_configs_of_parameterized_metrics_match_keras(keras, make):
    ours, theirs = make(metrics), make(keras.metrics)
    assert ours.get_config() == theirs.get_config()
    rebuilt = type(ours).from_config(ours.get_config())
    assert rebuilt.get_config() == ours.get_config()


def test_auto_names_are_unique_per_class():
    first, second = metrics.Precision(), metrics.Precision()
    assert first.name.startswith("precision") and second.name.startswith("precision")
    assert first.name != second.name
    assert metrics.AUC(name="mine").name == "mine"


def test_auc_thresholds_and_validation():
    auc = metrics.AUC(num_thresholds=3)
    assert auc.thresholds == pytest.approx([-EPS, 0.5, 1 + EPS])
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="ABC")
    with pytest.raises(ValueError, match="summation"):
        metrics.AUC(summation_method="simpson")
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(num_labels=3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="class_aggregation"):
        metrics.R2Score(class_aggregation="median")


def test_result_before_any_update_matches_keras(keras):
    for name in ("AUC", "Precision", "Recall", "Mean", "MeanSquaredError", "BinaryAccuracy"):
        assert float(getattr(metrics, name)().result()) == float(getattr(keras.metrics, name)().result())


# --------------------------------------------------------------------------- get / serialize

def test_get_resolves_names_classes_functions_and_configs(keras):
    for name in ("auc", "AUC", "mse", "MSE", "mae", "bce", "binary_accuracy", "r2_score", "log_cosh_error",
                 "precision", "Recall", "kl_divergence", "top_k_categorical_accuracy"):
        assert type(metrics.get(name)).__name__ == type(keras.metrics.get(name)).__name__, name
    assert metrics.get(None) is None
    assert isinstance(metrics.get(metrics.AUC), metrics.AUC)
    auc = metrics.AUC()
    assert metrics.get(auc) is auc
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    restored = metrics.get({"class_name": "Precision", "config": {"name": "p", "thresholds": 0.3}})
    assert isinstance(restored, metrics.Precision) and restored.name == "p" and restored.thresholds == [0.3]


@pytest.mark.parametrize("identifier", ["kld", "logcosh", "no_such_metric", 3])
def test_get_rejects_what_keras_3_rejects(keras, identifier):
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        metrics.get(identifier)
    with pytest.raises(ValueError):
        keras.metrics.get(identifier)


def test_serialize_functions_and_wrappers(keras):
    assert metrics.serialize(metrics.binary_accuracy) == keras.metrics.serialize(keras.metrics.binary_accuracy)
    assert metrics.deserialize(metrics.serialize(metrics.binary_accuracy)) is metrics.binary_accuracy
    wrapper = metrics.MeanMetricWrapper(metrics.binary_accuracy, name="w", threshold=0.3)
    reference = keras.metrics.MeanMetricWrapper(keras.metrics.binary_accuracy, name="w", threshold=0.3)
    assert wrapper.get_config() == reference.get_config()
    rebuilt = metrics.deserialize(metrics.serialize(wrapper))
    assert rebuilt._fn is metrics.binary_accuracy and rebuilt._fn_kwargs == {"threshold": 0.3}
    assert metrics.serialize("mse") == "mse"
    assert isinstance(metrics.deserialize("mse"), metrics.MeanSquaredError)


def test_deserialize_uses_custom_objects():
    class Custom(metrics.Mean):
        pass

    config = metrics.serialize(Custom(name="c"))
    with pytest.raises(ValueError, match="custom_objects"):
        metrics.deserialize(config)
    restored = metrics.deserialize(config, custom_objects={"Custom": Custom})
    assert isinstance(restored, Custom) and restored.name == "c"

    def my_fn(y_true, y_pred):
        return y_pred

    assert metrics.deserialize({"class_name": "function", "config": "my_fn"}, custom_objects={"my_fn": my_fn}) is my_fn


# --------------------------------------------------------------------------- native specs, compile resolution

def test_native_specs_of_mean_based_metrics():
    shapes = ((None, 3), (None, 3))
    assert metrics.MeanSquaredError()._native_metric_spec(*shapes) == {
        "kind": "loss", "loss": {"name": "mean_squared_error"}}
    assert metrics.RootMeanSquaredError()._native_metric_spec(*shapes)["root"] is True
    assert metrics.CosineSimilarity()._native_metric_spec(*shapes)["negate"] is True
    assert metrics.CosineSimilarity(axis=0)._native_metric_spec(*shapes) is None
    assert metrics.BinaryAccuracy(threshold=0.7)._native_metric_spec(*shapes) == {
        "kind": "binary_accuracy", "threshold": 0.7}
    assert metrics.TopKCategoricalAccuracy(k=3)._native_metric_spec(*shapes) == {
        "kind": "top_k_categorical_accuracy", "k": 3}
    assert metrics.SparseTopKCategoricalAccuracy(from_sorted_ids=True)._native_metric_spec((None,), (None, 3)) is None
    assert metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)._native_metric_spec(*shapes)["loss"] == {
        "name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.1}
    assert metrics.SparseCategoricalCrossentropy()._native_metric_spec((None,), (None, 3))["kind"] == "loss"
    # targets the engine's kernel cannot read as they are run in Python (Keras broadcasts them)
    assert metrics.MeanSquaredError()._native_metric_spec((None, 1), (None, 3)) is None
    assert metrics.SparseCategoricalAccuracy()._native_metric_spec((None, 3), (None, 3)) is None
    for python_only in (metrics.AUC(), metrics.Precision(), metrics.Recall(), metrics.R2Score(), metrics.Accuracy()):
        assert python_only._native_metric_spec(*shapes) is None


def test_directions():
    assert metrics.AUC()._direction == "max" and metrics.Precision()._direction == "max"
    assert metrics.R2Score()._direction == "max" and metrics.CosineSimilarity()._direction == "max"
    assert metrics.MeanSquaredError()._direction == "min" and metrics.KLDivergence()._direction == "min"
    assert metrics.MeanMetricWrapper(metrics.mse)._direction == "min"


def test_resolve_metric_names_instances_classes_and_functions():
    def myCustomMetric(y_true, y_pred):
        return y_pred

    shapes = ((None, 1), (None, 1))
    name, spec, direction, python = compile_utils.resolve_metric("mae", *shapes, weighted=True)
    assert (name, spec["kind"], spec["weighted"], direction, python) == ("mae", "loss", True, "min", None)
    name, spec, direction, python = compile_utils.resolve_metric("auc", *shapes, weighted=False)
    assert (name, spec, direction) == ("auc", None, "max") and isinstance(python, metrics.AUC) and python.name == "auc"
    auc = metrics.AUC(name="my_auc")
    assert compile_utils.resolve_metric(auc, *shapes, weighted=False)[::3] == ("my_auc", auc)
    name, spec, _, python = compile_utils.resolve_metric(metrics.MeanAbsoluteError, *shapes, weighted=False)
    assert name == "mean_absolute_error" and spec is not None and python is None
    name, spec, direction, python = compile_utils.resolve_metric(myCustomMetric, *shapes, weighted=False)
    assert (name, spec, direction) == ("my_custom_metric", None, None)
    assert python._fn is myCustomMetric
    name, spec, direction, _ = compile_utils.resolve_metric(metrics.mean_squared_error, *shapes, weighted=False)
    assert name == "mean_squared_error" and spec["loss"]["name"] == "mean_squared_error" and direction == "min"
    assert compile_utils.resolve_metric("kld", *shapes, weighted=False)[1]["loss"]["name"] == "kl_divergence"
    assert compile_utils.resolve_metric("acc", (None, 1), (None, 3), weighted=False)[1]["kind"] == \
        "sparse_categorical_accuracy"
    config = metrics.serialize(metrics.Recall(name="rec"))
    name, spec, _, python = compile_utils.resolve_metric(config, *shapes, weighted=False)
    assert name == "rec" and spec is None and isinstance(python, metrics.Recall)
    with pytest.raises(ValueError, match="Could not interpret"):
        compile_utils.resolve_metric("nope", *shapes, weighted=False)
