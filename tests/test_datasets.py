"""fastdense.datasets: Keras's load_data() functions over files in Keras's cache.

Every test writes small files in the real formats (npz archives, gzipped IDX files, JSON word
indices) into a temporary KERAS_HOME and never touches the network: the downloader is replaced
by one that fails, or by one that writes a given file, and the expected hashes by those of the
generated files. Where tf.keras is installed, its load_data() reads the same files and must
return the same arrays.
"""

import gzip
import hashlib
import json
import os

import numpy as np
import pytest

from fastdense import datasets
from fastdense.datasets import files


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty KERAS_HOME, and a downloader that fails: the tests' files must be found."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    calls = []

    def no_network(origin, target):
        calls.append(origin)
        raise AssertionError(f"download attempted: {origin}")

    monkeypatch.setattr(files, "download", no_network)
    (tmp_path / "datasets").mkdir()
    return tmp_path


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def accept(monkeypatch, module, path, attribute="_SHA256"):
    """Makes `module` expect the hash of the generated file at `path` (Keras's hash is that of
    the real file), so the cache hit is what is tested."""
    monkeypatch.setattr(module, attribute, sha256(path) if attribute == "_SHA256" else md5(path))


def ragged(rng, count, vocabulary):
    # lists of Python ints, as in the real files (NumPy scalars would pickle as numpy globals)
    sequences = [rng.integers(1, vocabulary, size=rng.integers(3, 12)).tolist() for _ in range(count)]
    array = np.empty(count, dtype=object)
    array[:] = sequences
    return array


# ------------------------------------------------------------------------------- mnist
def write_mnist(directory, name="mnist.npz"):
    rng = np.random.default_rng(0)
    path = directory / "datasets" / name
    np.savez(path, x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), y_train=np.arange(6, dtype=np.uint8),
             x_test=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), y_test=np.arange(4, dtype=np.uint8))
    return path


def test_mnist_reads_the_cached_file(keras_home, monkeypatch):
    path = write_mnist(keras_home)
    accept(monkeypatch, datasets.mnist, path)
    (x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()
    with np.load(path) as saved:
        np.testing.assert_array_equal(x_train, saved["x_train"])
        np.testing.assert_array_equal(y_test, saved["y_test"])
    assert x_train.dtype == np.uint8 and x_train.shape == (6, 28, 28) and x_test.shape == (4, 28, 28)
    assert y_train.shape == (6,)


def test_a_file_with_the_wrong_hash_is_downloaded_again_and_checked(keras_home, monkeypatch):
    """Keras's get_file: an outdated cached file is fetched again; a download whose hash does
    not match raises ValueError."""
    path = write_mnist(keras_home)
    origins = []

    def download(origin, target):
        origins.append(origin)
        write_mnist(keras_home)

    monkeypatch.setattr(files, "download", download)
    accept(monkeypatch, datasets.mnist, path)
    np.savez(path, x_train=np.zeros(1))  # an outdated file: its hash differs
    datasets.mnist.load_data()
    assert origins == ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"]
    monkeypatch.setattr(datasets.mnist, "_SHA256", "0" * 64)
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected"):
        datasets.mnist.load_data()


def test_missing_file_is_downloaded_from_keras_origin(keras_home, monkeypatch):
    source = write_mnist(keras_home, "source.npz")
    fetched = []

    def download(origin, target):
        fetched.append((origin, target))
        os.replace(source, target)

    monkeypatch.setattr(files, "download", download)
    accept(monkeypatch, datasets.mnist, source)
    datasets.mnist.load_data(path="my_mnist.npz")
    assert fetched == [("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                        str(keras_home / "datasets" / "my_mnist.npz"))]
    datasets.mnist.load_data(path="my_mnist.npz")  # cached now: no second download
    assert len(fetched) == 1


def test_default_cache_is_under_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert files.keras_home() == str(tmp_path / ".keras")


def test_fname_with_a_directory_is_rejected(keras_home):
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        datasets.mnist.load_data(path=os.path.join("sub", "mnist.npz"))


# ----------------------------------------------------------------------- fashion_mnist
def write_idx(path, array, header_bytes):
    with gzip.open(path, "wb") as file:
        file.write(b"\0" * header_bytes + array.tobytes())


def test_fashion_mnist_reads_gzipped_idx_files(keras_home):
    directory = keras_home / "datasets" / "fashion-mnist"
    directory.mkdir()
    rng = np.random.default_rng(1)
    images = {"train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "t10k": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)}
    for split, array in images.items():
        write_idx(directory / f"{split}-images-idx3-ubyte.gz", array, 16)
        write_idx(directory / f"{split}-labels-idx1-ubyte.gz", np.arange(len(array), dtype=np.uint8), 8)
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, images["train"])
    np.testing.assert_array_equal(x_test, images["t10k"])
    np.testing.assert_array_equal(y_train, np.arange(5))
    assert y_test.dtype == np.uint8 and y_test.shape == (3,)


# ----------------------------------------------------------------------------- housing
def write_housing(directory, name, rows, cols):
    rng = np.random.default_rng(2)
    path = directory / "datasets" / name
    np.savez(path, x=rng.normal(size=(rows, cols)), y=rng.normal(size=rows))
    return path


def keras_split(path, test_split, seed, first=None):
    with np.load(path) as saved:
        x, y = saved["x"][:first], saved["y"][:first]
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    cut = int(len(x) * (1 - test_split))
    return (x[order][:cut], y[order][:cut]), (x[order][cut:], y[order][cut:])


def assert_same_splits(actual, expected):
    for got_split, want_split in zip(actual, expected):
        for got, want in zip(got_split, want_split):
            np.testing.assert_array_equal(got, want)


def test_boston_housing_split_and_seed(keras_home, monkeypatch):
    path = write_housing(keras_home, "boston_housing.npz", 50, 13)
    accept(monkeypatch, datasets.boston_housing, path)
    assert_same_splits(datasets.boston_housing.load_data(), keras_split(path, 0.2, 113))
    assert_same_splits(datasets.boston_housing.load_data(test_split=0.3, seed=7), keras_split(path, 0.3, 7))
    with pytest.raises(ValueError, match="Invalid `test_split` argument: 1"):
        datasets.boston_housing.load_data(test_split=1)


def test_california_housing_versions(keras_home, monkeypatch):
    path = write_housing(keras_home, "california_housing.npz", 700, 8)
    accept(monkeypatch, datasets.california_housing, path)
    assert_same_splits(datasets.california_housing.load_data(), keras_split(path, 0.2, 113))
    small = datasets.california_housing.load_data(version="small", test_split=0.25, seed=1)
    assert_same_splits(small, keras_split(path, 0.25, 1, first=600))
    assert len(small[0][0]) == 450
    with pytest.raises(ValueError, match="Argument `version` must be one of 'small', 'large'"):
        datasets.california_housing.load_data(version="medium")


# ----------------------------------------------------------------------- imdb, reuters
def write_imdb(directory):
    rng = np.random.default_rng(3)
    path = directory / "datasets" / "imdb.npz"
    np.savez(path, x_train=ragged(rng, 12, 40), y_train=rng.integers(0, 2, 12),
             x_test=ragged(rng, 8, 40), y_test=rng.integers(0, 2, 8))
    return path


def write_reuters(directory):
    rng = np.random.default_rng(4)
    path = directory / "datasets" / "reuters.npz"
    np.savez(path, x=ragged(rng, 20, 40), y=rng.integers(0, 46, 20))
    return path


def reference_imdb(path, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3):
    """imdb.load_data's documented steps, spelled out over the saved arrays."""
    with np.load(path, allow_pickle=True) as saved:
        parts = [(saved["x_train"], saved["y_train"]), (saved["x_test"], saved["y_test"])]
    rng = np.random.RandomState(seed)
    shuffled = []
    for x, y in parts:
        order = np.arange(len(x))
        rng.shuffle(order)
        x = [([start_char] if start_char is not None else []) + [w + index_from for w in seq] for seq in x[order]]
        y = list(y[order])
        if maxlen:
            y = [label for seq, label in zip(x, y) if len(seq) < maxlen]
            x = [seq for seq in x if len(seq) < maxlen]
        shuffled.append((x, y))
    everything = shuffled[0][0] + shuffled[1][0]
    top = num_words or max(max(seq) for seq in everything)
    limited = [[w if skip_top <= w < top else oov_char for w in seq] if oov_char is not None
               else [w for w in seq if skip_top <= w < top] for seq in everything]
    cut = len(shuffled[0][0])
    return (limited[:cut], shuffled[0][1]), (limited[cut:], shuffled[1][1])


def assert_same_sequences(actual, expected):
    for (got_x, got_y), (want_x, want_y) in zip(actual, expected):
        assert got_x.dtype == object
        assert [list(seq) for seq in got_x] == [list(seq) for seq in want_x]
        np.testing.assert_array_equal(got_y, want_y)


@pytest.mark.parametrize("kwargs", [{}, dict(num_words=20, skip_top=2), dict(maxlen=10, oov_char=None),
                                    dict(start_char=None, index_from=0, seed=5)])
def test_imdb_word_sequences(keras_home, monkeypatch, kwargs):
    path = write_imdb(keras_home)
    accept(monkeypatch, datasets.imdb, path)
    assert_same_sequences(datasets.imdb.load_data(**kwargs), reference_imdb(path, **kwargs))


def test_imdb_maxlen_that_keeps_nothing_is_an_error(keras_home, monkeypatch):
    accept(monkeypatch, datasets.imdb, write_imdb(keras_home))
    with pytest.raises(ValueError, match="no sequence was kept"):
        datasets.imdb.load_data(maxlen=2)


def test_reuters_split_and_label_names(keras_home, monkeypatch):
    path = write_reuters(keras_home)
    accept(monkeypatch, datasets.reuters, path)
    (x_train, y_train), (x_test, y_test) = datasets.reuters.load_data(num_words=30, test_split=0.25)
    with np.load(path, allow_pickle=True) as saved:
        order = np.arange(20)
        np.random.RandomState(113).shuffle(order)
        sequences = [[1] + [w + 3 if w + 3 < 30 else 2 for w in seq] for seq in saved["x"][order]]
        labels = saved["y"][order]
    assert [list(s) for s in x_train] == sequences[:15] and [list(s) for s in x_test] == sequences[15:]
    np.testing.assert_array_equal(y_train, labels[:15])
    assert len(datasets.reuters.get_label_names()) == 46


def test_word_indices(keras_home, monkeypatch):
    for module, name in ((datasets.imdb, "imdb_word_index.json"), (datasets.reuters, "reuters_word_index.json")):
        path = keras_home / "datasets" / name
        path.write_text(json.dumps({"the": 1, "film": 2}))
        accept(monkeypatch, module, path, "_WORD_INDEX_MD5")
        assert module.get_word_index() == {"the": 1, "film": 2}


def test_pickled_objects_other_than_arrays_are_refused(keras_home, monkeypatch):
    """imdb.npz holds object arrays, read with pickle: only NumPy arrays may come out of it."""
    path = keras_home / "datasets" / "imdb.npz"
    hostile = np.empty(1, dtype=object)
    hostile[0] = os.getcwd  # a pickled global other than numpy's
    np.savez(path, x_train=hostile, y_train=np.zeros(1), x_test=hostile, y_test=np.zeros(1))
    accept(monkeypatch, datasets.imdb, path)
    with pytest.raises(Exception, match="Refusing to load `posix.getcwd`"):
        datasets.imdb.load_data()


# --------------------------------------------------------------------- against tf.keras
@pytest.mark.parametrize("name", ["mnist", "boston_housing", "california_housing", "imdb", "reuters"])
def test_same_arrays_as_keras_from_the_same_cache(keras_home, monkeypatch, name):
    """Keras's load_data() over the same generated file (its hash check skipped: the file is not
    the real one) returns what fastdense's does."""
    pytest.importorskip("tensorflow")
    keras_module = pytest.importorskip(f"keras.src.datasets.{name}")
    writers = {"mnist": write_mnist, "imdb": write_imdb, "reuters": write_reuters,
               "boston_housing": lambda home: write_housing(home, "boston_housing.npz", 50, 13),
               "california_housing": lambda home: write_housing(home, "california_housing.npz", 700, 8)}
    path = writers[name](keras_home)
    module = getattr(datasets, name)
    accept(monkeypatch, module, path)
    monkeypatch.setattr(keras_module, "get_file", lambda fname=None, **kwargs: str(keras_home / "datasets" / fname))
    for got_split, want_split in zip(module.load_data(), keras_module.load_data()):
        for got, want in zip(got_split, want_split):
            if got.dtype == object:
                assert [list(s) for s in got] == [list(s) for s in want]
            else:
                np.testing.assert_array_equal(got, want)
                assert got.dtype == want.dtype
