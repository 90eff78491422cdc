"""MNIST handwritten digits (`keras.datasets.mnist`)."""

import numpy as np

from fastdense.datasets.files import ORIGIN, cached_file

_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """Loads MNIST: 60,000 28x28 grayscale training images of the digits 0-9 and 10,000 test images.

    Args:
        path: the file name in the cache (`~/.keras/datasets`, or `$KERAS_HOME/datasets`).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays, images (n, 28, 28) with pixel
        values 0-255, labels (n,).
    """
    path = cached_file(path, ORIGIN + "mnist.npz", _SHA256)
    with np.load(path, allow_pickle=False) as arrays:
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
