"""Reduced precision on real data: mixed_bfloat16 training and int8 inference reach float32's test
accuracy (within 0.5 points, scikit-learn's digits) and test loss (within 2%, the diabetes
regression set). Single runs of a small set diverge chaotically from the same start in any two
precisions, so the comparison is of the mean over a few seeds."""

import numpy as np
import pytest

import fastdense
from fastdense import layers, models

datasets = pytest.importorskip("sklearn.datasets")
model_selection = pytest.importorskip("sklearn.model_selection")


def train_pair(build, x, y, seeds, epochs, evaluate):
    """(float32, mixed_bfloat16, int8-quantized float32) test scores for each seed, same start."""
    scores = []
    for seed in seeds:
        reference, mixed = build("float32", seed), build("mixed_bfloat16", seed)
        mixed.set_weights(reference.get_weights())
        reference.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
        mixed.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
        float_score, mixed_score = evaluate(reference), evaluate(mixed)
        reference.quantize("int8")
        scores.append((float_score, mixed_score, evaluate(reference)))
    return np.mean(scores, axis=0)


def test_digits_accuracy_in_bfloat16_and_int8():
    digits = datasets.load_digits()
    x, y = (digits.data / 16).astype(np.float32), digits.target
    x_train, x_test, y_train, y_test = model_selection.train_test_split(x, y, test_size=0.5, random_state=0,
                                                                        stratify=y)

    def build(dtype, seed):
        fastdense.utils.set_random_seed(seed)
        model = models.Sequential([layers.Input((64,)), layers.Dense(128, activation="relu", dtype=dtype),
                                   layers.Dense(64, activation="relu", dtype=dtype),
                                   layers.Dense(10, activation="softmax", dtype=dtype)])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    float_acc, mixed_acc, int8_acc = train_pair(build, x_train, y_train, range(3), 30,
                                                lambda m: m.evaluate(x_test, y_test, verbose=0)[1])
    assert float_acc > 0.95
    assert abs(mixed_acc - float_acc) <= 0.005
    assert abs(int8_acc - float_acc) <= 0.005


def test_diabetes_regression_loss_in_bfloat16_and_int8():
    data = datasets.load_diabetes()
    x = data.data.astype(np.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = (data.target / 100).astype(np.float32)
    x_train, x_test, y_train, y_test = model_selection.train_test_split(x, y, test_size=0.3, random_state=0)

    def build(dtype, seed):
        fastdense.utils.set_random_seed(seed)
        model = models.Sequential([layers.Input((10,)), layers.Dense(32, activation="relu", dtype=dtype),
                                   layers.Dense(1, dtype=dtype)])
        model.compile(optimizer=fastdense.optimizers.Adam(0.01), loss="mse")
        return model

    float_mse, mixed_mse, int8_mse = train_pair(build, x_train, y_train, range(5), 20,
                                                lambda m: m.evaluate(x_test, y_test, verbose=0))
    assert float_mse < 0.45  # the target's variance is about 0.6
    assert abs(mixed_mse / float_mse - 1) <= 0.02
    assert abs(int8_mse / float_mse - 1) <= 0.02
