"""Training parity with tf.keras: activations, losses, optimizers, regularizers, weights, validation.

Every case builds one model in both libraries, copies tf's initial weights into fastdense,
trains both on the same batches (shuffle=False) and compares the final weights, every History
series, `evaluate` and `predict` within 1e-5 relative (see tests/parity.py for why 1e-5).
The activation and loss grids train on whole-data batches (one step per epoch: tf.keras's
eager steps are what these tests spend their time on); the other cases use several batches.
"""

import numpy as np
import pytest

import fastdense
from parity import assert_same_run, class_indices, features, one_hot, regression_targets, train_both

X = features(32, 4)
Y_REG = regression_targets(32, 2)
LABELS = class_indices(32, 3)
Y_ONEHOT = one_hot(LABELS, 3)
Y_BINARY = (features(32, 1, seed=5) > 0).astype(np.float32)


def dense_net(output_units, hidden_activation="tanh", output_activation=None, hidden_units=8, **output_kwargs):
    def build(k):
        return k.Sequential([
            k.Input((4,)),
            k.layers.Dense(hidden_units, activation=hidden_activation),
            k.layers.Dense(output_units, activation=output_activation, **output_kwargs),
        ])
    return build


def check(keras, build, compile_kwargs, y, epochs=2, batch_size=16, x=X, **fit_kwargs):
    actual, expected = train_both(
        keras, fastdense, build, compile_kwargs,
        lambda k: dict(x=x, y=y, batch_size=batch_size, epochs=epochs, **fit_kwargs),
        evaluate_kwargs=dict(x=x, y=y), predict_x=x)
    assert_same_run(actual, expected)
    return actual, expected


def test_float32_summation_order_noise():
    """The tolerance's basis (tests/parity.py): two float32 orders of summing 64 terms differ
    by ~1e-7 of the terms' total magnitude, and by far more relative to a cancelling sum."""
    terms = np.random.default_rng(0).uniform(-1, 1, size=(1000, 64)).astype(np.float32)
    sequential_sum = np.zeros(1000, dtype=np.float32)
    for column in terms.T:
        sequential_sum += column
    pairwise_sum = terms.sum(axis=1, dtype=np.float32)
    gap = np.abs(sequential_sum.astype(np.float64) - pairwise_sum)
    magnitude = np.abs(terms).astype(np.float64).sum(axis=1)
    assert 1e-8 < np.max(gap / magnitude) < 1e-6
    assert np.max(gap / np.abs(pairwise_sum)) > 1e-5


# --------------------------------------------------------------------------------------- activations
ACTIVATIONS = ["relu", "leaky_relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu",
               "softplus", "softsign", "silu", "swish", "gelu", "exponential", "hard_sigmoid", "hard_silu",
               "hard_swish", "linear", "mish"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_under_two_losses(keras, activation):
    """Each activation in a hidden layer and in two output heads, one trained with MSE and one
    with MAE (one tf.keras fit covers both losses: tf's per-model set-up costs ~1 s here)."""
    output_activation = None if activation == "exponential" else activation  # exp(exp(.)) overflows

    def build(k):
        inputs = k.Input((4,))
        hidden = k.layers.Dense(8, activation=activation)(inputs)
        heads = [k.layers.Dense(2, activation=output_activation, name=name)(hidden) for name in ("sq", "abs")]
        return k.Model(inputs, heads)

    check(keras, build, lambda k: dict(optimizer=k.optimizers.SGD(0.05), loss={"sq": "mse", "abs": "mae"},
                                metrics={"sq": ["mae"]}), [Y_REG, Y_REG * 0.5], batch_size=32)


def test_graph_mode_matches_eager(keras):
    """The other tests run tf.keras eagerly for speed; tf's default (traced) mode gives the same."""
    actual, expected = train_both(
        keras, fastdense, dense_net(1, output_activation="sigmoid"),
        lambda k: dict(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"]),
        lambda k: dict(x=X, y=Y_BINARY, batch_size=16, epochs=2),
        evaluate_kwargs=dict(x=X, y=Y_BINARY), predict_x=X, eager=False)
    assert_same_run(actual, expected)


# --------------------------------------------------------------------------------------------- losses
POSITIVE = np.abs(regression_targets(32, 2, seed=7)) + 0.1
COUNTS = np.random.default_rng(8).poisson(2.0, size=(32, 2)).astype(np.float32)
DISTRIBUTIONS = np.random.default_rng(9).dirichlet(np.ones(3), size=32).astype(np.float32)
SIGNED = np.where(Y_BINARY > 0, 1.0, -1.0).astype(np.float32)

# (id, output units, output activation, targets, loss factory[, SGD learning rate])
# (MSE and MAE train every activation in test_activation_under_two_losses.)
LOSS_CASES = [
    # MAPE's gradient is 100/|y| per unit of error: a small rate keeps the steps reasonable.
    ("mape", 2, None, POSITIVE, lambda k: k.losses.MeanAbsolutePercentageError(), 0.001),
    ("msle", 2, "softplus", POSITIVE, lambda k: "msle"),
    ("huber", 2, None, Y_REG * 3, lambda k: "huber"),
    ("huber_delta", 2, None, Y_REG, lambda k: k.losses.Huber(delta=0.5)),
    ("log_cosh", 2, None, Y_REG, lambda k: "log_cosh"),
    ("poisson", 2, "softplus", COUNTS, lambda k: "poisson"),
    ("kld", 3, "softmax", DISTRIBUTIONS, lambda k: "kld"),
    ("hinge_01_labels", 1, "tanh", Y_BINARY, lambda k: "hinge"),
    ("hinge_signed_labels", 1, None, SIGNED, lambda k: k.losses.Hinge()),
    ("squared_hinge", 1, "tanh", SIGNED, lambda k: "squared_hinge"),
    ("categorical_hinge", 3, None, Y_ONEHOT, lambda k: "categorical_hinge"),
    ("cosine_similarity", 2, None, Y_REG, lambda k: "cosine_similarity"),
    ("bce_sigmoid_shortcut", 1, "sigmoid", Y_BINARY, lambda k: "binary_crossentropy"),
    ("bce_probabilities", 1, "hard_sigmoid", Y_BINARY, lambda k: "binary_crossentropy"),
    ("bce_from_logits", 1, None, Y_BINARY, lambda k: k.losses.BinaryCrossentropy(from_logits=True)),
    ("bce_label_smoothing", 1, "sigmoid", Y_BINARY, lambda k: k.losses.BinaryCrossentropy(label_smoothing=0.2)),
    ("cce_softmax_shortcut", 3, "softmax", Y_ONEHOT, lambda k: "categorical_crossentropy"),
    ("cce_from_logits", 3, None, Y_ONEHOT, lambda k: k.losses.CategoricalCrossentropy(from_logits=True)),
    ("cce_label_smoothing", 3, "softmax", Y_ONEHOT,
     lambda k: k.losses.CategoricalCrossentropy(label_smoothing=0.1)),
    ("cce_probabilities", 3, "softplus", DISTRIBUTIONS, lambda k: "categorical_crossentropy"),
    ("scce_softmax_shortcut", 3, "softmax", LABELS, lambda k: "sparse_categorical_crossentropy"),
    ("scce_column_labels", 3, "softmax", LABELS[:, None], lambda k: "sparse_categorical_crossentropy"),
    ("scce_from_logits", 3, None, LABELS, lambda k: k.losses.SparseCategoricalCrossentropy(from_logits=True)),
]


@pytest.mark.parametrize("units, activation, y, loss, rate", [(case[1:] + (0.1,))[:5] for case in LOSS_CASES],
                         ids=[case[0] for case in LOSS_CASES])
def test_loss(keras, units, activation, y, loss, rate):
    check(keras, dense_net(units, output_activation=activation),
          lambda k: dict(optimizer=k.optimizers.SGD(rate), loss=loss(k)), y, batch_size=32)


@pytest.mark.parametrize("reduction", ["sum", "mean_with_sample_weight"])
def test_loss_reduction(keras, reduction):
    """A Loss object's reduction, with sample weights and a partial last batch."""
    check(keras, dense_net(2), lambda k: dict(optimizer=k.optimizers.SGD(0.02), loss=k.losses.MeanSquaredError(
        reduction=reduction)), Y_REG, batch_size=10, sample_weight=np.linspace(0.1, 2.0, 32))


# ------------------------------------------------------------------------------------------ optimizers
OPTIMIZER_CASES = [
    ("sgd_momentum", lambda k: k.optimizers.SGD(0.05, momentum=0.9)),
    ("sgd_nesterov", lambda k: k.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    ("rmsprop", lambda k: k.optimizers.RMSprop(0.01)),
    ("rmsprop_momentum", lambda k: k.optimizers.RMSprop(0.01, momentum=0.5)),
    ("rmsprop_centered", lambda k: k.optimizers.RMSprop(0.01, centered=True)),
    ("adam", lambda k: k.optimizers.Adam(0.01)),
    ("adam_amsgrad", lambda k: k.optimizers.Adam(0.01, amsgrad=True)),
    ("adamw", lambda k: k.optimizers.AdamW(0.01, weight_decay=0.1)),
    ("adagrad", lambda k: k.optimizers.Adagrad(0.1)),
    ("adadelta", lambda k: k.optimizers.Adadelta(1.0)),
    ("adamax", lambda k: k.optimizers.Adamax(0.01)),
    ("nadam", lambda k: k.optimizers.Nadam(0.01)),
    ("sgd_weight_decay", lambda k: k.optimizers.SGD(0.1, weight_decay=0.05)),
    ("clipnorm", lambda k: k.optimizers.SGD(0.1, clipnorm=0.1)),
    ("clipvalue", lambda k: k.optimizers.Adam(0.01, clipvalue=0.01)),
    ("global_clipnorm", lambda k: k.optimizers.RMSprop(0.01, global_clipnorm=0.2)),
    ("exponential_decay", lambda k: k.optimizers.SGD(k.optimizers.schedules.ExponentialDecay(0.2, 2, 0.5))),
    ("piecewise_constant", lambda k: k.optimizers.Adam(
        k.optimizers.schedules.PiecewiseConstantDecay([1, 3], [0.05, 0.01, 0.001]))),
    ("cosine_decay_warmup", lambda k: k.optimizers.SGD(
        k.optimizers.schedules.CosineDecay(0.01, 4, warmup_target=0.1, warmup_steps=2))),
]


@pytest.mark.parametrize("optimizer", [case[1] for case in OPTIMIZER_CASES], ids=[case[0] for case in OPTIMIZER_CASES])
def test_optimizer(keras, optimizer):
    check(keras, dense_net(2), lambda k: dict(optimizer=optimizer(k), loss="mse", metrics=["mae"]), Y_REG, epochs=3)


# --------------------------------------------------------------------------------------- regularizers
REGULARIZER_CASES = [
    ("kernel_l1", dict(kernel_regularizer=lambda k: k.regularizers.L1(0.01))),
    ("kernel_l2", dict(kernel_regularizer=lambda k: k.regularizers.L2(0.05))),
    ("kernel_l1l2", dict(kernel_regularizer=lambda k: k.regularizers.L1L2(l1=0.01, l2=0.02))),
    ("bias_l2", dict(bias_regularizer=lambda k: k.regularizers.L2(0.1), bias_initializer=lambda k: "ones")),
    ("activity_l1", dict(activity_regularizer=lambda k: k.regularizers.L1(0.01))),
    ("activity_l2_string", dict(activity_regularizer=lambda k: "l2")),
]


@pytest.mark.parametrize("arguments", [case[1] for case in REGULARIZER_CASES],
                         ids=[case[0] for case in REGULARIZER_CASES])
def test_regularizer(keras, arguments):
    """History 'loss' includes the penalties, evaluate too (and both regularize every layer)."""
    def build(k):
        kwargs = {name: make(k) for name, make in arguments.items()}
        return k.Sequential([k.Input((4,)), k.layers.Dense(8, activation="tanh", **kwargs),
                             k.layers.Dense(2, **kwargs)])

    check(keras, build, lambda k: dict(optimizer=k.optimizers.SGD(0.1), loss="mse", metrics=["mse"]), Y_REG,
          validation_split=0.25)


# ------------------------------------------------------------------------------ sample and class weights
SAMPLE_WEIGHTS = np.random.default_rng(11).uniform(0, 2, size=32).astype(np.float32)


def test_sample_weight_weights_loss_and_weighted_metrics_only(keras):
    check(keras, dense_net(2), lambda k: dict(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mae"]),
          Y_REG, sample_weight=SAMPLE_WEIGHTS)


def test_class_weight_with_sparse_labels_weights_training_data_only(keras):
    """The validation split gets no class weights (val_loss is unweighted)."""
    check(keras, dense_net(3, output_activation="softmax"),
          lambda k: dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                         weighted_metrics=["accuracy"]),
          LABELS, class_weight={0: 0.5, 1: 2.0, 2: 1.0}, validation_split=0.25)


def test_class_weight_with_one_hot_and_binary_labels(keras):
    check(keras, dense_net(3, output_activation="softmax"),
          lambda k: dict(optimizer="adam", loss="categorical_crossentropy"), Y_ONEHOT, class_weight={1: 3.0})
    check(keras, dense_net(1, output_activation="sigmoid"),
          lambda k: dict(optimizer="adam", loss="binary_crossentropy", weighted_metrics=["accuracy"]), Y_BINARY,
          class_weight={0: 1.0, 1: 4.0})


# -------------------------------------------------------------------------------------------- validation
def test_validation_split_with_sample_weight_and_partial_batches(keras):
    check(keras, dense_net(2), lambda k: dict(optimizer="adam", loss="mse", metrics=["mae"]), Y_REG, batch_size=10,
          validation_split=0.3, sample_weight=SAMPLE_WEIGHTS)


@pytest.mark.parametrize("container", [tuple, list])
def test_validation_data_tuple_and_list(keras, container):
    x_val, y_val = features(12, 4, seed=20), regression_targets(12, 2, seed=21)
    check(keras, dense_net(2), lambda k: dict(optimizer="rmsprop", loss="mse", metrics=["mae"]), Y_REG,
          validation_data=container([x_val, y_val]), validation_batch_size=5)


def test_validation_data_with_sample_weight_and_validation_freq(keras):
    x_val, y_val = features(12, 4, seed=20), regression_targets(12, 2, seed=21)
    w_val = np.linspace(0.1, 1.0, 12).astype(np.float32)
    check(keras, dense_net(2), lambda k: dict(optimizer="rmsprop", loss="mse", weighted_metrics=["mse"]), Y_REG,
          epochs=4, validation_data=(x_val, y_val, w_val), validation_freq=2)


# ------------------------------------------------------------------------------------- epochs and steps
def test_steps_per_epoch_continues_through_the_data(keras):
    """With arrays, an epoch of steps_per_epoch batches continues where the last one stopped."""
    check(keras, dense_net(2), lambda k: dict(optimizer="sgd", loss="mse", metrics=["mae"]), Y_REG, epochs=3,
          batch_size=8, steps_per_epoch=3)


def test_initial_epoch(keras):
    actual, expected = check(keras, dense_net(2), lambda k: dict(optimizer="adam", loss="mse"), Y_REG, epochs=4,
                             initial_epoch=2)
    assert actual.history.epoch == [2, 3]
