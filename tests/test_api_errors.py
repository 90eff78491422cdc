"""Misuse of compile/fit/evaluate/predict raises a clear Python exception before any training:
the weights, the optimizer's step count and the callbacks are untouched when it is raised."""

import numpy as np
import pytest

import fastdense
from fastdense import layers, losses
from misuse import fails_cleanly

X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(16, 2)).astype(np.float32)
LABELS = np.array([0, 1, 2, 1] * 4)


def model(units=2, activation=None, compile=True, **compile_kwargs):
    net = fastdense.Sequential([fastdense.Input((4,)), layers.Dense(3, activation="tanh"),
                                layers.Dense(units, activation=activation)])
    if compile:
        net.compile(**(compile_kwargs or dict(optimizer="sgd", loss="mse")))
    return net


# ----------------------------------------------------------------------------------- not compiled
@pytest.mark.parametrize("method, args", [("fit", (X, Y)), ("evaluate", (X, Y)), ("train_on_batch", (X, Y)),
                                          ("test_on_batch", (X, Y))])
def test_training_before_compile(method, args):
    fails_cleanly(model(compile=False), method, RuntimeError, r"compile\(\)", *args)


def test_fit_without_a_loss():
    fails_cleanly(model(optimizer="sgd"), "fit", ValueError, "loss", X, Y)


# ------------------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict", "train_on_batch"])
def test_wrong_feature_count_names_both_shapes(method):
    x = np.zeros((16, 5), np.float32)
    args = (x,) if method == "predict" else (x, Y)
    fails_cleanly(model(), method, ValueError, r"expected shape=\(None, 4\), found shape=\(16, 5\)", *args)


def test_wrong_target_width():
    fails_cleanly(model(), "fit", ValueError, r"shape \(16, 3\).*output has shape \(None, 2\)", X,
                  np.zeros((16, 3)))


@pytest.mark.parametrize("case", ["targets", "validation_targets", "sample_weight", "second_input"])
def test_sample_count_mismatch(case):
    net, args, kwargs = model(), (X, Y), {}
    if case == "targets":
        args, match = (X, Y[:10]), "x has 16 samples but the target .* has 10"
    elif case == "validation_targets":
        kwargs, match = {"validation_data": (X, Y[:5])}, "x has 16 samples but the target .* has 5"
    elif case == "sample_weight":
        kwargs, match = {"sample_weight": np.ones(5)}, r"sample_weight must have shape \(16,\)"
    else:
        a, b = fastdense.Input((4,)), fastdense.Input((4,))
        net = fastdense.Model([a, b], layers.Dense(2)(layers.add([a, b])))
        net.compile(optimizer="sgd", loss="mse")
        args, match = ([X, X[:8]], Y), r"same number of samples, got \[16, 8\]"
    fails_cleanly(net, "fit", ValueError, match, *args, **kwargs)


def test_wrong_number_of_inputs():
    a, b = fastdense.Input((4,)), fastdense.Input((4,))
    net = fastdense.Model([a, b], layers.Dense(2)(layers.add([a, b])))
    net.compile(optimizer="sgd", loss="mse")
    fails_cleanly(net, "fit", ValueError, "expects 2 inputs, got 3", [X, X, X], Y)


# ----------------------------------------------------------------------------------- unknown names
@pytest.mark.parametrize("kind, make, typo, suggestion", [
    ("optimizer", lambda name: model(optimizer=name, loss="mse"), "adamm", "Adam"),
    ("loss", lambda name: model(optimizer="sgd", loss=name), "mean_squred_error", "mean_squared_error"),
    ("loss", lambda name: model(optimizer="sgd", loss={"nope": "mse"}), None, "not output names"),
    ("activation", lambda name: layers.Dense(3, activation=name), "rleu", "relu"),
    ("initializer", lambda name: layers.Dense(3, kernel_initializer=name), "glorot_unifrom", "glorot_uniform"),
    ("regularizer", lambda name: layers.Dense(3, kernel_regularizer=name), "l3", "l2"),
    ("loss function", lambda name: losses.get(name), "binary_crossentropyy", "binary_crossentropy"),
])
def test_unknown_names_are_named_with_close_matches(kind, make, typo, suggestion):
    with pytest.raises(ValueError) as error:
        make(typo)
    message = str(error.value)
    assert suggestion in message
    if typo is not None:
        assert repr(typo) in message or f"'{typo}'" in message


def test_unknown_metric_fails_at_fit_before_training():
    net = model(optimizer="sgd", loss="mse", metrics=["maee"])
    fails_cleanly(net, "fit", ValueError, "Unknown metric: 'maee'. Did you mean 'mae'", X, Y)


@pytest.mark.parametrize("method", ["fit", "evaluate"])
def test_unknown_keyword_arguments(method):
    fails_cleanly(model(), method, TypeError, "unexpected keyword argument 'epoch'", X, Y, epoch=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'metric'"):
        model(compile=False).compile(optimizer="sgd", loss="mse", metric=["mae"])


# ------------------------------------------------------------------------------------- batch sizes
@pytest.mark.parametrize("batch_size, exception", [(0, ValueError), (-4, ValueError), (2.5, TypeError),
                                                   (True, TypeError), ("8", TypeError)])
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_batch_size_must_be_a_positive_integer(method, batch_size, exception):
    # A non-integer is a TypeError, as in Keras 3 (which fails on it later, in its data adapter).
    args = (X,) if method == "predict" else (X, Y)
    fails_cleanly(model(), method, exception, "`batch_size` must be a positive integer", *args,
                  batch_size=batch_size)


def test_validation_batch_size_must_be_a_positive_integer():
    fails_cleanly(model(), "fit", ValueError, "`validation_batch_size` must be a positive integer", X, Y,
                  validation_split=0.25, validation_batch_size=0)


# ---------------------------------------------------------------------------------- sparse labels
def sparse_model(from_logits=False):
    loss = losses.SparseCategoricalCrossentropy(from_logits=True) if from_logits else "sparse_categorical_crossentropy"
    return model(3, None if from_logits else "softmax", optimizer="adam", loss=loss)


@pytest.mark.parametrize("bad_label", [3, -1, 1.5])
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_bad_class_indices_for_sparse_losses(method, bad_label):
    labels = LABELS.astype(np.float64)
    labels[5] = bad_label
    fails_cleanly(sparse_model(), method, ValueError,
                  rf"class index {bad_label:g} at sample 5; sparse labels must be integers in \[0, 3\)", X, labels)


def test_bad_class_indices_with_logits_and_in_validation_data():
    labels = LABELS.copy()
    labels[2] = 7
    fails_cleanly(sparse_model(from_logits=True), "fit", ValueError, "class index 7", X, labels)
    fails_cleanly(sparse_model(), "fit", ValueError, "class index 7", X, LABELS, validation_data=(X, labels))


# --------------------------------------------------------------------------------- other arguments
def test_sample_weight_and_class_weight_together():
    fails_cleanly(model(), "fit", ValueError, "both `sample_weight` and `class_weight`", X, Y,
                  sample_weight=np.ones(16), class_weight={0: 2.0})


@pytest.mark.parametrize("fraction", [0.99, 1.0, 1.5, -0.1])
def test_validation_split_out_of_range_or_leaving_no_samples(fraction):
    fails_cleanly(model(), "fit", ValueError, "validation_split", X, Y, validation_split=fraction)


def test_missing_targets_and_targets_with_a_generator():
    fails_cleanly(model(), "fit", ValueError, "Targets y are required", X)

    def batches():
        yield X, Y

    fails_cleanly(model(), "fit", ValueError, "cannot be passed with a generator", batches(), Y)


def test_non_numeric_and_non_finite_data():
    """fastdense checks the data before training; tf.keras would train on NaN (a deliberate
    difference: a NaN in the data is reported where it is, not as a NaN loss later)."""
    fails_cleanly(model(), "fit", TypeError, "must be numeric", np.full((16, 4), "a"), Y)
    fails_cleanly(model(), "fit", ValueError, "Input 0 contains NaN", np.where(X > 1, np.nan, X), Y)
    fails_cleanly(model(), "fit", ValueError, "contains NaN or infinite", X, np.where(Y > 1, np.inf, Y))


def test_on_batch_arrays_in_the_engine_layout_are_checked_as_others():
    """Once the network exists, float32 C-contiguous (samples, features) batches skip the general
    conversion; they are still checked, and train exactly as converted ones do."""
    labels = LABELS.astype(np.float32).reshape(-1, 1)
    short, general = (model(units=3, optimizer="sgd", loss="sparse_categorical_crossentropy") for _ in range(2))
    general.set_weights(short.get_weights())
    for _ in range(3):
        assert short.train_on_batch(X, labels) == general.train_on_batch(X.astype(np.float64).tolist(), LABELS)
    for a, b in zip(short.get_weights(), general.get_weights()):
        np.testing.assert_array_equal(a, b)
    bad_label = labels.copy()
    bad_label[5] = 3
    for x, y, match in [(np.where(X > 1, np.nan, X), labels, "Input 0 contains NaN"),
                        (X, np.where(labels > 1, np.inf, labels), "contains NaN or infinite"),
                        (X, bad_label, "class index 3 at sample 5")]:
        with pytest.raises(ValueError, match=match):
            short.train_on_batch(x, y)
    for a, b in zip(short.get_weights(), general.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert short.optimizer.iterations == 3


def test_predict_passes_nan_through_like_keras():
    """predict is not training: as in tf.keras, a sample with a NaN gets NaN outputs and the
    other samples their values."""
    m = model()
    x = X.copy()
    x[3, 1] = np.nan
    predicted = m.predict(x, verbose=0)
    assert np.isnan(predicted[3]).all()
    np.testing.assert_array_equal(np.delete(predicted, 3, axis=0), np.delete(m.predict(X, verbose=0), 3, axis=0))


def test_empty_generator():
    fails_cleanly(model(), "fit", ValueError, "yielded no batches", iter([]))


def test_per_output_lists_must_have_one_entry_per_output():
    with pytest.raises(ValueError, match="loss has 2 entries but the model has 1 output"):
        model(optimizer="sgd", loss=["mse", "mae"])
    a = fastdense.Input((4,))
    two_outputs = fastdense.Model(a, [layers.Dense(2)(a), layers.Dense(1)(a)])
    two_outputs.compile(optimizer="sgd", loss="mse", loss_weights=[1.0, 2.0, 3.0])
    fails_cleanly(two_outputs, "fit", ValueError, "loss_weights has 3 entries but the model has 2 output", X,
                  [Y, Y[:, :1]])
    two_outputs.compile(optimizer="sgd", loss="mse")
    fails_cleanly(two_outputs, "fit", ValueError, "2 outputs but 3 targets", X, [Y, Y, Y])


def test_different_sample_weights_per_output_are_not_supported():
    a = fastdense.Input((4,))
    two_outputs = fastdense.Model(a, [layers.Dense(2)(a), layers.Dense(1)(a)])
    two_outputs.compile(optimizer="sgd", loss="mse")
    fails_cleanly(two_outputs, "fit", NotImplementedError, "one sample_weight vector", X, [Y, Y[:, :1]],
                  sample_weight=[np.ones(16), np.arange(16.0)])
    fails_cleanly(two_outputs, "fit", ValueError, "sample_weight has 3 entries but the model has 2 outputs", X,
                  [Y, Y[:, :1]], sample_weight=[np.ones(16)] * 3)


@pytest.mark.parametrize("reduction", [None, "none"])
def test_unreduced_losses_cannot_train(reduction):
    """Keras reports the mean of an unreduced loss but differentiates its sum; fastdense
    refuses it instead (a deliberate difference)."""
    net = model(optimizer="sgd", loss=losses.MeanSquaredError(reduction=reduction))
    fails_cleanly(net, "fit", NotImplementedError, "cannot be trained", X, Y)
