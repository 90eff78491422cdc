"""fastdense.utils: to_categorical, normalize, set_random_seed, PyDataset, plot_history."""

import importlib.machinery
import random
import sys
import types

import numpy as np
import pytest

from fastdense.utils import (
    PyDataset,
    Sequence,
    normalize,
    plot_history,
    set_random_seed,
    to_categorical,
)


def one_hot_reference(labels, num_classes):
    """Row i of the identity matrix for label i, built with a loop."""
    labels = np.asarray(labels).reshape(-1)
    out = np.zeros((labels.size, num_classes))
    for row, label in enumerate(labels):
        out[row, label] = 1.0
    return out


# -- to_categorical ----------------------------------------------------------------------------


def test_to_categorical_vector():
    labels = [0, 2, 1, 2]
    got = to_categorical(labels)
    assert got.shape == (4, 3) and got.dtype == np.float64
    np.testing.assert_array_equal(got, one_hot_reference(labels, 3))


def test_to_categorical_squeezes_a_trailing_axis_of_one():
    labels = np.array([[1], [0], [3]])
    got = to_categorical(labels, num_classes=5)
    assert got.shape == (3, 5)
    np.testing.assert_array_equal(got, one_hot_reference(labels, 5))


def test_to_categorical_keeps_other_axes():
    labels = np.array([[0, 1, 2], [2, 2, 0]])
    got = to_categorical(labels)
    assert got.shape == (2, 3, 3)
    np.testing.assert_array_equal(got.reshape(6, 3), one_hot_reference(labels, 3))


def test_to_categorical_scalar_and_float_labels():
    np.testing.assert_array_equal(to_categorical(2, num_classes=4), [0, 0, 1, 0])
    np.testing.assert_array_equal(to_categorical([1.0, 0.0]), [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    "labels, num_classes",
    [([0, 2, 1, 2], None), ([[1], [0], [3]], 5), ([[0, 1, 2], [2, 2, 0]], None), (3, 6), ([[1]], None)],
)
def test_to_categorical_matches_keras(keras, labels, num_classes):
    expected = keras.utils.to_categorical(labels, num_classes)
    got = to_categorical(labels, num_classes)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


# -- normalize ---------------------------------------------------------------------------------


def test_normalize_l2_rows_and_zero_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    expected = np.array([[0.6, 0.8], [0.0, 0.0], [1 / np.sqrt(2), -1 / np.sqrt(2)]])
    np.testing.assert_allclose(normalize(x), expected, rtol=1e-15)


def test_normalize_other_axis_and_order():
    x = np.array([[1.0, 2.0], [3.0, -6.0]])
    column_l1 = np.abs(x).sum(axis=0)
    np.testing.assert_allclose(normalize(x, axis=0, order=1), x / column_l1, rtol=1e-15)


def test_normalize_whole_array_and_integers():
    x = np.array([[0, 3], [0, 4]])
    np.testing.assert_allclose(normalize(x, axis=None), x / 5.0, rtol=1e-15)
    np.testing.assert_array_equal(normalize(np.zeros(3), axis=None), np.zeros(3))


# Not axis=0: Keras's NumPy path maps it to the last axis (`axis or -1`).
@pytest.mark.parametrize("axis, order", [(-1, 2), (1, 2), (1, 1), (-1, np.inf)])
def test_normalize_matches_keras(keras, axis, order):
    x = np.random.default_rng(0).normal(size=(4, 3))
    x[1] = 0.0
    np.testing.assert_allclose(normalize(x, axis, order), keras.utils.normalize(x, axis, order), rtol=1e-15)


# -- set_random_seed ---------------------------------------------------------------------------


def test_set_random_seed_makes_python_and_numpy_reproducible():
    set_random_seed(1234)
    first = (random.random(), np.random.rand(3).tolist())
    set_random_seed(1234)
    assert (random.random(), np.random.rand(3).tolist()) == first
    random.seed(1234)
    np.random.seed(1234)
    assert (random.random(), np.random.rand(3).tolist()) == first


def test_set_random_seed_seeds_fastdense_random_when_present(monkeypatch):
    seeds = []
    fake = types.ModuleType("fastdense.random")
    fake.__spec__ = importlib.machinery.ModuleSpec("fastdense.random", loader=None)
    fake.set_seed = seeds.append
    monkeypatch.setitem(sys.modules, "fastdense.random", fake)
    set_random_seed(7)
    assert seeds == [7]


def test_set_random_seed_rejects_non_integers():
    with pytest.raises(ValueError, match="integer"):
        set_random_seed(1.5)


# -- PyDataset ---------------------------------------------------------------------------------


class Batches(PyDataset):
    def __init__(self, x, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = x
        self.batch_size = batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        batch = self.x[index * self.batch_size : (index + 1) * self.batch_size]
        return batch, 2 * batch

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_pydataset_length_items_and_iteration():
    data = Batches(np.arange(10.0), batch_size=4, workers=2, max_queue_size=3)
    assert Sequence is PyDataset
    assert len(data) == data.num_batches == 3
    assert (data.workers, data.use_multiprocessing, data.max_queue_size) == (2, False, 3)
    batches = list(data)
    assert [len(x) for x, _ in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[2][1], [16.0, 18.0])
    data.on_epoch_begin()
    data.on_epoch_end()
    assert data.epochs_ended == 1


def test_pydataset_infinite_and_num_batches_property():
    class Endless(PyDataset):
        @property
        def num_batches(self):
            return None

        def __getitem__(self, index):
            return np.full((2, 1), float(index))

    stream = iter(Endless())
    assert [float(next(stream)[0, 0]) for _ in range(5)] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_pydataset_without_length_explains_num_batches():
    class NoLength(PyDataset):
        def __getitem__(self, index):
            return index

    with pytest.raises(NotImplementedError, match="num_batches"):
        NoLength().num_batches


def test_pydataset_warns_when_super_init_is_not_called():
    class Forgetful(PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

    with pytest.warns(UserWarning, match=r"super\(\).__init__"):
        assert Forgetful().workers == 1


def test_pydataset_base_getitem_is_abstract():
    with pytest.raises(NotImplementedError):
        PyDataset()[0]


# -- plot_history ------------------------------------------------------------------------------


class FakeHistory:
    def __init__(self):
        self.epoch = [0, 1, 2, 3]
        self.history = {
            "loss": [1.0, 0.8, 0.6, 0.5],
            "accuracy": [0.5, 0.6, 0.7, 0.8],
            "val_loss": [1.1, 0.9],  # validation_freq=2: epochs 2 and 4
            "val_accuracy": [0.45, 0.55],
        }


def test_plot_history_one_axes_per_metric_with_validation():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    figure = plot_history(FakeHistory())
    try:
        assert isinstance(figure, Figure)
        axes = figure.axes
        assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy"]
        train, val = axes[0].get_lines()
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_array_equal(train.get_ydata(), [1.0, 0.8, 0.6, 0.5])
        np.testing.assert_array_equal(val.get_xdata(), [2, 4])
        np.testing.assert_array_equal(val.get_ydata(), [1.1, 0.9])
    finally:
        plt.close(figure)


def test_plot_history_selected_metrics_from_a_dict():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plot_history({"loss": [3.0, 2.0], "mae": [1.0, 0.5]}, metrics=["mae"])
    try:
        (ax,) = figure.axes
        (line,) = ax.get_lines()
        np.testing.assert_array_equal(line.get_xdata(), [1, 2])
        np.testing.assert_array_equal(line.get_ydata(), [1.0, 0.5])
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="no recorded values"):
        plot_history({"loss": [1.0]}, metrics=["accuracy"])


def test_plot_history_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"fastdense\[plot\]"):
        plot_history({"loss": [1.0]})
