"""scikit-learn estimators around a fastdense model: SKLearnClassifier, SKLearnRegressor,
SKLearnTransformer, with Keras 3's constructor `(model, warm_start=False, model_kwargs=None,
fit_kwargs=None)` and attributes (keras/src/wrappers/sklearn_wrapper.py).

Where they differ from Keras's wrappers, it is to be correct estimators (they pass
scikit-learn's `check_estimator` with no expected failure):
- `fit_kwargs` is never modified: `fit(X, y, **kwargs)` arguments apply to that fit only, and
  `sklearn.base.clone` keeps `fit_kwargs` (Keras's __sklearn_clone__ drops them).
- `warm_start=True` continues training `model_` on the next fit (the classes and the number of
  features must stay the same).
- Every fit is reproducible (see `random_state` below), so fitting twice, or on a list instead
  of an array, or on a column-vector target, gives the same model.
- Samples whose `sample_weight` is 0 are removed before training (Keras only zeroes their loss,
  and counts their classes).
- Predictions are row-wise exact: a row's output does not depend on the other rows predicted
  with it (scikit-learn checks this to the last bit).
- A binary classifier's `decision_function` returns one score per sample (positive means
  `classes_[1]`), as scikit-learn defines it.

Randomness. Each fit runs with fastdense's global generator (initial weights, shuffling,
dropout) seeded from `fit_kwargs["random_state"]` (or a `random_state=` passed to `fit`): an
int, a `numpy.random.RandomState`, or None for a fresh random start; the default is 0. The
key is taken out before `model.fit` is called. The global generator continues afterwards from a
seed drawn from its state before the fit, so the wrapper leaves a seeded script reproducible.
Python's `random` and NumPy's global generator are not touched.

Keras's `model.fit` prints a progress bar by default; here `verbose` defaults to 0 (give
`fit_kwargs={"verbose": 1}` to see it).
"""

import contextlib
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from fastdense import random as fd_random
from fastdense.models import Model, clone_model

DEFAULT_RANDOM_STATE = 0
PREDICT_BATCH = 128


@contextlib.contextmanager
def _seeded_randomness(random_state):
    """fastdense's global generator seeded from random_state for the duration of a fit."""
    before = fd_random.global_generator()
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        seed = random_state
    else:  # a RandomState (or anything check_random_state accepts) draws the seed
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    fd_random.set_seed(None if seed is None else int(seed))
    try:
        yield
    finally:
        fd_random.set_seed(int(before.integers(np.iinfo(np.int64).max)))


def _check_model(model):
    if not isinstance(model, Model):
        raise TypeError(f"`model` must be a fastdense Model, or a callable returning one; the callable returned "
                        f"{type(model).__name__}")
    if not model.compiled or not model.loss or not model.optimizer:
        raise RuntimeError("Given model needs to be compiled, and have a loss and an optimizer.")


def _state_bytes(model):
    """The bytes of a model's variables and its optimizer's (without copying them)."""
    variables = list(model.weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables += list(optimizer.variables)
    return sum(int(np.prod(v.shape, dtype=np.int64)) * np.dtype(v.dtype).itemsize for v in variables)


class SKLBase(BaseEstimator):
    """The fit/predict machinery shared by the three wrappers.

    Args:
        model: a compiled fastdense `Model` (cloned with `fastdense.models.clone_model`, and
            compiled like the original, before each fit unless `warm_start`), or a callable
            `model(X, y, **model_kwargs)` returning a compiled Model (called with the validated
            X and the encoded targets: one-hot classes for the classifier, a 2-D float array
            for the regressor and transformer).
        warm_start: reuse the fitted `model_` (and train it further) on the next fit. With a
            Model instance and no fitted model yet, that instance itself is trained, as in Keras.
        model_kwargs: keyword arguments for `model` when it is a callable.
        fit_kwargs: keyword arguments for `model.fit` (epochs, batch_size, ...), plus
            `random_state` (see the module's docstring). Arguments given to `fit` override
            them for that call.

    Attributes:
        model_: the fitted Model.
        history_: the History dict of the last fit (metric name -> one value per epoch).
        n_features_in_: the number of features seen in fit.
        feature_names_in_: the column names, when X was a pandas DataFrame with string names.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sizeof__(self):
        """The bytes this estimator pickles into, about: its models' weights and optimizer
        state. Dask measures arguments with sys.getsizeof (dask/sizeof.py) and puts those over
        1 MB into the graph once, as their own key (dask/array/core.py's normalize_arg), so that
        dask-ml's ParallelPostFit ships a large fitted model to each worker once instead of
        inside every partition's task."""
        models = [m for m in (getattr(self, "model_", None), getattr(self, "model", None)) if isinstance(m, Model)]
        return object.__sizeof__(self) + sum(_state_bytes(m) for m in {id(m): m for m in models}.values())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.non_deterministic = False  # every fit is seeded
        return tags

    @property
    def epoch_(self):
        """The number of epochs of the last fit."""
        history = getattr(self, "history_", None) or {}
        return len(next(iter(history.values()), []))

    # ------------------------------------------------------------------------------- fit
    def fit(self, X, y, **kwargs):
        """Trains the model on X (n_samples, n_features) and y.

        Args:
            X: array-like (arrays, lists, pandas DataFrames).
            y: array-like targets, 1-D or 2-D.
            **kwargs: for `model.fit`, overriding `fit_kwargs` for this call; `sample_weight`
                (samples weighted 0 are removed) and `random_state` are handled here.
        """
        self._check_params()
        continuing = bool(self.warm_start) and hasattr(self, "model_")
        X, y = validate_data(self, X, y, reset=not continuing, **self._validation_options())
        arguments = {"verbose": 0, **(self.fit_kwargs or {}), **kwargs}
        random_state = arguments.pop("random_state", DEFAULT_RANDOM_STATE)
        sample_weight = arguments.pop("sample_weight", None)
        if sample_weight is not None:
            X, y, sample_weight = self._without_zero_weights(X, y, sample_weight)
        target = self._encode_target(y, reset=not continuing)
        with _seeded_randomness(random_state):
            model = self._get_model(X, target)
            _check_model(model)
            history = model.fit(X, target, sample_weight=sample_weight, **arguments)
        self.model_ = model
        self.history_ = dict(history.history) if history is not None else {}
        return self

    def _check_params(self):
        if not isinstance(self.model, Model) and not callable(self.model):
            raise TypeError(f"`model` must be a fastdense Model or a callable returning one, got "
                            f"{type(self.model).__name__}")
        for name in ("model_kwargs", "fit_kwargs"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"`{name}` must be a dict or None, got {type(value).__name__}")

    def _validation_options(self):
        return {"multi_output": True, "y_numeric": True}

    def _get_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            return self.model if self.warm_start else clone_model(self.model)
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    @staticmethod
    def _without_zero_weights(X, y, sample_weight):
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.ndim == 0:
            weights = np.full(X.shape[0], float(weights))
        if weights.shape != (X.shape[0],):
            raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({X.shape[0]},)")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("sample_weight must be finite and non-negative")
        keep = weights > 0
        if not keep.any():
            raise ValueError("Every sample has sample_weight 0: there is nothing to train on")
        return X[keep], y[keep], weights[keep]

    # ------------------------------------------------------------------------- predicting
    def _raw_predict(self, X):
        """The model's outputs, each row exactly what that row alone gives: the engine's
        matrix products add in an order that depends on the batch's row count, so rows are
        predicted in batches of PREDICT_BATCH rows, the last one filled up with copies of the
        first row. Without this, predict(X[:10]) and predict(X)[:10] differ in the last bit."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        n = X.shape[0]
        filler = (-n) % PREDICT_BATCH
        if filler:
            X = np.concatenate([X, np.repeat(X[:1], filler, axis=0)])
        return np.asarray(self.model_.predict(X, batch_size=PREDICT_BATCH, verbose=0))[:n]

    # Regressors and transformers: a float target, 2-D for the model, 1-D back if it was.
    def _encode_target(self, y, reset):
        if reset:
            self._y_ndim = np.ndim(y)
        y = np.asarray(y, dtype=np.float32)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _decode_target(self, output):
        if self._y_ndim == 1 and output.ndim == 2 and output.shape[1] == 1:
            return output[:, 0]
        return output


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier training a fastdense model on one-hot targets (binary or
    multiclass; labels of any type, `classes_` sorted). `predict` returns the class of the
    largest output; `decision_function` the raw outputs (for two classes, output 1 minus
    output 0: positive means `classes_[1]`). The model's outputs may be probabilities or
    logits; scores are not calibrated, so there is no predict_proba (as in Keras).

    See SKLBase for the arguments and the common attributes; also `classes_`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The user's model decides how well it does; scikit-learn's accuracy thresholds on its
        # test sets are not a property of the wrapper.
        tags.classifier_tags.poor_score = True
        return tags

    def _validation_options(self):
        return {"multi_output": False}  # a column-vector y is raveled, with a DataConversionWarning

    def _encode_target(self, y, reset):
        check_classification_targets(y)
        target_type = type_of_target(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"Only binary and multiclass target types are supported. Target type: {target_type}")
        classes, indices = np.unique(y, return_inverse=True)
        if reset:
            if len(classes) < 2:
                raise ValueError(f"Classifier can't train when only one class is present ({classes.tolist()}, "
                                 "after removing the samples with sample_weight 0).")
            self.classes_ = classes
        else:
            unseen = np.setdiff1d(classes, self.classes_)
            if unseen.size:
                raise ValueError(f"warm_start: y has classes {unseen.tolist()} not seen in the first fit "
                                 f"(classes_={self.classes_.tolist()})")
            indices = np.searchsorted(self.classes_, y)
        return np.eye(len(self.classes_), dtype=np.float32)[indices]

    def decision_function(self, X):
        """The model's outputs, (n_samples, n_classes); for two classes one score per sample."""
        output = np.asarray(self._raw_predict(X))
        if len(self.classes_) == 2 and output.ndim == 2 and output.shape[1] == 2:
            return output[:, 1] - output[:, 0]
        return output

    def predict(self, X):
        """The class of each sample: the one whose output is largest."""
        output = np.asarray(self._raw_predict(X))
        return self.classes_[np.argmax(output.reshape(len(output), -1), axis=1)]


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor training a fastdense model on y (1-D or 2-D; predictions have
    the shape y had). See SKLBase for the arguments and attributes."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.regressor_tags.poor_score = True  # the user's model decides how well it does
        return tags

    def predict(self, X):
        # float64, as scikit-learn's regressors predict (the model computes in float32).
        return self._decode_target(np.asarray(self._raw_predict(X), dtype=np.float64))


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer: fitted on (X, y) like the regressor, `transform(X)` returns
    the model's outputs (for example an embedding model inside a Pipeline). See SKLBase for the
    arguments and attributes."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.transformer_tags.preserves_dtype = []  # the outputs are the model's float32
        return tags

    def transform(self, X):
        return np.asarray(self._raw_predict(X))
