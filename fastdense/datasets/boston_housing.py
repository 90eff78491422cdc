"""Boston housing prices (`keras.datasets.boston_housing`).

Keras warns against this dataset (one of its 13 attributes encodes a racial assumption about
house prices); california_housing's small version is its suggested replacement."""

from fastdense.datasets.housing_split import load_housing_split

_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Loads the Boston Housing dataset: 13 attributes of 506 locations, targets the median house
    value in k$.

    Args:
        path: the file name in the cache (`~/.keras/datasets`).
        test_split: fraction of the samples kept for the test set, in [0, 1).
        seed: seed of the shuffle before the split (np.random.RandomState, as Keras).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x of shape (n, 13), y of shape (n,).
    """
    return load_housing_split("boston_housing.npz", path, _SHA256, test_split, seed)
