"""The cached fast paths of repeated predict / __call__ / predict_on_batch / train_on_batch /
test_on_batch (fastdense/trainers/fast_path.py): they give exactly what the checked path gives,
anything that could change a result makes the next call behave as on a fresh model, and bad
input still raises the checked path's errors."""

import concurrent.futures as futures

import numpy as np
import pytest

from fastdense import layers, models, optimizers

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 10)).astype(np.float32)
Y = RNG.normal(size=(32, 1)).astype(np.float32)
LABELS = RNG.integers(0, 3, size=(32, 1)).astype(np.float32)


def _model(outputs=1, units=1, seed=0):
    inputs = layers.Input((10,))
    h = layers.Dense(16, activation="relu")(inputs)
    h = layers.Dense(16)(h)
    out = layers.Dense(units)(h)
    model = models.Model(inputs, out if outputs == 1 else {"a": out, "b": layers.Dense(2)(h)})
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3 for w in model.get_weights()])
    return model


def _checked(array):
    """The same values as a list: never taken by a fast path, always converted by the checked one."""
    return array.tolist()


def _twin(model, optimizer, loss="mse", metrics=("mae",)):
    """A fresh model with `model`'s weights, compiled alike."""
    twin = _model()
    twin.set_weights(model.get_weights())
    twin.compile(optimizer, loss, metrics=list(metrics))
    return twin


def _same_training(fast, reference, steps, x=X, y=Y, **kwargs):
    """`steps` train_on_batch calls on the fast path of `fast` and the checked path of
    `reference` give the same results and weights."""
    for _ in range(steps):
        assert fast.train_on_batch(x, y, **kwargs) == reference.train_on_batch(_checked(x), _checked(y), **kwargs)
    for a, b in zip(fast.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ predictions
@pytest.mark.parametrize("rows", [1, 8, 100])
def test_repeated_predictions_equal_the_checked_path(rows):
    model = _model()
    x = RNG.normal(size=(rows, 10)).astype(np.float32)
    expected = model.predict(_checked(x), verbose=0)
    in_threes = model.predict(_checked(x), batch_size=3, verbose=0)  # products of other sizes: may round apart
    assert model._inference_path is not None
    for _ in range(2):
        np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
        np.testing.assert_array_equal(model.predict(x, batch_size=3, verbose=0), in_threes)
        np.testing.assert_array_equal(model(x), expected)
        np.testing.assert_array_equal(model.predict_on_batch(x), expected)
    assert model(x).shape == (rows, 1) and model(x).dtype == np.float32


def test_structured_and_reshaped_outputs_on_the_fast_path():
    model = _model(outputs=2)
    expected = model.predict(_checked(X), verbose=0)
    fast = model(X)
    assert list(fast) == list(expected) == ["a", "b"]
    for key in expected:
        np.testing.assert_array_equal(fast[key], expected[key])
    inputs = layers.Input((10,))
    reshaped = models.Model(inputs, layers.Reshape((2, 3))(layers.Dense(6)(inputs)))
    expected = reshaped.predict(_checked(X), verbose=0)
    assert reshaped(X).shape == expected.shape == (32, 2, 3)
    np.testing.assert_array_equal(reshaped(X), expected)


def test_predictions_follow_weight_changes_training_and_recompiling():
    model = _model()
    model(X)
    other = _model(seed=1)
    model.set_weights(other.get_weights())
    np.testing.assert_array_equal(model(X), other(X))
    model.compile(optimizers.SGD(0.1), "mse")
    model.train_on_batch(X, Y)
    model.train_on_batch(X, Y)
    reference = _model()
    reference.set_weights(model.get_weights())
    np.testing.assert_array_equal(model(X), reference(X))
    np.testing.assert_array_equal(model.predict(X, verbose=0), reference.predict(X, verbose=0))


def test_integer_and_one_dimensional_inputs_on_a_warm_path():
    inputs = layers.Input((1,))
    model = models.Model(inputs, layers.Dense(3)(inputs))
    ids = np.arange(6)
    expected = model(_checked(ids.astype(np.float32)))
    for x in (ids, ids.astype(np.int32), ids.astype(np.float32), ids.reshape(-1, 1)):
        np.testing.assert_array_equal(model(x), expected)
        np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    wide = _model()
    counts = RNG.integers(-3, 4, size=(8, 10))
    wide(X)
    np.testing.assert_array_equal(wide(counts), wide(_checked(counts.astype(np.float32))))


def test_float64_models_on_the_fast_paths():
    def make():
        inputs = layers.Input((10,), dtype="float64")
        model = models.Model(inputs, layers.Dense(1, dtype="float64")(layers.Dense(8, dtype="float64")(inputs)))
        model.set_weights([np.full(w.shape, 0.1) for w in model.get_weights()])
        model.compile(optimizers.SGD(0.01), "mse", metrics=["mae"])
        return model

    model, reference = make(), make()
    _same_training(model, reference, 2, x=X.astype(np.float64), y=Y.astype(np.float64))
    _same_training(model, reference, 1)  # float32 data converted by the checked path
    np.testing.assert_array_equal(model(X.astype(np.float64)), reference(_checked(X)))
    assert model(X).dtype == np.float64


def test_other_dtypes_layouts_and_widths_on_a_warm_path():
    model = _model()
    expected = model(X)
    np.testing.assert_array_equal(model(X.astype(np.float64)), expected)  # converted by the checked path
    np.testing.assert_array_equal(model(np.asfortranarray(X)), expected)
    np.testing.assert_array_equal(model(X[:5]), model(_checked(X[:5])))
    with pytest.raises(ValueError, match="incompatible"):
        model(X[:, :9])
    with pytest.raises(ValueError, match="incompatible"):
        model.predict(X[:, :9], verbose=0)
    with pytest.raises(ValueError):
        model.predict_on_batch(X[:0])
    with pytest.raises(TypeError):
        model.predict(X, verbose=0, unknown=1)
    with pytest.raises(ValueError):
        model.predict(X, verbose=0, batch_size=-1)


# -------------------------------------------------------------------------------- training
def test_repeated_train_and_test_on_batch_equal_the_checked_path():
    fast, reference = _model(), _model()
    for model in (fast, reference):
        model.compile(optimizers.RMSprop(), "mse", metrics=["mae"])
    _same_training(fast, reference, 3)
    assert fast._batch_path is not None and fast._batch_path.network is fast._native
    assert fast.test_on_batch(X, Y) == reference.test_on_batch(_checked(X), _checked(Y))
    assert fast.train_on_batch(X, Y, return_dict=True) == reference.train_on_batch(_checked(X), _checked(Y),
                                                                                     return_dict=True)
    assert fast.test_on_batch(X, Y, return_dict=True) == reference.test_on_batch(_checked(X), _checked(Y),
                                                                                   return_dict=True)


def test_the_order_of_several_metrics_is_kept():
    fast, reference = _model(), _model()
    for model in (fast, reference):
        model.compile(optimizers.Adam(0.01), "mse", metrics=["mse", "mae"], weighted_metrics=["mae"])
    for return_dict in (False, True):
        _same_training(fast, reference, 2, return_dict=return_dict)
    result = fast.train_on_batch(X, Y, return_dict=True)
    assert list(result) == sorted(result)


def test_recompiling_with_another_loss_trains_as_a_fresh_model():
    model = _model()
    model.compile(optimizers.SGD(0.05), "mse", metrics=["mae"])
    model.train_on_batch(X, Y)
    model.train_on_batch(X, Y)
    fresh = _twin(model, optimizers.SGD(0.05), loss="mae", metrics=())
    model.compile(optimizers.SGD(0.05), "mae")
    _same_training(model, fresh, 2)


def test_set_weights_between_steps_trains_as_a_fresh_model():
    model = _model()
    model.compile(optimizers.SGD(0.05), "mse", metrics=["mae"])
    model.train_on_batch(X, Y)
    model.train_on_batch(X, Y)
    model.set_weights(_model(seed=2).get_weights())
    fresh = _twin(model, optimizers.SGD(0.05))
    _same_training(model, fresh, 2)


def test_trainable_changes_between_steps():
    model = _model()
    reference = _model()
    for m in (model, reference):
        m.compile(optimizers.SGD(0.05), "mse", metrics=["mae"])
    _same_training(model, reference, 2)
    # A layer frozen after compile: no effect on either path until the next compile (tf.keras alike).
    model.layers[1].trainable = False
    reference.layers[1].trainable = False
    _same_training(model, reference, 2)
    # After compile it stays as it is, as on a fresh model compiled with it frozen.
    frozen = model.get_weights()[:2]
    model.compile(optimizers.SGD(0.05), "mse", metrics=["mae"])
    fresh = _twin(model, optimizers.SGD(0.05))
    fresh.layers[1].trainable = False
    fresh.compile(optimizers.SGD(0.05), "mse", metrics=["mae"])
    _same_training(model, fresh, 2)
    for a, b in zip(model.get_weights()[:2], frozen):
        np.testing.assert_array_equal(a, b)
    # Freezing the whole model takes effect at once, on both paths.
    before = model.get_weights()
    model.trainable = False
    model.train_on_batch(X, Y)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_optimizer_changes_between_steps():
    model, reference = _model(), _model()
    for m in (model, reference):
        m.compile(optimizers.RMSprop(0.01), "mse", metrics=["mae"])
    _same_training(model, reference, 2)
    for m in (model, reference):
        m.optimizer.learning_rate = 0.1
        m.optimizer.clipnorm = 0.5
    _same_training(model, reference, 2)
    schedule = optimizers.schedules.ExponentialDecay(0.05, decay_steps=1, decay_rate=0.5)
    model.compile(optimizers.SGD(schedule), "mse")
    reference.compile(optimizers.SGD(schedule), "mse")
    _same_training(model, reference, 3)


def test_other_dtypes_and_row_counts_on_a_warm_path():
    model, reference = _model(), _model()
    for m in (model, reference):
        m.compile(optimizers.Adam(0.01), "mse", metrics=["mae"])
    _same_training(model, reference, 2)
    assert model.train_on_batch(X.astype(np.float64), Y) == reference.train_on_batch(_checked(X), _checked(Y))
    _same_training(model, reference, 2, x=X[:7], y=Y[:7])
    _same_training(model, reference, 2, x=np.asfortranarray(X)[:20], y=Y[:20])  # read by the native entry
    assert model.train_on_batch(X, Y[:, 0]) == reference.train_on_batch(_checked(X), _checked(Y[:, 0]))
    weights = np.linspace(0.5, 1.5, 32).astype(np.float32)
    assert model.train_on_batch(X, Y, sample_weight=weights) == \
        reference.train_on_batch(_checked(X), _checked(Y), sample_weight=weights)
    _same_training(model, reference, 1)


def test_bad_input_still_raises_on_a_warm_path():
    model = _model()
    model.compile(optimizers.SGD(0.05), "mse", metrics=["mae"])
    model.train_on_batch(X, Y)
    assert model._batch_path is not None
    before = model.get_weights()
    nan_x, inf_y = X.copy(), Y.copy()
    nan_x[3, 4] = np.nan
    inf_y[5, 0] = np.inf
    with pytest.raises(ValueError, match="Input 0 contains NaN"):
        model.train_on_batch(nan_x, Y)
    with pytest.raises(ValueError, match="contains NaN or infinite"):
        model.test_on_batch(X, inf_y)
    with pytest.raises(ValueError):
        model.train_on_batch(X[:, :9], Y)
    with pytest.raises(ValueError):
        model.train_on_batch(X, Y[:31])
    with pytest.raises(ValueError):
        model.train_on_batch(X, np.ones((32, 2), np.float32))
    with pytest.raises(ValueError, match="Targets y are required"):
        model.train_on_batch(X)
    with pytest.raises(TypeError, match="return_dict"):
        model.train_on_batch(X, Y, return_dict="yes")
    with pytest.raises(TypeError, match="return_dict"):
        model.test_on_batch(X, Y, return_dict=1)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_sparse_labels_on_a_warm_path():
    model, reference = _model(units=3), _model(units=3)
    for m in (model, reference):
        m.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    _same_training(model, reference, 2, y=LABELS)
    for labels in (LABELS.astype(np.int64)[:, 0], LABELS.astype(np.int32), LABELS.astype(np.int64)[::-1]):
        _same_training(model, reference, 1, y=labels)  # integer class ids: converted by the native entry
    labels = LABELS.astype(np.int64)
    labels[4, 0] = 7
    with pytest.raises(ValueError, match="class index 7 at sample 4"):
        model.train_on_batch(X, labels)
    for bad, shown in ((3.0, "3"), (-1.0, "-1"), (1.5, "1.5")):
        labels = LABELS.copy()
        labels[4, 0] = bad
        with pytest.raises(ValueError, match=f"class index {shown} at sample 4"):
            model.train_on_batch(X, labels)
    _same_training(model, reference, 1, y=LABELS)


def test_metrics_computed_in_python_take_the_checked_path():
    def mean_error(y_true, y_pred):
        return y_pred - y_true

    model, reference = _model(), _model()
    for m in (model, reference):
        m.compile(optimizers.SGD(0.05), "mse", metrics=[mean_error])
    _same_training(model, reference, 2)
    assert model._batch_path is None


def test_train_on_batch_from_many_threads_is_serialized_on_the_fast_path():
    """Every call's results are its own step's (reset, step and read under the steps lock): the
    same batch each time makes every order of the steps give the serial run's losses and weights."""
    model, reference = _model(), _model()
    for m in (model, reference):
        m.compile(optimizers.SGD(0.01), "mse", metrics=["mae"])
        m.train_on_batch(X, Y)
    serial = [reference.train_on_batch(X, Y) for _ in range(40)]
    with futures.ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(lambda _: model.train_on_batch(X, Y), range(40)))
    assert sorted(concurrent) == sorted(serial)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
