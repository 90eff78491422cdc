"""fit's epoch counts and class_weight are checked before any training: a wrong type is a
TypeError and an out-of-range value a ValueError, each naming the argument and the value given.
Keras 3.15 raises TypeError for a non-integer `epochs`, trains nothing for `epochs=-1`, runs an
epoch -1 for `initial_epoch=-1`, and fails with AttributeError on `class_weight="balanced"`."""

import numpy as np
import pytest

import fastdense
from fastdense import layers
from misuse import fails_cleanly

X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
LABELS = np.array([0, 1, 0, 1] * 4, dtype=np.float32)


def classifier():
    net = fastdense.Sequential([fastdense.Input((4,)), layers.Dense(1, activation="sigmoid")])
    net.compile(optimizer="sgd", loss="binary_crossentropy")
    return net


def fails_before_training(method, exception, match, **kwargs):
    fails_cleanly(classifier(), method, exception, match, X, LABELS, **kwargs)


@pytest.mark.parametrize("name", ["epochs", "initial_epoch"])
@pytest.mark.parametrize("value", [-1, -5, np.int64(-2)])
def test_negative_epoch_numbers_are_value_errors(name, value):
    fails_before_training("fit", ValueError, rf"`{name}` must be a non-negative integer, got {int(value)}",
                          **{name: value})


@pytest.mark.parametrize("name", ["epochs", "initial_epoch"])
@pytest.mark.parametrize("value, type_name", [(1.5, "float"), ("3", "str"), (None, "NoneType"), (True, "bool")])
def test_non_integer_epoch_numbers_are_type_errors(name, value, type_name):
    fails_before_training("fit", TypeError, rf"`{name}` must be an integer, got {value!r} of type {type_name}",
                          **{name: value})


def test_zero_epochs_and_numpy_integers_are_accepted():
    net = classifier()
    before = net.get_weights()
    assert net.fit(X, LABELS, epochs=0, verbose=0).epoch == []  # as in Keras: nothing to train
    for a, b in zip(net.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert net.fit(X, LABELS, epochs=np.int64(3), initial_epoch=np.int32(1), verbose=0).epoch == [1, 2]


@pytest.mark.parametrize("method", ["fit", "train_on_batch"])
@pytest.mark.parametrize("class_weight, exception, match", [
    ("balanced", TypeError, r"`class_weight` must be a dict mapping class indices to weights, got 'balanced' "
                            r"of type str"),
    ([1.0, 2.0], TypeError, r"`class_weight` must be a dict .*got \[1.0, 2.0\] of type list"),
    ({"0": 1.0}, TypeError, r"`class_weight` keys must be integer class indices, got '0' of type str"),
    ({0.5: 1.0}, ValueError, r"`class_weight` keys must be integer class indices, got 0.5"),
    ({0: "high"}, TypeError, r"`class_weight` values must be numbers, got 'high' of type str for class 0"),
])
def test_class_weight_must_be_a_dict_of_class_index_to_weight(method, class_weight, exception, match):
    fails_before_training(method, exception, match, class_weight=class_weight)


def test_class_weight_with_integral_float_and_numpy_keys_trains_as_with_int_keys():
    results = []
    for class_weight in ({0: 1.0, 1: 3.0}, {0.0: 1.0, 1.0: 3.0}, {np.int64(0): np.float32(1.0), np.int64(1): 3}):
        fastdense.utils.set_random_seed(7)
        net = classifier()
        net.fit(X, LABELS, epochs=2, batch_size=4, shuffle=False, verbose=0, class_weight=class_weight)
        results.append(net.get_weights())
    for weights in results[1:]:
        for a, b in zip(weights, results[0]):
            np.testing.assert_array_equal(a, b)
