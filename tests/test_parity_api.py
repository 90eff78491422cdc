"""API parity with tf.keras: compile forms, metric names and History keys, functional DAGs,
*_on_batch and evaluate return conventions, callbacks, generators and Sequences, and the
Keras 2 spellings fastdense accepts.

As in test_parity_training, each case trains the same model in both libraries from tf's
initial weights on the same batches and compares weights, History, evaluate and predict
within 1e-5 relative (tests/parity.py explains the allowance).
"""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = tf.keras

import fastdense  # noqa: E402
from parity import (assert_close, assert_same_history, assert_same_results, assert_same_run,  # noqa: E402
                    assert_same_weights, class_indices, features, one_hot, regression_targets, train_both)

X = features(32, 4)
X_B = features(32, 3, seed=3)
Y_REG = regression_targets(32, 2)
LABELS = class_indices(32, 3)
Y_ONEHOT = one_hot(LABELS, 3)
Y_BINARY = (features(32, 1, seed=5) > 0).astype(np.float32)
X_VAL, Y_VAL = features(12, 4, seed=20), regression_targets(12, 2, seed=21)


def is_fastdense(k):
    return k is fastdense


def sequential(units=2, output_activation=None, hidden=8):
    def build(k):
        return k.Sequential([k.Input((4,)), k.layers.Dense(hidden, activation="tanh"),
                             k.layers.Dense(units, activation=output_activation)])
    return build


def check(build, compile_kwargs, fit_kwargs, x=X, y=Y_REG, evaluate=True, **options):
    actual, expected = train_both(
        keras, fastdense, build, compile_kwargs, fit_kwargs,
        evaluate_kwargs=dict(x=x, y=y) if evaluate else None, predict_x=x, **options)
    assert_same_run(actual, expected)
    return actual, expected


def fit_arrays(x=X, y=Y_REG, **kwargs):
    return lambda k: dict(dict(x=x, y=y, batch_size=16, epochs=2), **kwargs)


# ---------------------------------------------------------------------------------------- compile forms
SEED_FORMS = {
    "instances": lambda k: dict(optimizer=k.optimizers.RMSprop(), loss=k.losses.MeanSquaredError(),
                                metrics=[k.metrics.mae]),
    # tf.keras 2.21 has losses.mse but no losses.mean_squared_error (fastdense has both).
    "function": lambda k: dict(optimizer=k.optimizers.RMSprop(),
                               loss=k.losses.mean_squared_error if is_fastdense(k) else k.losses.mse,
                               metrics=[k.metrics.mae]),
    "strings": lambda k: dict(optimizer="RMSprop", loss="mean_squared_error", metrics=["mae"]),
}


@pytest.mark.parametrize("form", list(SEED_FORMS))
def test_seed_compile_forms_match_tf_keras(form):
    """The seed document's three compile calls (quoted in issue 3). metrics.mae is the function
    mean_absolute_error, so its History key is 'mean_absolute_error'; the string gives 'mae'."""
    actual, _ = check(sequential(), SEED_FORMS[form], fit_arrays(validation_data=[X_VAL, Y_VAL]))
    metric_key = "mae" if form == "strings" else "mean_absolute_error"
    assert list(actual.history.history) == ["loss", metric_key, "val_loss", f"val_{metric_key}"]


# ------------------------------------------------------------------------------------------ metric names
REGRESSION_METRICS = ["mae", "mse", "MAE", "MSE", "mape", "msle", "mean_absolute_error", "mean_squared_error",
                      "root_mean_squared_error", "cosine_similarity", "kl_divergence", "poisson", "hinge",
                      "squared_hinge", "categorical_hinge", "log_cosh_error"]


def test_regression_metrics_by_string():
    """One fit with every loss-like metric string: History keys are the strings, sorted."""
    y = np.abs(Y_REG) + 0.1
    actual, _ = check(sequential(), lambda k: dict(optimizer="sgd", loss="mse", metrics=REGRESSION_METRICS),
                      fit_arrays(y=y, validation_split=0.25), y=y)
    assert set(actual.history.history) == {"loss", "val_loss"} | set(REGRESSION_METRICS) | \
        {f"val_{m}" for m in REGRESSION_METRICS}


CLASSIFICATION_METRICS = [
    ("binary", 1, "sigmoid", Y_BINARY, "binary_crossentropy",
     ["accuracy", "acc", "binary_accuracy", "binary_crossentropy", "bce", "BCE"]),
    ("categorical", 3, "softmax", Y_ONEHOT, "categorical_crossentropy",
     ["accuracy", "categorical_accuracy", "categorical_crossentropy", "top_k_categorical_accuracy"]),
    ("sparse", 3, "softmax", LABELS, "sparse_categorical_crossentropy",
     ["accuracy", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
      "sparse_top_k_categorical_accuracy"]),
]


@pytest.mark.parametrize("units, activation, y, loss, metrics", [case[1:] for case in CLASSIFICATION_METRICS],
                         ids=[case[0] for case in CLASSIFICATION_METRICS])
def test_classification_metrics_by_string(units, activation, y, loss, metrics):
    """'accuracy' resolves to binary / categorical / sparse accuracy from the shapes; the
    crossentropy metrics take the logits shortcut like the loss."""
    check(sequential(units, activation), lambda k: dict(optimizer="adam", loss=loss, metrics=metrics),
          fit_arrays(y=y), y=y)


def test_metrics_by_function():
    check(sequential(1, "sigmoid"),
          lambda k: dict(optimizer="adam", loss=k.losses.binary_crossentropy,
                         metrics=[k.metrics.binary_accuracy, k.metrics.binary_crossentropy, k.metrics.mse]),
          fit_arrays(y=Y_BINARY), y=Y_BINARY)


def test_duplicate_and_weighted_metric_names():
    """A repeated metric gets _1; a weighted metric clashing with a metric gets weighted_."""
    actual, _ = check(sequential(),
                      lambda k: dict(optimizer="sgd", loss="mse", metrics=["mae", "mae"], weighted_metrics=["mae"]),
                      fit_arrays(sample_weight=np.linspace(0, 1, 32)))
    assert list(actual.history.history) == ["loss", "mae", "mae_1", "weighted_mae"]


METRIC_INSTANCES = ["MeanAbsoluteError", "RootMeanSquaredError", "CosineSimilarity"]


def test_metrics_by_instance():
    check(sequential(), lambda k: dict(optimizer="sgd", loss="mse",
                                       metrics=[getattr(k.metrics, name)() for name in METRIC_INSTANCES]),
          fit_arrays())


# ----------------------------------------------------------------------------------------- functional DAGs
MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


def two_branch_dag(k):
    """Inputs a (4) and b (3) → a Dense branch each → every merge layer of the pair → one
    concatenation → a Dense without bias → two heads: 'reg' (linear, 2 units) and 'cls'
    (softmax, 3 units), which also sees branch a through an add."""
    a, b = k.Input((4,), name="a"), k.Input((3,), name="b")
    branch_a = k.layers.Dense(4, activation="tanh", name="branch_a")(a)
    branch_b = k.layers.Dense(4, activation="relu", name="branch_b")(b)
    merged = k.layers.Concatenate(name="merged")(
        [getattr(k.layers, merge)()([branch_a, branch_b]) for merge in MERGES])
    hidden = k.layers.Dense(5, activation="elu", use_bias=False, name="hidden")(merged)
    reg = k.layers.Dense(2, name="reg")(hidden)
    cls = k.layers.Dense(3, activation="softmax", name="cls")(k.layers.add([hidden, k.layers.Dense(5)(branch_a)]))
    return k.Model([a, b], [reg, cls])


def test_multi_input_multi_output_dag_with_every_merge():
    """Also: loss_weights, per-output metrics, and one sample weight array per output (the
    same one: fastdense weights all outputs with one vector)."""
    weights = np.linspace(0.2, 1.0, 32)
    actual, _ = check(two_branch_dag,
                      lambda k: dict(optimizer="adam", loss=["mse", "sparse_categorical_crossentropy"],
                                     loss_weights=[0.5, 2.0], metrics=[["mae"], ["accuracy"]]),
                      fit_arrays(x=[X, X_B], y=[Y_REG, LABELS], validation_split=0.25,
                                 sample_weight=[weights, weights]),
                      x=[X, X_B], y=[Y_REG, LABELS])
    assert list(actual.history.history) == [
        "cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae",
        "val_cls_accuracy", "val_cls_loss", "val_loss", "val_reg_loss", "val_reg_mae"]


def test_dag_with_dicts_of_inputs_targets_losses_and_metrics():
    actual, _ = check(
        two_branch_dag,
        lambda k: dict(optimizer="nadam", loss={"reg": "huber", "cls": "categorical_crossentropy"},
                       loss_weights={"reg": 1.0, "cls": 0.3},
                       metrics={"reg": ["mae", "mse"], "cls": "accuracy"}, weighted_metrics={"cls": ["accuracy"]}),
        fit_arrays(x={"a": X, "b": X_B}, y={"reg": Y_REG, "cls": Y_ONEHOT}),
        x={"a": X, "b": X_B}, y={"reg": Y_REG, "cls": Y_ONEHOT}, evaluate=False)
    assert "cls_weighted_accuracy" in actual.history.history


def test_shared_layer_and_nested_model():
    def build(k):
        a, b = k.Input((4,)), k.Input((4,))
        shared = k.layers.Dense(3, activation="tanh")
        inner = k.Sequential([k.Input((6,)), k.layers.Dense(3, activation="relu")])
        return k.Model([a, b], k.layers.Dense(1)(inner(k.layers.concatenate([shared(a), shared(b)]))))

    check(build, lambda k: dict(optimizer="sgd", loss="mse"), fit_arrays(x=[X, X * 2], y=Y_REG[:, :1]),
          x=[X, X * 2], y=Y_REG[:, :1])


def subclassed_model(k, two_inputs=False):
    """Keras's subclassing API: layers made in __init__, wired in call (with a training flag)."""

    class Regressor(k.Model):
        def __init__(self):
            super().__init__()
            self.hidden = k.layers.Dense(8, activation="relu")
            self.dropout = k.layers.Dropout(0.0)
            self.merge = k.layers.Concatenate()
            self.out = k.layers.Dense(2)

        def call(self, inputs, training=None):
            x = self.merge(inputs) if two_inputs else inputs
            return self.out(self.dropout(self.hidden(x), training=training))

    model = Regressor()
    model([X[:1], X_B[:1]] if two_inputs else X[:1])  # builds it (Keras 3's build() would not run call)
    return model


@pytest.mark.parametrize("two_inputs", [False, True])
def test_subclassed_model_trains_like_tf_keras(two_inputs):
    x = [X, X_B] if two_inputs else X
    actual, _ = check(lambda k: subclassed_model(k, two_inputs), lambda k: dict(optimizer="adam", loss="mse",
                                                                                 metrics=["mae"]),
                      fit_arrays(x=x, validation_split=0.25), x=x)
    assert [w.shape for w in actual.weights] == [(7 if two_inputs else 4, 8), (8,), (8, 2), (2,)]


def test_sequential_built_by_add_with_input_shape():
    def build(k):
        model = k.Sequential()
        model.add(k.layers.Dense(6, activation="relu", input_shape=(4,)))
        model.add(k.layers.Activation("softplus"))
        model.add(k.layers.Dense(2))
        return model

    check(build, lambda k: dict(optimizer="adamax", loss="mse"), fit_arrays())


def test_dict_of_outputs_is_keyed_by_its_keys():
    """Keras flattens a dict of outputs in sorted key order (which fixes the layer and weight
    order) and names losses, targets and History entries by the keys."""
    def build(k):
        inputs = k.Input((4,), name="features")
        hidden = k.layers.Dense(5, activation="tanh")(inputs)
        return k.Model(inputs, {"second": k.layers.Dense(1, activation="sigmoid", name="d2")(hidden),
                                "first": k.layers.Dense(2, name="d1")(hidden)})

    targets = {"first": Y_REG, "second": Y_BINARY}
    actual, expected = check(
        build, lambda k: dict(optimizer="sgd", loss={"first": "mse", "second": "binary_crossentropy"},
                              metrics={"second": ["accuracy"]}),
        fit_arrays(y=targets), y=targets)
    assert list(actual.history.history) == ["first_loss", "loss", "second_accuracy", "second_loss"]
    assert list(actual.predicted) == list(expected.model.predict(X, verbose=0)) == ["second", "first"]


def test_one_entry_lists_for_a_single_output():
    check(sequential(), lambda k: dict(optimizer="sgd", loss=["mse"], loss_weights=[0.5], metrics=[["mae"]]),
          fit_arrays())


def test_frozen_layer_and_constraints():
    def build(k):
        return k.Sequential([
            k.Input((4,)),
            k.layers.Dense(6, activation="tanh", trainable=False),
            k.layers.Dense(5, activation="relu", kernel_constraint=k.constraints.MaxNorm(0.5),
                           bias_constraint=k.constraints.NonNeg()),
            k.layers.Dense(2, kernel_constraint=k.constraints.UnitNorm()),
        ])

    check(build, lambda k: dict(optimizer=k.optimizers.SGD(0.5), loss="mse"), fit_arrays())
    check(lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(
        2, kernel_constraint=k.constraints.MinMaxNorm(0.5, 0.8, rate=0.5))]),
        lambda k: dict(optimizer=k.optimizers.SGD(0.5), loss="mse"), fit_arrays())


def test_flatten_reshape_activation_layer_and_one_dimensional_targets():
    """Samples of shape (2, 2) flattened; an Activation layer with an activity regularizer;
    targets of shape (N,) for a one-unit output; partial batches in fit and evaluate."""
    def build(k):
        return k.Sequential([
            k.Input((2, 2)), k.layers.Flatten(), k.layers.Dense(6),
            k.layers.Activation("relu", activity_regularizer=k.regularizers.L2(0.1)),
            k.layers.Reshape((3, 2)), k.layers.Flatten(), k.layers.Dense(1)])

    x = X.reshape(32, 2, 2)
    actual, expected = train_both(keras, fastdense, build, lambda k: dict(optimizer="adam", loss="mse",
                                                                         metrics=["mae"]),
                                  fit_arrays(x=x, y=Y_REG[:, 0], batch_size=10),
                                  evaluate_kwargs=dict(x=x, y=Y_REG[:, 0], batch_size=7), predict_x=x)
    assert_same_run(actual, expected)


def test_data_of_any_numeric_dtype_and_memory_order():
    x64_fortran = np.asfortranarray(X.astype(np.float64))
    actual, expected = train_both(
        keras, fastdense, sequential(), lambda k: dict(optimizer="sgd", loss="mse"),
        fit_arrays(x=x64_fortran, y=Y_REG.astype(np.float64)),
        evaluate_kwargs=dict(x=(X * 4).astype(np.int32), y=Y_REG), predict_x=X.astype(np.float16))
    assert_same_run(actual, expected)


def test_second_fit_continues_the_schedule_and_validation_freq_list_with_initial_epoch():
    def fit_twice(model):
        first_fit = model.fit

        def fit(**kwargs):
            first_fit(**dict(kwargs, epochs=1, initial_epoch=0))
            return first_fit(**kwargs)
        model.fit = fit

    def compile_kwargs(k):
        schedule = k.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5)
        return dict(optimizer=k.optimizers.Adam(schedule), loss="mse", metrics=["mae"])

    check(sequential(), compile_kwargs,
          fit_arrays(epochs=5, initial_epoch=1, validation_split=0.25, validation_freq=[2, 5]),
          before_fit=fit_twice)


# ------------------------------------------------------------------------------ *_on_batch and evaluate
def on_batch_results(k, initial_weights=None):
    model = sequential()(k)
    if initial_weights is not None:
        model.set_weights(initial_weights)
    start = model.get_weights()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"], **({} if is_fastdense(k) else {"run_eagerly": True}))
    results = [
        model.train_on_batch(X[:8], Y_REG[:8]),
        model.train_on_batch(X[8:16], Y_REG[8:16], sample_weight=np.arange(8.0), return_dict=True),
        model.test_on_batch(X[:8], Y_REG[:8]),
        model.test_on_batch(X[:8], Y_REG[:8], sample_weight=np.arange(8.0), return_dict=True),
        model.evaluate(X, Y_REG, batch_size=5, verbose=0),
        model.evaluate(X, Y_REG, verbose=0, return_dict=True),
    ]
    loss_only = sequential()(k)
    loss_only.set_weights(model.get_weights())
    loss_only.compile(loss="mse", **({} if is_fastdense(k) else {"run_eagerly": True}))
    results += [loss_only.train_on_batch(X, Y_REG), loss_only.test_on_batch(X, Y_REG),
                loss_only.evaluate(X, Y_REG, verbose=0)]
    return start, results, model.predict_on_batch(X[:3]), model.predict(X, batch_size=7, verbose=0), model


def test_on_batch_and_evaluate_return_conventions():
    """Lists [loss, metrics...], dicts with return_dict, a bare float for the loss alone."""
    start, expected, expected_batch, expected_predict, tf_model = on_batch_results(keras)
    _, actual, actual_batch, actual_predict, model = on_batch_results(fastdense, start)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_same_results(a, e, f"result {i}")
    assert isinstance(actual_batch, np.ndarray) and isinstance(actual_predict, np.ndarray)
    assert_close(actual_batch, expected_batch, "predict_on_batch")
    assert_close(actual_predict, tf_model.predict(X, batch_size=7, verbose=0), "predict")
    assert_close(actual_predict, expected_predict, "predict")
    assert model.optimizer.iterations == int(tf_model.optimizer.iterations) == 2


def test_evaluate_list_order_with_weighted_metrics_and_several_outputs():
    """Keras's list puts the compiled metrics' own names first (a weighted metric sharing a
    name repeats the value), then per-output losses, then the rest sorted."""
    def evaluate_both(build, compile_kwargs, x, y):
        results = []
        weights = None
        for k in (keras, fastdense):
            model = build(k)
            if weights is None:
                weights = model.get_weights()
            model.set_weights(weights)
            model.compile(**compile_kwargs, **({} if is_fastdense(k) else {"run_eagerly": True}))
            results.append(model.evaluate(x, y, verbose=0))
        return results

    expected, actual = evaluate_both(
        two_branch_dag, dict(loss=["mse", "sparse_categorical_crossentropy"],
                                    metrics=[["mae"], ["accuracy"]], weighted_metrics=[["mae"], ["accuracy"]]),
        [X, X_B], [Y_REG, LABELS])
    assert len(expected) == 7
    assert_same_results(actual, expected, "two outputs")
    expected, actual = evaluate_both(sequential(), dict(loss="mse", metrics=["mae"], weighted_metrics=["mae"]),
                                     X, Y_REG)
    assert len(expected) == 4
    assert_same_results(actual, expected, "one output")


# ------------------------------------------------------------------------------------------------ callbacks
def test_early_stopping_restores_the_best_weights():
    _, expected = check(
        sequential(), lambda k: dict(optimizer=k.optimizers.SGD(0.3, momentum=0.9), loss="mse", metrics=["mae"]),
        lambda k: dict(x=X, y=Y_REG, batch_size=16, epochs=12, validation_data=(X_VAL, Y_VAL),
                       callbacks=[k.callbacks.EarlyStopping(patience=1, restore_best_weights=True)]))
    assert len(expected.history.epoch) < 12, "the case should stop early"


def test_early_stopping_on_a_metric_with_min_delta_and_start_epoch():
    """This run never stops; Keras 3 still restores the best weights at the end."""
    actual, _ = check(
        sequential(), lambda k: dict(optimizer=k.optimizers.SGD(0.3, momentum=0.9), loss="mse", metrics=["mae"]),
        lambda k: dict(x=X, y=Y_REG, batch_size=16, epochs=6, validation_data=(X_VAL, Y_VAL),
                       callbacks=[k.callbacks.EarlyStopping(monitor="val_mae", patience=20, min_delta=0.01,
                                                            restore_best_weights=True, start_from_epoch=1)]))
    assert len(actual.history.epoch) == 6


def test_reduce_lr_on_plateau():
    actual, _ = check(sequential(), lambda k: dict(optimizer=k.optimizers.SGD(0.3, momentum=0.9), loss="mse"),
                      lambda k: dict(x=X, y=Y_REG, batch_size=16, epochs=5, validation_data=(X_VAL, Y_VAL),
                                     callbacks=[k.callbacks.ReduceLROnPlateau(factor=0.5, patience=1, min_lr=0.05)]))
    assert len(set(actual.history.history["learning_rate"])) > 1, "the case should reduce the rate"


@pytest.mark.parametrize("schedule", [lambda epoch, lr: lr * 0.5 if epoch > 0 else lr, lambda epoch: 0.1 / (epoch + 1)],
                         ids=["epoch_and_rate", "epoch_only"])
def test_learning_rate_scheduler(schedule):
    check(sequential(), lambda k: dict(optimizer=k.optimizers.SGD(0.05, momentum=0.5), loss="mse"),
          lambda k: dict(x=X, y=Y_REG, batch_size=16, epochs=3,
                         callbacks=[k.callbacks.LearningRateScheduler(schedule)]))


def test_terminate_on_nan_stops_at_the_same_batch():
    """Poisson's log(y_pred) is NaN once a prediction turns negative: here from batch 2 on,
    whose inputs are negative. Both stop after that batch, with NaN loss and weights.
    (A NaN from overflow may come one batch later in fastdense, which reduces in float64.)"""
    x = np.concatenate([np.linspace(1, 2, 16), -np.ones(16)]).astype(np.float32)[:, None]
    y = np.ones((32, 1), dtype=np.float32)

    def build(k):
        return k.Sequential([k.Input((1,)), k.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")])

    actual, expected = train_both(
        keras, fastdense, build, lambda k: dict(optimizer=k.optimizers.SGD(0.001), loss="poisson", metrics=["mae"]),
        lambda k: dict(x=x, y=y, batch_size=8, epochs=3, validation_data=(x[:4], y[:4]),
                       callbacks=[k.callbacks.TerminateOnNaN()]))
    assert_same_history(actual.history, expected.history)
    assert np.isnan(actual.history.history["loss"]).all() and actual.history.epoch == [0]
    assert np.isfinite(actual.history.history["val_loss"]).all(), "the stopped epoch still validates"
    assert actual.model.optimizer.iterations == int(expected.model.optimizer.iterations) == 3
    assert_same_weights(actual.weights, expected.weights)


def test_batch_level_callback_changes_the_rate_and_stops_mid_epoch():
    """A callback at every batch end halves the learning rate and stops training in the
    second epoch; the stopped epoch still validates and ends."""
    def callback(k):
        class HalveThenStop(k.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                self.model.optimizer.learning_rate = float(self.model.optimizer.learning_rate) * 0.5
                if self.model.optimizer.iterations == 4:
                    self.model.stop_training = True
        return HalveThenStop()

    actual, _ = check(sequential(), lambda k: dict(optimizer=k.optimizers.SGD(0.2), loss="mse", metrics=["mae"]),
                      lambda k: dict(x=X, y=Y_REG, batch_size=8, epochs=3, validation_split=0.25,
                                     callbacks=[callback(k)], verbose="auto"))
    assert actual.history.epoch == [0, 1] and actual.history.params["verbose"] == "auto"


# ------------------------------------------------------------------------------ generators and Sequences
def batches(count=4, size=8, weighted=False):
    for i in range(count):
        rows = slice(i * size, (i + 1) * size)
        yield (X[rows], Y_REG[rows], np.full(size, i + 1.0, np.float32)) if weighted else (X[rows], Y_REG[rows])


def endless_batches():
    while True:
        yield from batches()


def py_dataset(k):
    class Batches(k.utils.PyDataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            rows = slice(index * 8, (index + 1) * 8)
            return X[rows], Y_REG[rows]

    return Batches()


def test_py_dataset_input():
    check(sequential(), lambda k: dict(optimizer="adam", loss="mse", metrics=["mae"]),
          lambda k: dict(x=py_dataset(k), epochs=2, validation_data=py_dataset(k)))


def test_generator_input_with_steps_per_epoch():
    check(sequential(), lambda k: dict(optimizer="adam", loss="mse", metrics=["mae"]),
          lambda k: dict(x=endless_batches(), epochs=2, steps_per_epoch=3))


def test_finite_generator_with_sample_weights():
    check(sequential(), lambda k: dict(optimizer="adam", loss="mse", weighted_metrics=["mae"]),
          lambda k: dict(x=batches(weighted=True), epochs=1))


# --------------------------------------------------------------------------------- Keras 2 spellings
def test_keras2_spellings_train_like_their_keras3_forms():
    """fastdense accepts optimizers.SGD(lr=...), Model(input=..., output=...), fit_generator
    and losses.mean_squared_error; tf.keras (Keras 3) runs the Keras 3 forms."""
    def build(k):
        inputs = k.Input((4,))
        outputs = k.layers.Dense(2)(k.layers.Dense(6, activation="relu")(inputs))
        return k.Model(input=inputs, output=outputs) if is_fastdense(k) else k.Model(inputs=inputs, outputs=outputs)

    def compile_kwargs(k):
        if is_fastdense(k):
            return dict(optimizer=k.optimizers.SGD(lr=0.1, momentum=0.5), loss=k.losses.mean_squared_error)
        return dict(optimizer=k.optimizers.SGD(learning_rate=0.1, momentum=0.5), loss=k.losses.mse)

    def fit_kwargs(k):
        return {"generator" if is_fastdense(k) else "x": endless_batches(), "steps_per_epoch": 4, "epochs": 2}

    check(build, compile_kwargs, fit_kwargs, fit_method=lambda k: "fit_generator" if is_fastdense(k) else "fit")


def test_keras2_relu_alpha():
    x = np.linspace(-3, 3, 13).astype(np.float32)
    expected = keras.activations.relu(x, negative_slope=0.1, max_value=2.0).numpy()
    np.testing.assert_allclose(fastdense.activations.relu(x, alpha=0.1, max_value=2.0), expected, rtol=1e-6)
