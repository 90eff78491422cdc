"""Every matrix-product path (FASTDENSE_KERNEL=openblas|eigen, or _core.set_product_kernel) computes
the same numbers: the same model's predictions and a training step on each path available in this
build, against each other and against NumPy formulas."""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastdense as K
from fastdense import _core

KERNELS = _core.product_kernels()


def relu_mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    model = K.Sequential([K.Input((sizes[0],))] + [K.layers.Dense(n, activation="relu") for n in sizes[1:-1]]
                         + [K.layers.Dense(sizes[-1])])
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [rng.normal(0, 1 / np.sqrt(fan_in), (fan_in, fan_out)).astype(np.float32),
                    rng.normal(0, 0.1, fan_out).astype(np.float32)]
    model.set_weights(weights)
    return model, weights


def numpy_forward(weights, x):
    """Every layer's output, from the input to the last (relu on all but the last)."""
    values = [x.astype(np.float64)]
    for i in range(0, len(weights), 2):
        z = values[-1] @ weights[i].astype(np.float64) + weights[i + 1].astype(np.float64)
        values.append(np.maximum(z, 0) if i + 2 < len(weights) else z)
    return values


def numpy_sgd_step(weights, x, y, learning_rate):
    """One SGD step on the mean squared error (Keras: the mean over outputs, then over the batch)."""
    values = numpy_forward(weights, x)
    grad = 2 * (values[-1] - y) / y.size
    updated = [w.astype(np.float64) for w in weights]
    for layer in reversed(range(len(weights) // 2)):
        if layer + 1 < len(weights) // 2:
            grad = grad * (values[layer + 1] > 0)
        kernel_grad, bias_grad = values[layer].T @ grad, grad.sum(axis=0)
        grad = grad @ weights[2 * layer].astype(np.float64).T
        updated[2 * layer] -= learning_rate * kernel_grad
        updated[2 * layer + 1] -= learning_rate * bias_grad
    return updated


def test_the_selected_path_is_reported_and_unknown_names_are_refused(kernel_restored):
    assert "eigen" in KERNELS
    for name in KERNELS:
        _core.set_product_kernel(name)
        assert _core.product_kernel().startswith(name + " (")
    with pytest.raises(ValueError, match="FASTDENSE_KERNEL.*'mkl'"):
        _core.set_product_kernel("mkl")


def _import_with_kernel(value):
    package_parent = os.path.dirname(os.path.dirname(K.__file__))
    env = dict(os.environ, FASTDENSE_KERNEL=value,
               PYTHONPATH=package_parent + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", "import fastdense; print(fastdense._core.product_kernel())"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=package_parent)


def test_the_environment_variable_selects_the_path_at_import():
    for name in KERNELS:
        result = _import_with_kernel(name)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().startswith(name + " (")
    refused = _import_with_kernel("mkl")
    assert refused.returncode != 0
    assert "unknown or unavailable matrix-product kernel 'mkl'" in refused.stderr


# Batch 256 forks the products into row slabs (over a million multiply-adds); 8 rows into a
# 2048-wide layer forks them into column slabs; batch 3 keeps every product on one thread; batch
# 32 of 48-64-24-10 gives the small products that the openblas path runs on the AVX2 kernel (all
# but the 10-wide layer's, MatrixProduct.h kOpenBLASSlabWork).
@pytest.mark.parametrize("sizes, rows", [([64, 128, 96, 10], 256), ([128, 2048, 4], 8), ([20, 48, 5], 3),
                                         ([48, 64, 24, 10], 32)])
@pytest.mark.parametrize("kernel", KERNELS)
def test_predict_and_a_training_step_match_numpy_on_each_path(kernel, sizes, rows, kernel_restored):
    _core.set_product_kernel(kernel)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, sizes[0])).astype(np.float32)
    y = rng.normal(size=(rows, sizes[-1])).astype(np.float32)
    model, weights = relu_mlp(sizes)
    np.testing.assert_allclose(model.predict(x, batch_size=rows, verbose=0), numpy_forward(weights, x)[-1],
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(model(x)), numpy_forward(weights, x)[-1], rtol=1e-4, atol=1e-4)
    model.compile(optimizer=K.optimizers.SGD(0.05), loss="mean_squared_error")
    model.train_on_batch(x, y)
    for got, expected in zip(model.get_weights(), numpy_sgd_step(weights, x, y, 0.05)):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not {"openblas", "avx2"} <= set(KERNELS), reason="needs the openblas and avx2 paths")
def test_the_openblas_path_runs_small_products_on_the_avx2_kernel(kernel_restored):
    # MatrixProduct.h kOpenBLASSlabWork: a slab under 2^20 multiply-adds, at least 16 columns wide
    # and 16 deep, runs on fastdense's AVX2 kernel (bias and relu in its stores), so its bits are
    # the avx2 path's; a product above the bar goes to OpenBLAS and still matches NumPy.
    rng = np.random.default_rng(4)
    small, large = rng.normal(size=(32, 48)).astype(np.float32), rng.normal(size=(512, 48)).astype(np.float32)
    model, weights = relu_mlp([48, 256, 32])
    outputs = {}
    for kernel in ("openblas", "avx2"):
        _core.set_product_kernel(kernel)
        outputs[kernel] = model.predict(small, batch_size=32, verbose=0), model.predict(large, batch_size=512, verbose=0)
    np.testing.assert_array_equal(outputs["openblas"][0], outputs["avx2"][0])
    np.testing.assert_allclose(outputs["openblas"][1], numpy_forward(weights, large)[-1], rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(len(KERNELS) < 2, reason="this build has one matrix-product path")
def test_every_path_trains_the_same_model_alike(kernel_restored):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(512, 784)).astype(np.float32)
    y = rng.integers(0, 10, 512)
    results = {}
    for kernel in KERNELS:
        _core.set_product_kernel(kernel)
        model, _ = relu_mlp([784, 256, 256, 10])
        model.compile(optimizer=K.optimizers.Adam(1e-3),
                      loss=K.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(x, y, batch_size=128, epochs=2, shuffle=False, verbose=0)
        results[kernel] = (history.history["loss"], model.get_weights(), model.predict(x, verbose=0))
    (first_loss, first_weights, first_prediction), *others = results.values()
    for loss, weights, prediction in others:
        np.testing.assert_allclose(loss, first_loss, rtol=1e-4)
        for got, expected in zip(weights, first_weights):
            np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(prediction, first_prediction, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("rows, sizes", [(3, [20, 48]), (8, [128, 2048]), (256, [64, 128]), (32, [10, 1])])
@pytest.mark.parametrize("kernel", KERNELS)
def test_bias_and_relu_in_the_products_stores_give_the_bits_of_a_separate_pass(kernel, rows, sizes,
                                                                              kernel_restored):
    # A Dense layer with a relu (or no activation) adds its bias and applies max(0, .) as its product
    # writes the output (MatrixProduct.h's BiasRelu): in the AVX-512 kernel's stores, in a pass over
    # each slab elsewhere. The same weights without an activation give z on the same product path;
    # relu(z) must be exactly z where z >= 0 or NaN, +0 below (tf.nn.relu, Eigen's max(0)).
    _core.set_product_kernel(kernel)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(rows, sizes[0])).astype(np.float32)
    x[0, :] = 0.0  # z = b exactly
    x[1 % rows, 0] = np.inf  # infinite z of either sign, and NaN (inf - inf) where the row has both
    x[2 % rows, :2] = [np.inf, -np.inf]
    kernel_weights = rng.normal(size=sizes).astype(np.float32)
    bias = rng.normal(size=sizes[1]).astype(np.float32)
    bias[: sizes[1] // 2] = -0.0
    outputs = {}
    for activation in (None, "relu"):
        layer = K.layers.Dense(sizes[1], activation=activation)
        model = K.Sequential([K.Input((sizes[0],)), layer])
        model.set_weights([kernel_weights, bias])
        outputs[activation] = (model.predict(x, batch_size=rows, verbose=0), np.asarray(model(x)))
    for z, y in zip(outputs[None], outputs["relu"]):
        expected = np.where(z < 0, np.float32(0), z)
        assert np.isnan(z).any() and np.isinf(z).any() and (z < 0).any()
        np.testing.assert_array_equal(y.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("kernel", KERNELS)
def test_predict_gives_each_row_the_same_numbers_whatever_the_batch_size(kernel, kernel_restored):
    # On the openblas path a thread runs at least 256 rows at a time (MatrixProduct.h,
    # kOpenBLASPredictRows), more than batch_size=32 or 128: the rows agree with NumPy and with a
    # call of one batch to float32 rounding on every path.
    _core.set_product_kernel(kernel)
    model, weights = relu_mlp([784, 256, 256, 10], seed=3)
    x = np.random.default_rng(4).normal(size=(1100, 784)).astype(np.float32)
    expected = numpy_forward(weights, x)[-1]
    whole = model.predict(x, batch_size=len(x), verbose=0)
    np.testing.assert_allclose(whole, expected, rtol=1e-4, atol=1e-4)
    for batch_size in (1, 32, 128, 300):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size, verbose=0), whole, rtol=1e-5, atol=1e-5)


def test_a_layer_that_reads_its_whole_batch_is_given_batch_size_rows_in_predict(kernel_restored):
    # The larger chunks of the openblas path are for networks whose layers all infer row by row:
    # a Lambda that centres its batch still gets the batches Keras gives it.
    seen = []

    def centre(x):
        seen.append(x.shape[0])
        return x - K.ops.mean(x, axis=0)

    inputs = K.Input((20,))
    hidden = K.layers.Dense(300, activation="relu")(inputs)
    model = K.Model(inputs, K.layers.Dense(3)(K.layers.Lambda(centre)(hidden)))
    x = np.random.default_rng(5).normal(size=(600, 20)).astype(np.float32)
    for kernel in KERNELS:
        _core.set_product_kernel(kernel)
        seen.clear()
        model.predict(x, batch_size=32, verbose=0)
        assert max(seen) == 32 and seen.count(32) == 600 // 32, (kernel, seen)
