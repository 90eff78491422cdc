"""Where the datasets live and how they get there: Keras's cache (`$KERAS_HOME/datasets`, by
default `~/.keras/datasets`, `/tmp/.keras` when the home directory is read-only), the same file
names and origins, the same hash check (`keras/src/utils/file_utils.py` get_file), so files that
Keras downloaded are used as they are, offline. Downloads use urllib only.
"""

import hashlib
import io
import os
import pickle
import tempfile
import zipfile

import numpy as np

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def keras_home():
    """Keras's base directory: $KERAS_HOME, else ~/.keras (/tmp/.keras without a writable home)."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def file_hash(path, algorithm):
    hasher = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _algorithm(expected_hash):
    # Keras's "auto": a 64-character hash is SHA-256, any other is MD5 (its legacy hashes).
    return "sha256" if len(expected_hash) == 64 else "md5"


def download(origin, target):
    """Fetches `origin` into `target` (removed again if the download fails)."""
    import urllib.error  # urllib.request pulls in http and email: imported when a download is due
    import urllib.request

    print(f"Downloading data from {origin}")
    try:
        urllib.request.urlretrieve(origin, target)
    except (Exception, KeyboardInterrupt) as error:
        if os.path.exists(target):
            os.remove(target)
        if isinstance(error, urllib.error.HTTPError):
            raise Exception(f"URL fetch failure on {origin}: {error.code} -- {error.msg}") from error
        if isinstance(error, urllib.error.URLError):
            raise Exception(f"URL fetch failure on {origin}: {error.errno} -- {error.reason}") from error
        raise


def cached_file(fname, origin, expected_hash, cache_subdir="datasets"):
    """The local path of `fname`, downloaded from `origin` when it is not in the cache or when
    its hash differs from `expected_hash` (an incomplete or outdated file), as Keras's get_file."""
    if os.sep in fname:
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify the file's parent "
                         f"directory, use the `cache_dir` argument. Received: fname={fname}")
    base = os.path.expanduser(keras_home())
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    directory = os.path.join(base, cache_subdir)
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, fname)
    if expected_hash is None:  # nothing to check: a file in the cache is used as it is
        if not os.path.exists(target):
            download(origin, target)
        return target
    algorithm = _algorithm(expected_hash)
    if os.path.exists(target):
        if file_hash(target, algorithm) == expected_hash:
            return target
        print(f"A local file was found, but it seems to be incomplete or outdated because the {algorithm} file "
              f"hash does not match the original value of {expected_hash} so we will re-download the data.")
    download(origin, target)
    if file_hash(target, algorithm) != expected_hash:
        raise ValueError(f"Incomplete or corrupted file detected. The {algorithm} file hash does not match the "
                         f"provided value of {expected_hash}.")
    return target


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and nothing else: the ragged sequences of imdb.npz and
    reuters.npz are object arrays, and a tampered file must not run code."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"Refusing to load `{module}.{name}` from a dataset file: only NumPy "
                                         "arrays are expected; the file may be corrupted or malicious.")
        return super().find_class(module, name)


def _read_npy(stream):
    try:
        return np.lib.format.read_array(stream, allow_pickle=False)
    except ValueError:  # an object array: read its pickle with the restricted unpickler
        stream.seek(0)
        major, _ = np.lib.format.read_magic(stream)
        if major == 1:
            np.lib.format.read_array_header_1_0(stream)
        elif major in (2, 3):
            np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"Unsupported `.npy` file version: {major}.") from None
        return _ArraysOnlyUnpickler(stream).load()


def load_npz(path):
    """The arrays of an .npz archive by name, object arrays included, unpickling arrays only."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as raw:
                    arrays[member[:-len(".npy")]] = _read_npy(io.BytesIO(raw.read()))
    return arrays

