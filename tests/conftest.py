import glob
import os
import sys

import pytest

# Tests import tensorflow as the reference; keep its start-up quiet and single-machine.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

# Test the source tree when it holds a developer build (tools/dev_build.sh puts _core there);
# otherwise the installed package, which an unbuilt source tree on sys.path would shadow.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if glob.glob(os.path.join(_ROOT, "fastdense", "_core*")):
    sys.path.insert(0, _ROOT)


# TensorFlow is the reference and an optional test dependency: a test that asks for one of these
# fixtures is skipped without it; the rest of its module still runs.
@pytest.fixture(scope="session")
def tf():
    """TensorFlow."""
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="session")
def keras(tf):
    """Keras 3, the package TensorFlow runs as tf.keras (the same classes; it also has keras.saving)."""
    return pytest.importorskip("keras")


@pytest.fixture
def kernel_restored():
    """Puts the matrix-product path that was selected back after a test that switches it."""
    from fastdense import _core

    before = _core.product_kernel().split(" ")[0]
    yield
    _core.set_product_kernel(before)
