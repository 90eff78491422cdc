"""The matrix-product paths on odd shapes: a Dense layer's three products (x·W, dW = xᵀ·dZ,
dX = dZ·Wᵀ, and dX accumulated when two layers read one input) against NumPy, on every path
this build has on this CPU (FASTDENSE_KERNEL=avx512|avx2|openblas|eigen). Sizes straddle the own
kernels' register tiles (AVX-512: 12 rows x 32 columns; AVX2: 6 x 16), their half tiles (16 and 8
columns), their depth blocks (k split evenly into blocks of at most 256), their column blocks (1024,
narrowed for short slabs of deep products) and the engine's split of large products into one slab
per thread."""

import threading
from concurrent import futures

import os
import subprocess
import sys

import numpy as np
import pytest

import fastdense as K
from fastdense import _core

KERNELS = _core.product_kernels()


def two_head_model(inputs, hidden, outputs, seed):
    """x → Dense(hidden, relu) → two Dense(outputs) heads, added: the hidden layer's input gradient
    is the sum of two dX products, the second accumulated onto the first."""
    rng = np.random.default_rng(seed)
    x = K.Input((inputs,))
    h = K.layers.Dense(hidden, activation="relu")(x)
    out = K.layers.Add()([K.layers.Dense(outputs)(h), K.layers.Dense(outputs)(h)])
    model = K.Model(x, out)
    weights = [rng.normal(0, 1 / np.sqrt(inputs), (inputs, hidden)), rng.normal(0, 0.1, hidden),
               rng.normal(0, 1 / np.sqrt(hidden), (hidden, outputs)), rng.normal(0, 0.1, outputs),
               rng.normal(0, 1 / np.sqrt(hidden), (hidden, outputs)), rng.normal(0, 0.1, outputs)]
    weights = [w.astype(np.float32) for w in weights]
    model.set_weights(weights)
    return model, weights


def numpy_step(weights, x, y, learning_rate):
    """The prediction, and the weights after one SGD step on the mean squared error, in float64."""
    w1, b1, wa, ba, wb, bb = [w.astype(np.float64) for w in weights]
    x = x.astype(np.float64)
    z = x @ w1 + b1
    h = np.maximum(z, 0)
    prediction = h @ wa + ba + h @ wb + bb
    grad = 2 * (prediction - y) / y.size
    dh = (grad @ wa.T + grad @ wb.T) * (z > 0)
    grads = [x.T @ dh, dh.sum(0), h.T @ grad, grad.sum(0), h.T @ grad, grad.sum(0)]
    return prediction, [w - learning_rate * g for w, g in zip((w1, b1, wa, ba, wb, bb), grads)]


# (rows, inputs, hidden, outputs): rows 1..257 around the 12-row tile; depths 17..2100 around the
# 256-deep blocks (1031 = 4 x 207 + 203, 2100 = 8 x 234 + 228); widths 1..2100 around the
# 16/32-column tiles and the column blocks. (300, 600, 2100, 7) on two threads: x·W's slabs of
# 300 rows x 1050 columns run three 200-deep blocks in column blocks narrowed to 768 (then 282: a
# 26-column tail panel); dW = xᵀ·dZ's slabs of 600 x 1050, two 150-deep blocks, in blocks of 512.
# Then products below 32k multiply-adds (MatrixProduct.h): the tutorial's 10-64-64-1 shapes and one
# at the own kernels' small-product bar (4 rows, 16 columns), whose one-unit heads run the plain
# loops of one column (x·W, dW) and of depth one (dX, the second head's accumulated). Last, widths
# of exactly 8 (AVX2's whole half tile, stored without masks) and 24 (a 16-column panel and such a
# half), below and above the small-product bar.
SHAPES = [(1, 257, 255, 129), (3, 255, 257, 17), (15, 129, 257, 33), (17, 257, 129, 3), (33, 127, 255, 1),
          (127, 257, 33, 15), (129, 255, 127, 257), (257, 129, 255, 17), (255, 17, 257, 129),
          (33, 129, 1031, 5), (40, 1031, 64, 10), (300, 600, 2100, 7), (32, 10, 64, 1), (4, 7, 16, 1),
          (3, 7, 16, 1), (9, 100, 24, 8), (20, 300, 48, 8)]


def check_against_numpy(rows, inputs, hidden, outputs):
    rng = np.random.default_rng(rows + inputs)
    x = rng.normal(size=(rows, inputs)).astype(np.float32)
    y = rng.normal(size=(rows, outputs)).astype(np.float32)
    model, weights = two_head_model(inputs, hidden, outputs, seed=rows)
    expected_prediction, expected_weights = numpy_step(weights, x, y, 0.1)
    np.testing.assert_allclose(model.predict(x, batch_size=rows, verbose=0), expected_prediction, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(model(x)), expected_prediction, rtol=1e-4, atol=1e-4)
    model.compile(optimizer=K.optimizers.SGD(0.1), loss="mean_squared_error")
    model.train_on_batch(x, y)
    for got, expected in zip(model.get_weights(), expected_weights):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("rows, inputs, hidden, outputs", SHAPES)
@pytest.mark.parametrize("kernel", KERNELS)
def test_dense_products_match_numpy_on_odd_shapes(kernel, rows, inputs, hidden, outputs, kernel_restored):
    _core.set_product_kernel(kernel)
    check_against_numpy(rows, inputs, hidden, outputs)


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    except OSError:
        return None


def run_with_kernel(kernel, code):
    package_parent = os.path.dirname(os.path.dirname(K.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_parent, os.path.dirname(__file__),
                                                       os.environ.get("PYTHONPATH", "")]))
    env.pop("FASTDENSE_KERNEL", None)
    if kernel:
        env["FASTDENSE_KERNEL"] = kernel
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                          cwd=package_parent)


def test_the_default_path_is_the_avx512_kernel_exactly_where_the_cpu_has_avx512():
    flags = cpu_flags()
    if flags is None:
        pytest.skip("no /proc/cpuinfo")
    has_avx512 = {"avx512f", "avx512bw", "avx512vl", "fma"} <= set(flags)
    assert ("avx512" in KERNELS) == has_avx512
    result = run_with_kernel(None, "import fastdense; print(fastdense._core.product_kernel())")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith(KERNELS[0] + " (")


@pytest.mark.parametrize("kernel", KERNELS)
def test_each_path_selected_by_the_environment_computes_the_same_products(kernel):
    code = ("import fastdense, test_microkernel as t\n"
            "print(fastdense._core.product_kernel())\n"
            "for shape in [(129, 255, 127, 257), (33, 129, 1031, 5), (17, 257, 129, 3)]:\n"
            "    t.check_against_numpy(*shape)\n"
            "print('ok')\n")
    result = run_with_kernel(kernel, code)
    assert result.returncode == 0, result.stderr[-3000:]
    reported, status = result.stdout.strip().splitlines()[-2:]
    assert reported.startswith(kernel + " (")
    assert status == "ok"


@pytest.mark.parametrize("kernel", KERNELS)
def test_prediction_in_many_chunks_matches_numpy_and_sees_new_weights(kernel, kernel_restored):
    """Each thread runs many 37-row chunks: on the AVX-512 path the Dense layers pack their
    weights once per call and share them; the next call must see weights set in between."""
    _core.set_product_kernel(kernel)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1001, 257)).astype(np.float32)
    model, weights = two_head_model(257, 255, 129, seed=3)
    y = np.zeros((1001, 129), np.float32)
    np.testing.assert_allclose(model.predict(x, batch_size=37, verbose=0), numpy_step(weights, x, y, 0.0)[0],
                               rtol=1e-4, atol=1e-4)
    _, other = two_head_model(257, 255, 129, seed=4)
    model.set_weights(other)
    np.testing.assert_allclose(model.predict(x, batch_size=37, verbose=0), numpy_step(other, x, y, 0.0)[0],
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model.predict(x[:50], batch_size=50, verbose=0), numpy_step(other, x[:50], y[:50], 0.0)[0],
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel", KERNELS)
def test_prediction_with_packed_deep_kernels_matches_numpy(kernel, kernel_restored):
    """Packed kernels deeper than one depth block and wider than a narrowed column block: each
    thread runs 300-row chunks (and one of 100) of 600 -> 1100 (three 200-deep blocks, column
    blocks of 768 and 332) and 1100 -> 129 (five 220-deep blocks), with the panels packed by the
    call's threads together."""
    _core.set_product_kernel(kernel)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(1000, 600)).astype(np.float32)
    model, weights = two_head_model(600, 1100, 129, seed=7)
    expected = numpy_step(weights, x, np.zeros((1000, 129), np.float32), 0.0)[0]
    np.testing.assert_allclose(model.predict(x, batch_size=300, verbose=0), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model.predict(x[:1], batch_size=300, verbose=0), expected[:1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel", KERNELS)
def test_concurrent_predictions_that_pack_their_kernels_equal_serial_ones(kernel, kernel_restored):
    """Calls from several Python threads at once, each packing the kernels in its own copy of the
    layers (predict's workspaces) with its own team of threads, while set_weights waits between."""
    _core.set_product_kernel(kernel)
    rng = np.random.default_rng(8)
    xs = [rng.normal(size=(rows, 257)).astype(np.float32) for rows in (1001, 640, 37, 2000)]
    model, weights = two_head_model(257, 255, 129, seed=9)
    _, other = two_head_model(257, 255, 129, seed=10)
    serial = {}
    for name, values in (("first", weights), ("second", other)):
        model.set_weights(values)
        serial[name] = [model.predict(x, batch_size=37, verbose=0) for x in xs]
    model.set_weights(weights)
    start = threading.Barrier(4)

    def worker(k):
        start.wait()
        return [(i, model.predict(xs[i], batch_size=37, verbose=0)) for r in range(3) for i in range(len(xs))
                if (i + r) % 4 == k]

    with futures.ThreadPoolExecutor(4) as pool:
        results = [item for part in pool.map(worker, range(4)) for item in part]
    assert len(results) == 3 * len(xs)
    assert [i for i, out in results if not np.array_equal(out, serial["first"][i])] == []
    model.set_weights(other)  # packed forms of the old weights must not survive into the next calls
    with futures.ThreadPoolExecutor(4) as pool:
        again = [item for part in pool.map(worker, range(4)) for item in part]
    assert [i for i, out in again if not np.array_equal(out, serial["second"][i])] == []


@pytest.mark.parametrize("kernel", KERNELS)
def test_prediction_with_bias_and_relu_in_the_product_matches_the_separate_pass(kernel, kernel_restored):
    """In predict's chunks the AVX-512 path adds the bias and applies relu in the product's stores
    (linear and plain-relu layers); other activations keep the separate pass. Both agree with NumPy
    and with the unchunked call, NaN rows included (relu keeps a NaN, as the separate pass does)."""
    _core.set_product_kernel(kernel)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(1001, 257)).astype(np.float32)
    x[[3, 500]] = np.nan
    x[7] = -100.0  # every hidden unit of this row below zero, or far above
    for activation in ("relu", "elu"):
        inputs = K.Input((257,))
        hidden = K.layers.Dense(255, activation=activation)(inputs)
        model = K.Model(inputs, K.layers.Dense(129)(hidden))
        w1, b1, w2, b2 = (w.astype(np.float64) for w in model.get_weights())
        z = x.astype(np.float64) @ w1 + b1
        h = np.maximum(z, 0) if activation == "relu" else np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
        expected = h @ w2 + b2
        chunked = model.predict(x, batch_size=37, verbose=0)
        assert np.isnan(chunked[[3, 500]]).all() and not np.isnan(np.delete(chunked, [3, 500], 0)).any()
        np.testing.assert_allclose(chunked, expected, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(chunked, np.asarray(model(x)), rtol=1e-5, atol=1e-5)
