"""California housing prices (`keras.datasets.california_housing`)."""

from fastdense.datasets.housing_split import load_housing_split

_SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Loads the California Housing dataset (1990 census): 8 features per block group (MedInc,
    HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude), targets the median
    house value in dollars.

    Args:
        version: "large" (20,640 samples) or "small" (the first 600, a stand-in for boston_housing).
        path: the file name in the cache (`~/.keras/datasets`).
        test_split: fraction of the samples kept for the test set, in [0, 1).
        seed: seed of the shuffle before the split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x of shape (n, 8), y of shape (n,).
    """
    if version not in ("small", "large"):  # checked before any download
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    rows = 600 if version == "small" else None
    return load_housing_split("california_housing.npz", path, _SHA256, test_split, seed, rows)
