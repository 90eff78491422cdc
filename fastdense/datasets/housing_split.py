"""The loader shared by the two housing datasets (boston_housing, california_housing): one .npz
of feature rows `x` and targets `y`, shuffled and split as Keras's loaders do
(`keras/src/datasets/boston_housing.py`, `keras/src/datasets/california_housing.py`)."""

import numpy as np

from fastdense.datasets.files import ORIGIN, cached_file


def load_housing_split(remote_name, path, expected_sha256, test_split, seed, rows=None):
    """`(x_train, y_train), (x_test, y_test)` from the file `remote_name` of Keras's origin, cached
    as `path`: its first `rows` samples (all when None), shuffled with RandomState(seed), then the
    first int(n * (1 - test_split)) samples train."""
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 (exclusive of 1).")
    path = cached_file(path, ORIGIN + remote_name, expected_sha256)
    with np.load(path, allow_pickle=False) as arrays:
        x, y = arrays["x"], arrays["y"]
    if rows is not None:
        x, y = x[:rows], y[:rows]
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
