"""Fashion-MNIST: Zalando's article images in 10 classes (`keras.datasets.fashion_mnist`)."""

import gzip
import os

import numpy as np

from fastdense.datasets.files import ORIGIN, cached_file

# Keras keeps these four files in datasets/fashion-mnist and checks no hash for them.
_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz")


def _idx_file(fname):
    """The bytes of one gzipped IDX file, downloaded when missing (no hash: as Keras)."""
    directory = os.path.join("datasets", "fashion-mnist")
    return cached_file(fname, ORIGIN + fname, None, cache_subdir=directory)


def load_data():
    """Loads Fashion-MNIST: 60,000 28x28 grayscale training images of 10 kinds of clothing
    (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
    8 Bag, 9 Ankle boot) and 10,000 test images.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays, images (n, 28, 28), labels (n,).
    """
    paths = [_idx_file(fname) for fname in _FILES]
    with gzip.open(paths[0], "rb") as file:
        y_train = np.frombuffer(file.read(), np.uint8, offset=8)  # IDX labels: an 8-byte header
    with gzip.open(paths[1], "rb") as file:
        x_train = np.frombuffer(file.read(), np.uint8, offset=16).reshape(len(y_train), 28, 28)  # 16 for images
    with gzip.open(paths[2], "rb") as file:
        y_test = np.frombuffer(file.read(), np.uint8, offset=8)
    with gzip.open(paths[3], "rb") as file:
        x_test = np.frombuffer(file.read(), np.uint8, offset=16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
