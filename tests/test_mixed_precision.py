"""Mixed bfloat16 with Keras's semantics: policies (global and per layer), float32 variables and
optimizer state, bfloat16 Dense products with float32 sums, configs and files shared with tf.keras."""

import numpy as np
import pytest

import fastdense
from fastdense import _core, layers, mixed_precision, models
from fastdense.dtype_policies import DTypePolicy


@pytest.fixture
def global_mixed():
    mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    mixed_precision.set_global_policy(None)


def bf16(x):
    return _core.round_to_bfloat16(np.asarray(x, np.float32)).astype(np.float64)


def mlp(dtype=None, seed=0, widths=(32, 16), inputs=20, outputs=3, final_dtype=None):
    fastdense.utils.set_random_seed(seed)
    stack = [layers.Input((inputs,))]
    stack += [layers.Dense(w, activation="relu", dtype=dtype) for w in widths]
    stack.append(layers.Dense(outputs, activation="softmax", dtype=final_dtype or dtype))
    return models.Sequential(stack)


def test_policy_names_and_dtypes():
    policy = mixed_precision.Policy("mixed_bfloat16")
    assert mixed_precision.DTypePolicy is mixed_precision.Policy
    assert (policy.name, policy.compute_dtype, policy.variable_dtype) == ("mixed_bfloat16", "bfloat16", "float32")
    assert repr(policy) == '<DTypePolicy "mixed_bfloat16">'
    assert mixed_precision.global_policy().name == "float32"
    assert DTypePolicy("float64").compute_dtype == "float64"


@pytest.mark.parametrize("name", ["mixed_float16", "float16", "bfloat16"])
def test_float16_and_pure_bfloat16_are_refused_clearly(name):
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        mixed_precision.set_global_policy(name)
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        layers.Dense(3, dtype=name)
    assert mixed_precision.global_policy().name == "float32"


def test_global_policy_applies_to_new_layers(global_mixed):
    assert mixed_precision.global_policy().name == "mixed_bfloat16"
    dense = layers.Dense(4)
    explicit = layers.Dense(4, dtype="float32")
    assert (dense.compute_dtype, dense.variable_dtype, dense.dtype) == ("bfloat16", "float32", "float32")
    assert dense.dtype_policy.name == "mixed_bfloat16"
    assert explicit.compute_dtype == "float32"


def test_variables_and_optimizer_state_stay_float32():
    model = mlp("mixed_bfloat16")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((64, 20)), rng.integers(0, 3, 64), epochs=1, verbose=0)
    assert all(v.value.dtype == np.float32 for v in model.weights)
    assert all(np.asarray(v).dtype == np.float32 for v in model.optimizer.variables[1:])
    assert model.layers[0].dtype_policy.name == "mixed_bfloat16"


def test_native_dense_multiplies_bfloat16_operands_with_float32_sums():
    model = mlp("mixed_bfloat16", widths=(), outputs=70, inputs=300)
    dense = model.layers[-1]
    x = np.random.default_rng(1).standard_normal((37, 300)).astype(np.float32)
    logits = bf16(x) @ bf16(dense.kernel.value) + dense.bias.value
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)
    # The float32 product is measurably different: the policy is not ignored.
    float_logits = x.astype(np.float64) @ dense.kernel.value + dense.bias.value
    assert np.abs(float_logits - logits).max() > 1e-4
    # An eager call runs the same product.
    np.testing.assert_allclose(dense(x), expected, rtol=1e-4, atol=1e-6)


def test_gradients_use_bfloat16_products_and_stay_close_to_float32():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((256, 20)).astype(np.float32), rng.integers(0, 3, 256)
    histories = {}
    for dtype in ("float32", "mixed_bfloat16"):
        model = mlp(dtype, seed=3)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        histories[dtype] = model.fit(x, y, epochs=5, batch_size=32, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(histories["mixed_bfloat16"], histories["float32"], rtol=2e-2)
    assert histories["mixed_bfloat16"] != histories["float32"]


def test_config_round_trip_and_per_layer_policy():
    model = mlp("mixed_bfloat16", final_dtype="float32")
    config = model.layers[0].get_config()
    assert config["dtype"] == {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"},
                               "registered_name": None}
    clone = models.Sequential.from_config(model.get_config())
    assert [layer.dtype_policy.name for layer in clone.layers] == ["mixed_bfloat16", "mixed_bfloat16", "float32"]


def test_tf_keras_mixed_bfloat16_parity(keras, tmp_path):
    """Same weights, same inputs: fastdense's outputs are tf.keras's within bfloat16 rounding."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 20)).astype(np.float32)
    ours = mlp("mixed_bfloat16", widths=(64, 32), final_dtype="float32")
    theirs = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64, activation="relu", dtype="mixed_bfloat16"),
                               keras.layers.Dense(32, activation="relu", dtype="mixed_bfloat16"),
                               keras.layers.Dense(3, activation="softmax", dtype="float32")])
    theirs.set_weights(ours.get_weights())
    expected = np.asarray(theirs.predict(x, verbose=0), np.float32)
    got = ours.predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, atol=2e-2)
    # And the float32 model is farther from tf.keras's mixed outputs than bfloat16 rounding explains
    # only when the policy is ignored; here fastdense is closer to tf.keras-mixed than to float32.
    float_model = mlp("float32", widths=(64, 32))
    float_model.set_weights(ours.get_weights())
    assert np.abs(got - expected).mean() < np.abs(float_model.predict(x, verbose=0) - expected).mean() * 1.5

    # Files carry the policy both ways.
    path = str(tmp_path / "mixed.keras")
    ours.save(path)
    loaded = keras.saving.load_model(path)
    assert [layer.dtype_policy.name for layer in loaded.layers] == ["mixed_bfloat16", "mixed_bfloat16", "float32"]
    path_back = str(tmp_path / "from_keras.keras")
    theirs.save(path_back)
    back = fastdense.models.load_model(path_back)
    assert [layer.compute_dtype for layer in back.layers] == ["bfloat16", "bfloat16", "float32"]
    np.testing.assert_allclose(back.predict(x, verbose=0), got, atol=1e-6)


@pytest.mark.parametrize("path", fastdense.backend.reduced_precision()["bfloat16_paths"])
def test_every_bfloat16_path_trains_and_predicts_alike(path):
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((96, 20)).astype(np.float32), rng.integers(0, 3, 96)
    reference = mlp("mixed_bfloat16", seed=7)
    model = mlp("mixed_bfloat16", seed=7)
    model.set_weights(reference.get_weights())
    for m in (reference, model):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    reference.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False)
    try:
        fastdense.backend.set_reduced_precision_path(path)
        assert fastdense.backend.reduced_precision()["bfloat16"] == path
        model.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False)
        got = model.predict(x, verbose=0)
    finally:
        fastdense.backend.set_reduced_precision_path(None)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, reference.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel", [k for k in ("avx512", "avx2", "openblas") if k in fastdense._core.product_kernels()])
def test_emulated_path_at_sizes_that_fork_rounds_like_the_best_path(kernel, kernel_restored):
    # 300-200-150 at batch 256 is large enough for the float32 step's parallel regions, which the
    # emulated path runs with its operands rounded: in fastdense's own kernels' packing, or
    # into copies on OpenBLAS's products. After a few steps the weights match the CPU's own bf16
    # path to float32 summation order and are measurably not the float32 model's; so do the
    # predictions of a call whose threads each run several chunks.
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((512, 300)).astype(np.float32), rng.integers(0, 3, 512)
    fastdense._core.set_product_kernel(kernel)
    weights, predictions = {}, {}
    for name, dtype, path in (("best", "mixed_bfloat16", None), ("emulated", "mixed_bfloat16", "emulated"),
                              ("float32", None, None)):
        model = mlp(dtype, seed=9, widths=(200, 150), inputs=300, outputs=3)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        try:
            fastdense.backend.set_reduced_precision_path(path)
            model.fit(x, y, epochs=2, batch_size=256, verbose=0, shuffle=False)
            weights[name] = np.concatenate([w.ravel() for w in model.get_weights()])
            predictions[name] = model.predict(np.tile(x, (4, 1)), batch_size=128, verbose=0)
        finally:
            fastdense.backend.set_reduced_precision_path(None)
    apart = np.abs(weights["emulated"] - weights["best"]).max()
    assert apart < 1e-3 and np.abs(weights["emulated"] - weights["float32"]).max() > 5 * apart
    np.testing.assert_allclose(predictions["emulated"], predictions["best"], atol=2e-3)


@pytest.mark.parametrize("kernel", [k for k in ("avx512", "avx2", "openblas") if k in fastdense._core.product_kernels()])
def test_switching_the_bf16_path_inside_a_step_keeps_that_steps_operands(kernel, kernel_restored):
    # A custom loss runs between each step's forward and backward; this one switches the bf16 path
    # every time (emulated, then the CPU's own, ...). Each step's backward must read what its own
    # forward made (on OpenBLAS, the emulated forward's rounded copies of x and W): the training
    # stays finite and close to one that never switched.
    from fastdense import ops

    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((768, 300)).astype(np.float32), rng.integers(0, 3, 768)
    targets = np.eye(3, dtype=np.float32)[y]
    fastdense._core.set_product_kernel(kernel)
    calls = {"n": 0}

    def switching_loss(y_true, y_pred):
        calls["n"] += 1
        fastdense.backend.set_reduced_precision_path("emulated" if calls["n"] % 2 else None)
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    def plain_loss(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    weights = {}
    for name, loss in (("switching", switching_loss), ("plain", plain_loss)):
        model = mlp("mixed_bfloat16", seed=11, widths=(200, 150), inputs=300)
        model.compile(optimizer="adam", loss=loss)
        try:
            model.fit(x, targets, epochs=2, batch_size=256, verbose=0, shuffle=False)
        finally:
            fastdense.backend.set_reduced_precision_path(None)
        weights[name] = np.concatenate([w.ravel() for w in model.get_weights()])
    assert calls["n"] >= 6 and np.all(np.isfinite(weights["switching"]))
    np.testing.assert_allclose(weights["switching"], weights["plain"], atol=1e-3)


@pytest.mark.parametrize("units, batch", [(70, 37), (300, 8), (16, 5)])
def test_bfloat16_bias_gradient_is_the_column_sum_of_the_output_gradient(units, batch):
    """The bf16 step sums dL/dz over rows in blocks of columns, with a tail narrower than a vector."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((batch, 24)).astype(np.float32)
    target = rng.standard_normal((batch, units)).astype(np.float32)
    fastdense.utils.set_random_seed(9)
    model = models.Sequential([layers.Input((24,)), layers.Dense(units, dtype="mixed_bfloat16",
                                                                bias_initializer="random_normal")])
    model.compile(optimizer=fastdense.optimizers.SGD(1.0), loss="mse")
    outputs = model.predict(x, verbose=0).astype(np.float64)
    bias = model.get_weights()[1].astype(np.float64)
    model.train_on_batch(x, target)
    # mse averages over units and rows: dL/dz = 2 (z - t) / (rows * units); one SGD step at rate 1.
    expected = bias - (2.0 * (outputs - target) / (batch * units)).sum(axis=0)
    np.testing.assert_allclose(model.get_weights()[1], expected, rtol=1e-5, atol=1e-7)
