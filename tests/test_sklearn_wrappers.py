"""fastdense.wrappers: scikit-learn estimators around fastdense models (Keras 3's
SKLearnClassifier / SKLearnRegressor / SKLearnTransformer), checked with scikit-learn's own
estimator checks, with no expected failure, and in the places scikit-learn uses them."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import joblib  # noqa: E402  (a dependency of scikit-learn)

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_blobs, make_classification, make_regression  # noqa: E402
from sklearn.exceptions import DataConversionWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastdense as fd  # noqa: E402
from fastdense import random as fd_random  # noqa: E402
from fastdense.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402


def _mlp(X, y, loss, out_activation="linear", hidden=16, learning_rate=0.01):
    """A model shaped by the data: X's features in, one unit per target column out."""
    inputs = fd.layers.Input((X.shape[1],))
    hidden_layer = fd.layers.Dense(hidden, activation="relu")(inputs)
    outputs = fd.layers.Dense(y.shape[1], activation=out_activation)(hidden_layer)
    model = fd.Model(inputs, outputs)
    model.compile(fd.optimizers.Adam(learning_rate), loss)
    return model


class _ModelBuilder:
    """`_mlp` with a repr free of memory addresses, so scikit-learn's check ids (made from the
    estimator's repr) are the same in every process that collects them (pytest-xdist)."""

    def __call__(self, *args, **kwargs):
        return _mlp(*args, **kwargs)

    def __repr__(self):
        return "mlp"


mlp = _ModelBuilder()


def classifier(**fit_kwargs):
    return SKLearnClassifier(mlp, model_kwargs={"loss": "categorical_crossentropy", "out_activation": "softmax"},
                             fit_kwargs={"epochs": 5, **fit_kwargs})


def regressor(**fit_kwargs):
    return SKLearnRegressor(mlp, model_kwargs={"loss": "mse"}, fit_kwargs={"epochs": 5, **fit_kwargs})


def transformer(**fit_kwargs):
    return SKLearnTransformer(mlp, model_kwargs={"loss": "mse", "hidden": 8}, fit_kwargs={"epochs": 5, **fit_kwargs})


def compiled_classifier_model(features=4, classes=3):
    inputs = fd.layers.Input((features,))
    outputs = fd.layers.Dense(classes, activation="softmax")(fd.layers.Dense(8, activation="relu")(inputs))
    model = fd.Model(inputs, outputs)
    model.compile(fd.optimizers.Adam(0.02), "categorical_crossentropy", metrics=["accuracy"])
    return model


# ------------------------------------------------------------------- scikit-learn's checks
@parametrize_with_checks([classifier(), regressor(), transformer()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ----------------------------------------------------------- where Keras's wrappers fail
def test_binary_decision_function_is_one_score_per_sample():
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    labels = np.where(y == 1, "yes", "no")
    estimator = classifier(epochs=20).fit(X, labels)
    decision = estimator.decision_function(X)
    assert decision.shape == (60,)
    np.testing.assert_array_equal(estimator.classes_[(decision > 0).astype(int)], estimator.predict(X))
    assert estimator.classes_.tolist() == ["no", "yes"]


def test_multiclass_decision_function_matches_predict():
    X, y = make_blobs(n_samples=90, centers=3, random_state=1)
    estimator = classifier(epochs=30).fit(X, y)
    decision = estimator.decision_function(X)
    assert decision.shape == (90, 3)
    np.testing.assert_array_equal(estimator.classes_[decision.argmax(axis=1)], estimator.predict(X))
    assert (estimator.predict(X) == y).mean() > 0.9


def test_clone_keeps_fit_kwargs_and_fit_arguments_do_not_stick():
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    estimator = regressor(batch_size=8)
    copied = clone(estimator)
    assert copied.fit_kwargs == {"epochs": 5, "batch_size": 8}
    copied.fit(X, y, epochs=2)
    assert copied.fit_kwargs == {"epochs": 5, "batch_size": 8}  # not written back
    assert copied.epoch_ == 2 and len(copied.history_["loss"]) == 2
    copied.fit(X, y)
    assert copied.epoch_ == 5


def test_warm_start_continues_training_the_fitted_model():
    X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    cold = regressor(epochs=2).fit(X, y)
    first_model = cold.model_
    cold.fit(X, y)
    assert cold.model_ is not first_model  # a new model each fit

    warm = SKLearnRegressor(mlp, warm_start=True, model_kwargs={"loss": "mse"}, fit_kwargs={"epochs": 2}).fit(X, y)
    model = warm.model_
    first_loss = warm.history_["loss"]
    warm.fit(X, y)
    assert warm.model_ is model and model.optimizer.iterations == 2 * 2 * 2  # two fits, 2 epochs of 2 batches
    assert warm.history_["loss"][0] < first_loss[0]
    with pytest.raises(ValueError, match="features"):
        warm.fit(X[:, :2], y)


def test_warm_start_classifier_refuses_new_classes():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    estimator = SKLearnClassifier(mlp, warm_start=True, model_kwargs={"loss": "categorical_crossentropy"},
                                  fit_kwargs={"epochs": 1}).fit(X, y)
    estimator.fit(X[y < 2], y[y < 2])  # a subset of the classes is fine
    assert estimator.classes_.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="not seen"):
        estimator.fit(X, y + 1)


def test_model_instance_is_cloned_and_compiled_like_the_original():
    X, y = make_blobs(n_samples=60, n_features=4, centers=3, random_state=0)
    model = compiled_classifier_model()
    before = model.get_weights()
    estimator = SKLearnClassifier(model, fit_kwargs={"epochs": 3})
    params_hash = joblib.hash(estimator.get_params())
    estimator.fit(X, y)
    assert joblib.hash(estimator.get_params()) == params_hash  # fit changes no parameter
    assert estimator.model_ is not model
    assert estimator.model_.get_compile_config() == model.get_compile_config()
    assert set(estimator.history_) == {"loss", "accuracy"}
    for after, original in zip(model.get_weights(), before):
        np.testing.assert_array_equal(after, original)
    assert not model.optimizer.built

    in_place = SKLearnClassifier(model, warm_start=True, fit_kwargs={"epochs": 1}).fit(X, y)
    assert in_place.model_ is model  # warm_start trains the given model itself, as in Keras


def test_sklearn_clone_of_a_model_instance():
    X, y = make_blobs(n_samples=60, n_features=4, centers=3, random_state=0)
    estimator = SKLearnClassifier(compiled_classifier_model(), fit_kwargs={"epochs": 3})
    copied = clone(estimator)
    assert copied.model is not estimator.model and copied.fit_kwargs == estimator.fit_kwargs
    np.testing.assert_array_equal(copied.fit(X, y).predict(X), estimator.fit(X, y).predict(X))


# ------------------------------------------------------------------------ reproducibility
def test_fits_are_reproducible_and_seeded_by_random_state():
    X, y = make_regression(n_samples=50, n_features=4, random_state=0)
    first, second = regressor().fit(X, y).predict(X), regressor().fit(X, y).predict(X)
    np.testing.assert_array_equal(first, second)
    seeded = regressor(random_state=7).fit(X, y).predict(X)
    assert not np.array_equal(seeded, first)
    np.testing.assert_array_equal(regressor().fit(X, y, random_state=7).predict(X), seeded)
    np.testing.assert_array_equal(regressor(random_state=np.random.RandomState(3)).fit(X, y).predict(X),
                                  regressor(random_state=np.random.RandomState(3)).fit(X, y).predict(X))
    fresh = [regressor(random_state=None).fit(X, y).predict(X) for _ in range(2)]
    assert not np.array_equal(*fresh)


def test_fit_leaves_the_global_generator_reproducible():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    draws = []
    for _ in range(2):
        fd.utils.set_random_seed(11)
        regressor().fit(X, y)
        draws.append(fd_random.global_generator().integers(1 << 30, size=4))
    np.testing.assert_array_equal(*draws)


# ------------------------------------------------------------------------ sample weights
def test_zero_sample_weights_remove_samples():
    X, y = make_blobs(n_samples=80, centers=3, random_state=2)
    weights = np.ones(80)
    weights[::4] = 0
    weights[1::4] = 2.5
    weighted = classifier().fit(X, y, sample_weight=weights)
    kept = weights > 0
    removed = classifier().fit(X[kept], y[kept], sample_weight=weights[kept])
    np.testing.assert_array_equal(weighted.decision_function(X), removed.decision_function(X))
    assert not np.array_equal(weighted.decision_function(X), classifier().fit(X, y).decision_function(X))


def test_sample_weight_leaving_one_class_is_an_error_naming_it():
    X, y = make_blobs(n_samples=20, centers=2, random_state=0)
    with pytest.raises(ValueError, match="one class.*sample_weight"):
        classifier().fit(X, y, sample_weight=(y == 1).astype(float))
    with pytest.raises(ValueError, match="sample_weight"):
        classifier().fit(X, y, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="sample_weight 0"):
        classifier().fit(X, y, sample_weight=np.zeros(20))


# ----------------------------------------------------------------------- targets, inputs
def test_one_and_two_dimensional_targets():
    X, y = make_regression(n_samples=40, n_features=3, n_targets=2, random_state=0)
    assert regressor().fit(X, y).predict(X).shape == (40, 2)
    assert regressor().fit(X, y[:, 0]).predict(X).shape == (40,)
    column = regressor().fit(X, y[:, :1]).predict(X)
    assert column.shape == (40, 1)
    np.testing.assert_array_equal(column[:, 0], regressor().fit(X, y[:, 0]).predict(X))
    assert transformer().fit(X, y).transform(X).shape == (40, 2)

    Xc, yc = make_blobs(n_samples=40, centers=3, random_state=0)
    with pytest.warns(DataConversionWarning):
        as_column = classifier().fit(Xc, yc[:, None]).predict(Xc)
    np.testing.assert_array_equal(as_column, classifier().fit(Xc, yc).predict(Xc))
    with pytest.raises(ValueError, match="Unknown label type"):
        classifier().fit(Xc, Xc[:, 0])


def test_pandas_and_list_inputs():
    pd = pytest.importorskip("pandas")
    X, y = make_blobs(n_samples=40, n_features=3, centers=2, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    from_frame = classifier().fit(frame, pd.Series(y))
    assert from_frame.n_features_in_ == 3 and from_frame.feature_names_in_.tolist() == ["a", "b", "c"]
    from_list = classifier().fit(X.tolist(), y.tolist())
    np.testing.assert_array_equal(from_frame.predict(frame), from_list.predict(X.tolist()))
    np.testing.assert_array_equal(from_list.decision_function(X), from_frame.decision_function(frame))


def test_tags():
    tags = classifier().__sklearn_tags__()
    assert tags.estimator_type == "classifier" and tags.classifier_tags.poor_score
    assert tags.target_tags.required and not tags.non_deterministic
    assert regressor().__sklearn_tags__().target_tags.multi_output
    assert transformer().__sklearn_tags__().transformer_tags.preserves_dtype == []


def test_bad_models():
    X, y = make_regression(n_samples=10, n_features=2, random_state=0)

    def uncompiled(X, y):
        inputs = fd.layers.Input((2,))
        return fd.Model(inputs, fd.layers.Dense(1)(inputs))

    with pytest.raises(RuntimeError, match="compiled"):
        SKLearnRegressor(uncompiled).fit(X, y)
    with pytest.raises(TypeError, match="Model"):
        SKLearnRegressor(lambda X, y: "not a model").fit(X, y)
    with pytest.raises(TypeError, match="Model or a callable"):
        SKLearnRegressor(42).fit(X, y)
    with pytest.raises(TypeError, match="fit_kwargs"):
        SKLearnRegressor(mlp, fit_kwargs=[1]).fit(X, y)


# ------------------------------------------------------------------- inside scikit-learn
def test_pipeline_and_grid_search():
    X, y = make_blobs(n_samples=90, centers=3, random_state=3)
    pipeline = make_pipeline(StandardScaler(), classifier(epochs=20))
    assert pipeline.fit(X, y).score(X, y) > 0.9
    search = GridSearchCV(classifier(), {"model_kwargs": [
        {"loss": "categorical_crossentropy", "out_activation": "softmax", "hidden": 2},
        {"loss": "categorical_crossentropy", "out_activation": "softmax", "hidden": 16}],
        "fit_kwargs": [{"epochs": 1}, {"epochs": 20}]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["fit_kwargs"] == {"epochs": 20}
    assert search.best_estimator_.epoch_ == 20


def test_cross_val_score_in_two_processes_matches_one():
    X, y = make_regression(n_samples=60, n_features=4, noise=0.1, random_state=0)
    estimator = SKLearnRegressor(compiled_regression_model(), fit_kwargs={"epochs": 10})
    serial = cross_val_score(estimator, X, y, cv=3)
    parallel = cross_val_score(estimator, X, y, cv=3, n_jobs=2)
    np.testing.assert_array_equal(serial, parallel)


def compiled_regression_model():
    inputs = fd.layers.Input((4,))
    model = fd.Model(inputs, fd.layers.Dense(1)(fd.layers.Dense(8, activation="relu")(inputs)))
    model.compile(fd.optimizers.Adam(0.05), "mse")
    return model


def test_fitted_estimator_pickles():
    X, y = make_blobs(n_samples=40, centers=3, random_state=0)
    estimator = classifier().fit(X, y)
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.decision_function(X), estimator.decision_function(X))
    assert restored.fit_kwargs == estimator.fit_kwargs and restored.classes_.tolist() == [0, 1, 2]


def test_importing_fastdense_does_not_import_scikit_learn():
    code = ("import sys, fastdense\n"
            "assert 'sklearn' not in sys.modules, 'sklearn imported'\n"
            "assert 'fastdense.wrappers' not in sys.modules, 'wrappers imported'\n"
            "import fastdense.wrappers\n"
            "assert 'sklearn' in sys.modules\n")
    root = os.path.dirname(os.path.dirname(fd.__file__))  # the fastdense under test, source or installed
    with warnings.catch_warnings():
        subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
