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
