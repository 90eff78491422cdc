"""model.quantize("int8") with Keras 3.15's scheme and variable layout; predict runs the native
int8 products on every path this CPU has; files move between fastdense and tf.keras."""

import json
import threading
import zipfile
from concurrent import futures

import numpy as np
import pytest

import fastdense
from fastdense import backend, layers, models


def mlp(seed=0, inputs=30, widths=(64, 40), outputs=5, final_activation=None):
    fastdense.utils.set_random_seed(seed)
    stack = [layers.Input((inputs,))] + [layers.Dense(w, activation="relu") for w in widths]
    return models.Sequential(stack + [layers.Dense(outputs, activation=final_activation)])


def keras_int8_reference(x, kernel, bias, activation=lambda z: z):
    """keras/src/layers/core/dense.py _int8_call + quantizers.abs_max_quantize, in NumPy."""
    k_scale = 127.0 / (np.abs(kernel).max(axis=0, keepdims=True) + 1e-7)
    k_q = np.clip(np.round(kernel * k_scale), -127, 127)
    x_scale = np.float32(127.0) / (np.abs(x).max(axis=-1, keepdims=True) + np.float32(1e-7))
    x_q = np.clip(np.round(x * x_scale), -127, 127)
    return activation((x_q @ k_q) / (x_scale * k_scale) + bias)


def test_quantize_replaces_the_kernel_with_int8_values_and_scales():
    model = mlp()
    kernel = model.layers[0].kernel.numpy()
    model.quantize("int8")
    dense = model.layers[0]
    assert dense.dtype_policy.name == "int8_from_float32" and dense.quantization_mode == "int8"
    assert dense.kernel.dtype == "int8" and not dense.kernel.trainable
    assert dense.kernel_scale.shape == (64,) and dense.kernel_scale.dtype == "float32"
    scale = 127.0 / (np.abs(kernel).max(axis=0) + 1e-7)
    np.testing.assert_allclose(dense.kernel_scale.value, scale, rtol=1e-6)
    np.testing.assert_array_equal(dense.kernel.value, np.clip(np.round(kernel * scale), -127, 127))
    assert [w.name for w in dense.weights] == ["bias", "kernel", "kernel_scale"]  # Keras's order
    assert [w.name for w in dense.trainable_weights] == ["bias"]


@pytest.mark.parametrize("path", backend.reduced_precision()["int8_paths"])
def test_predict_matches_keras_int8_formula_on_every_path(path):
    model = mlp(final_activation="softmax")
    float_weights = model.get_weights()
    model.quantize("int8")
    x = np.random.default_rng(1).standard_normal((67, 30)).astype(np.float32)
    expected = x
    for i, (kernel, bias) in enumerate(zip(float_weights[::2], float_weights[1::2])):
        act = (lambda z: np.maximum(z, 0)) if i < 2 else (lambda z: np.exp(z) / np.exp(z).sum(1, keepdims=True))
        expected = keras_int8_reference(expected, kernel, bias, act).astype(np.float32)
    try:
        backend.set_reduced_precision_path(path if path != "portable" else "emulated")
        assert backend.reduced_precision()["int8"] == path
        got = model.predict(x, verbose=0)
        eager = np.asarray(model(x))
    finally:
        backend.set_reduced_precision_path(None)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eager, expected, rtol=1e-5, atol=1e-6)


def test_activations_outside_the_products_epilogue_and_layers_without_bias_match_keras_formula():
    # The product's epilogue applies the bias and a plain relu per block; leaky_relu and relu6 run
    # afterwards over whole rows (activations NumPy computes to the same bits: an ulp of difference
    # can move an input of the next layer across a rounding boundary of its quantization). 2,000 rows evaluated in one batch make the products fork.
    fastdense.utils.set_random_seed(5)
    model = models.Sequential([layers.Input((30,)), layers.Dense(48, activation="leaky_relu", use_bias=False),
                               layers.Dense(40, activation="relu6"), layers.Dense(37, use_bias=False)])
    kernels = [layer.kernel.numpy() for layer in model.layers]
    biases = [np.zeros(48, np.float32), model.layers[1].bias.numpy(), np.zeros(37, np.float32)]
    model.quantize("int8")
    x = np.random.default_rng(6).standard_normal((2000, 30)).astype(np.float32)
    expected = x
    for kernel, bias, act in zip(kernels, biases, (lambda z: np.where(z > 0, z, np.float32(0.2) * z), lambda z: np.clip(z, 0, 6), lambda z: z)):
        expected = keras_int8_reference(expected, kernel, bias, act).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.compile(loss="mse")
    target = np.zeros_like(expected)
    loss = model.evaluate(x, target, batch_size=len(x), verbose=0)
    np.testing.assert_allclose(loss, np.mean(expected.astype(np.float64) ** 2), rtol=1e-4)


@pytest.mark.parametrize("depth", [30, 200, 1100])
@pytest.mark.parametrize("activation,use_bias", [("relu", True), (None, True), ("tanh", False), ("relu", False)])
def test_block_epilogues_spread_over_the_next_blocks_steps_match_keras_formula(depth, activation, use_bias):
    # On AMX a block's epilogue (dequantize, bias, relu) runs during the next block: whole after its
    # last depth step when it has fewer than 16 (depths 30 and 200: 1 and 4 steps), a few rows at a
    # time between its steps from 16 on (1100: 18 steps); with rows and units not multiples of 16 or
    # 32, one row, and one more row than a batch of 1024.
    fastdense.utils.set_random_seed(depth)
    model = models.Sequential([layers.Input((depth,)), layers.Dense(45, activation=activation, use_bias=use_bias),
                               layers.Dense(77, activation=activation, use_bias=use_bias)])
    if use_bias:
        rng = np.random.default_rng(depth)
        model.set_weights([w if w.ndim == 2 else rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()])
    weights = model.get_weights()
    kernels = weights[0::2] if use_bias else weights
    biases = weights[1::2] if use_bias else [np.zeros(45, np.float32), np.zeros(77, np.float32)]
    act = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, None: lambda z: z}[activation]
    model.quantize("int8")
    x = np.random.default_rng(depth + 1).standard_normal((1025, depth)).astype(np.float32)
    expected = x
    for kernel, bias in zip(kernels, biases):
        expected = keras_int8_reference(expected, kernel, bias, act).astype(np.float32)
    tolerance = dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, batch_size=1024, verbose=0), expected, **tolerance)
    np.testing.assert_allclose(model.predict(x[:1], verbose=0), expected[:1], **tolerance)
    np.testing.assert_allclose(np.asarray(model(x[:33])), expected[:33], **tolerance)


def test_assigning_the_int8_weights_after_a_predict_is_seen_by_the_next_one(tmp_path):
    # The native layer packs the int8 kernel (and copies its scales) once: set_weights, load_weights
    # and a variable's assign must make the next call build it again from the new values.
    def quantized(seed):
        model = mlp(seed=seed)
        model.quantize("int8")
        return model

    x = np.random.default_rng(2).standard_normal((300, 30)).astype(np.float32)
    source = quantized(1)
    expected = source.predict(x, verbose=0)
    model = quantized(0)
    before = model.predict(x, verbose=0)
    assert not np.allclose(before, expected)
    model.set_weights(source.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)

    model = quantized(0)
    model.predict(x, verbose=0)
    source.save_weights(tmp_path / "source.weights.h5")
    model.load_weights(tmp_path / "source.weights.h5")
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)

    outer = models.Sequential([layers.Input((30,)), quantized(0)])  # the quantized layers one level down
    np.testing.assert_array_equal(outer.predict(x, verbose=0), before)
    for layer, layer_source in zip(outer.layers[0].layers, source.layers):
        layer.kernel.assign(layer_source.kernel.numpy())
        layer.kernel_scale.assign(layer_source.kernel_scale.numpy())
        layer.bias.assign(layer_source.bias.numpy())
    np.testing.assert_array_equal(outer.predict(x, verbose=0), expected)


def test_bias_gradients_through_relu_layers_match_numpy_also_after_a_predict():
    # predict skips the pre-activation of relu layers (only training's backward reads it): a
    # training step, also right after a predict call, must compute it and see the right relu masks.
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((96, 30)).astype(np.float32), rng.standard_normal((96, 5)).astype(np.float32)
    model = mlp()
    model.quantize("int8")
    kernels = [layer.kernel.numpy().astype(np.float32) / layer.kernel_scale.numpy() for layer in model.layers]
    biases = [layer.bias.numpy() for layer in model.layers]
    pre, h = [], x  # the int8 forward pass in NumPy, keeping each layer's pre-activation
    for layer, bias in zip(model.layers, biases):
        x_scale = np.float32(127.0) / (np.abs(h).max(axis=-1, keepdims=True) + np.float32(1e-7))
        h_q = np.clip(np.round(h * x_scale), -127, 127)
        pre.append(((h_q @ layer.kernel.numpy().astype(np.float32)) / (x_scale * layer.kernel_scale.numpy()) + bias)
                   .astype(np.float32))
        h = np.maximum(pre[-1], 0) if len(pre) < 3 else pre[-1]
    grad = 2.0 * (h - y) / y.size  # mse's gradient, back through the dequantized kernels and relu masks
    expected = [None] * 3
    for i in (2, 1, 0):
        expected[i] = biases[i] - 0.01 * grad.sum(0)
        grad = (grad @ kernels[i].T) * (pre[i - 1] > 0) if i else None
    model.compile(optimizer=fastdense.optimizers.SGD(0.01), loss="mse")
    model.predict(-3.0 * x[::-1], verbose=0)
    model.train_on_batch(x, y)
    for layer, want in zip(model.layers, expected):
        np.testing.assert_allclose(layer.bias.numpy(), want, rtol=1e-5, atol=1e-6)


def test_concurrent_predictions_share_the_packed_kernel_safely():
    # Each predict call runs on its own copy of the layers, which share the packed int8 kernel.
    model = mlp(widths=(300, 200))
    model.quantize("int8")
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal((rows, 30)).astype(np.float32) for rows in (1, 33, 257, 64)]
    serial = [model.predict(x, verbose=0) for x in xs]
    start = threading.Barrier(4)

    def worker(k):
        start.wait()
        return [(i, model.predict(xs[i], verbose=0)) for r in range(3) for i in range(len(xs)) if (i + r) % 4 == k]

    with futures.ThreadPoolExecutor(4) as pool:
        results = [item for part in pool.map(worker, range(4)) for item in part]
    assert len(results) == 3 * len(xs)
    assert [i for i, out in results if not np.array_equal(out, serial[i])] == []


def test_int8_outputs_stay_close_to_float32():
    model = mlp()
    x = np.random.default_rng(2).standard_normal((256, 30)).astype(np.float32)
    before = model.predict(x, verbose=0)
    model.quantize("int8")
    after = model.predict(x, verbose=0)
    assert 0 < np.abs(after - before).max() < 0.05 * np.abs(before).max()


def test_quantized_model_evaluates_and_fine_tunes_its_biases():
    model = mlp()
    model.quantize("int8")
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((64, 30)).astype(np.float32), rng.standard_normal((64, 5)).astype(np.float32)
    kernel = model.layers[0].kernel.numpy()
    loss_before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, verbose=0)
    assert model.evaluate(x, y, verbose=0) < loss_before
    np.testing.assert_array_equal(model.layers[0].kernel.value, kernel)


def test_quantize_arguments_are_checked():
    model = mlp()
    with pytest.raises(NotImplementedError, match="int8"):
        model.quantize("int4")
    with pytest.raises(ValueError, match="built"):
        models.Sequential([layers.Dense(3)]).quantize("int8")
    model.quantize("int8", filters=[model.layers[1].name + "$"])
    assert [layer.quantization_mode for layer in model.layers] == [None, "int8", None]
    with pytest.raises(ValueError, match="already quantized"):
        model.layers[1].quantize("int8")


def test_config_and_files_round_trip(tmp_path):
    model = mlp()
    model.quantize("int8")
    x = np.random.default_rng(4).standard_normal((9, 30)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    config = model.layers[0].get_config()
    assert config["dtype"] == {"module": "keras.dtype_policies", "class_name": "QuantizedDTypePolicy",
                               "config": {"mode": "int8", "source_name": "float32"}, "registered_name": None}
    assert config["quantization_config"]["class_name"] == "Int8QuantizationConfig"
    path = str(tmp_path / "q.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert "model.weights.h5" in archive.namelist()
        assert json.loads(archive.read("config.json"))["config"]["layers"][1]["config"]["dtype"]["class_name"] == \
            "QuantizedDTypePolicy"
    loaded = models.load_model(path)
    assert loaded.layers[0].kernel.dtype == "int8"
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    weights = str(tmp_path / "q.weights.h5")
    model.save_weights(weights)
    clone = models.Sequential.from_config(model.get_config())
    clone.load_weights(weights)
    np.testing.assert_array_equal(clone.predict(x, verbose=0), expected)


def test_tf_keras_int8_parity_and_files_both_ways(keras, tmp_path):
    ours = mlp(final_activation="softmax")
    theirs = keras.Sequential([keras.Input((30,)), keras.layers.Dense(64, activation="relu"),
                               keras.layers.Dense(40, activation="relu"), keras.layers.Dense(5, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    ours.quantize("int8")
    theirs.quantize("int8")
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(5).standard_normal((50, 30)).astype(np.float32)
    expected = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)

    ours_path, theirs_path = str(tmp_path / "ours.keras"), str(tmp_path / "theirs.keras")
    ours.save(ours_path)
    theirs.save(theirs_path)
    np.testing.assert_allclose(keras.saving.load_model(ours_path).predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    loaded = models.load_model(theirs_path)
    assert loaded.layers[0].dtype_policy.name == "int8_from_float32"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def exact_int8_reference(x, dense):
    """Keras's int8 Dense with the int32 sums computed exactly (int64), then Keras's float32 steps
    (the bias added in the layer's dtype)."""
    kernel, bias = dense.kernel.numpy().astype(np.int64), dense.bias.numpy()
    k_scale = dense.kernel_scale.numpy().astype(np.float32)
    x = x.astype(np.float32)
    x_scale = np.float32(127.0) / (np.abs(x).max(axis=-1, keepdims=True) + np.float32(1e-7))
    x_q = np.clip(np.round(x * x_scale), -127, 127).astype(np.int64)
    sums = (x_q @ kernel).astype(np.float32)
    return (sums / (k_scale * x_scale)).astype(bias.dtype) + bias


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_portable_path_multiplies_the_integers_in_floats_exactly(dtype):
    # Without AMX or VNNI the integers go through the float product; float32 sums of integer
    # products are exact below 2^24, which 1,000 inputs never leave (127^2 * 1000 < 2^24), and
    # float64 sums far beyond: the outputs equal the exact int32 product's bit for bit.
    fastdense.utils.set_random_seed(3)
    backend.set_reduced_precision_path("emulated")
    try:
        assert backend.reduced_precision()["int8"] == "portable"
        depth = 1000 if dtype == "float32" else 3000
        model = models.Sequential([layers.Input((depth,), dtype=dtype), layers.Dense(70, dtype=dtype)])
        model.quantize("int8")
        x = np.random.default_rng(4).standard_normal((300, depth)).astype(dtype)
        x[:, :] = np.where(np.arange(300)[:, None] % 2 == 0, np.abs(x), x)  # half the rows all positive
        got = model.predict(x, verbose=0)
        one = np.asarray(model(x[:1]))
    finally:
        backend.set_reduced_precision_path(None)
    expected = exact_int8_reference(x, model.layers[0])
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(one, expected[:1])


def test_portable_path_stays_within_float32_rounding_when_sums_pass_2_to_the_24():
    # 3,000 same-signed maximal products sum to 48M > 2^24: float32 rounds the partial sums, by at
    # most 3,000 ulps of the largest, far inside the int8 scheme's own error.
    fastdense.utils.set_random_seed(5)
    backend.set_reduced_precision_path("emulated")
    try:
        model = models.Sequential([layers.Input((3000,)), layers.Dense(40, activation="relu")])
        model.set_weights([np.abs(model.get_weights()[0]) + 0.5, np.zeros(40, np.float32)])
        model.quantize("int8")
        x = np.abs(np.random.default_rng(6).standard_normal((50, 3000)).astype(np.float32)) + 2.0
        got = model.predict(x, verbose=0)
    finally:
        backend.set_reduced_precision_path(None)
    expected = np.maximum(exact_int8_reference(x, model.layers[0]), 0)
    np.testing.assert_allclose(got, expected, rtol=2e-5)


def test_float64_model_quantizes_too():
    fastdense.utils.set_random_seed(8)
    model = models.Sequential([layers.Input((12,), dtype="float64"), layers.Dense(9, activation="relu", dtype="float64"),
                               layers.Dense(4, dtype="float64")])
    weights = model.get_weights()
    model.quantize("int8")
    assert model.layers[0].dtype_policy.name == "int8_from_float64"
    x = np.random.default_rng(9).standard_normal((21, 12))
    hidden = keras_int8_reference(x.astype(np.float32), weights[0], weights[1], lambda z: np.maximum(z, 0))
    expected = keras_int8_reference(hidden.astype(np.float32), weights[2], weights[3])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_onnx_export_refuses_a_quantized_model(tmp_path):
    pytest.importorskip("onnx")
    model = mlp()
    model.quantize("int8")
    with pytest.raises(NotImplementedError, match="quantize_dynamic"):
        model.export(str(tmp_path / "q.onnx"), format="onnx")
