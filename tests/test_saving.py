"""Persistence without TensorFlow: round trips in every format, files written by Keras 3 and
Keras 2 (fixtures in tests/data/keras_files, made by tests/data/make_keras_files.py), configs,
custom objects, safe mode, atomic saves, damaged files, and resumed training."""

import glob
import json
import os
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import fastdense
from fastdense import layers, models, optimizers, regularizers
from fastdense.saving import register_keras_serializable

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "keras_files")
X = np.random.default_rng(1).random((10, 4)).astype("float32")
Y = np.random.default_rng(2).random((10, 1)).astype("float32")


def fixture(name):
    return os.path.join(FIXTURES, name)


def sequential_model(compiled=True, optimizer="adam"):
    model = models.Sequential([
        layers.Input((4,)),
        layers.Dense(5, activation="relu", kernel_regularizer=regularizers.L2(0.01),
                     activity_regularizer=regularizers.L1(0.001)),
        layers.Dropout(0.25),
        layers.Dense(1),
    ])
    if compiled:
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def functional_model(compiled=True):
    inputs = layers.Input((4,), name="x")
    shared = layers.Dense(4, activation="tanh", name="shared")
    a = shared(inputs)
    b = layers.Dense(4, name="b")(inputs)
    merged = layers.concatenate([layers.add([a, b]), shared(b)], name="cat")
    merged = layers.Dropout(0.1)(merged)
    model = models.Model(inputs, layers.Dense(1, name="out", bias_regularizer="l2")(merged), name="fun")
    if compiled:
        model.compile(optimizer=optimizers.SGD(0.01, momentum=0.9), loss="mean_squared_error")
    return model


def two_output_model():
    a = layers.Input((3,), name="a")
    b = layers.Input((2,), name="b")
    hidden = layers.Dense(4, activation="relu", name="hidden")(layers.concatenate([a, b]))
    model = models.Model({"a": a, "b": b}, [layers.Dense(1, name="y1")(hidden), layers.Dense(2, name="y2")(hidden)])
    model.compile("adam", loss=["mse", "mae"], loss_weights=[1.0, 0.5])
    return model


def trained(model, epochs=2):
    model.fit(X, Y, epochs=epochs, batch_size=4, shuffle=False, verbose=0)
    return model


def assert_same_weights(a, b, atol=0.0):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_allclose(x, y, rtol=0, atol=atol)


def without_names(config):
    """A config with the automatically generated names removed (they differ between runs)."""
    text = json.dumps(config)
    for key in ("name",):
        text = text.replace(f'"{key}"', f'"_{key}"')
    data = json.loads(text)

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "_name"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(data)


# ------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("suffix", [".keras", ".h5", ".hdf5"])
@pytest.mark.parametrize("build", [sequential_model, functional_model])
def test_full_model_round_trip(tmp_path, suffix, build):
    model = trained(build())
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = models.load_model(path)
    assert type(loaded) is type(model)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.get_config() == model.get_config()
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert loaded.compiled and loaded.optimizer.iterations == model.optimizer.iterations
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(saved, restored)
    assert loaded.evaluate(X, Y, verbose=0) == pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-6)


def test_multi_input_multi_output_round_trip(tmp_path):
    model = two_output_model()
    xs = {"a": X[:, :3], "b": X[:, 3:] * np.ones((1, 2), "float32")}
    model.fit(xs, [Y, np.hstack([Y, Y])], epochs=1, verbose=0)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        loaded = models.load_model(tmp_path / f"m{suffix}")
        assert loaded.input_names == ["a", "b"] and loaded.output_names == ["y1", "y2"]
        for got, expected in zip(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0)):
            np.testing.assert_array_equal(got, expected)
        assert loaded._compile_args["loss_weights"] == [1.0, 0.5]


def test_load_model_without_compile(tmp_path):
    model = trained(sequential_model())
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras", compile=False)
    assert not loaded.compiled and loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_uncompiled_model_saves_and_loads_uncompiled(tmp_path):
    model = sequential_model(compiled=False)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        assert not models.load_model(tmp_path / f"m{suffix}").compiled
    with h5py.File(tmp_path / "m.h5") as h5:
        assert "training_config" not in h5.attrs and "optimizer_weights" not in h5


def test_top_level_aliases(tmp_path):
    model = sequential_model()
    model.save(tmp_path / "m.keras")
    for load in (fastdense.load_model, fastdense.models.load_model, fastdense.saving.load_model):
        np.testing.assert_array_equal(load(tmp_path / "m.keras").predict(X, verbose=0), model.predict(X, verbose=0))
    for from_json in (fastdense.model_from_json, fastdense.models.model_from_json, fastdense.saving.model_from_json):
        assert from_json(model.to_json()).get_config() == model.get_config()
    fastdense.models.save_model(model, tmp_path / "n.h5")
    assert os.path.exists(tmp_path / "n.h5")
    assert fastdense.utils.register_keras_serializable is fastdense.saving.register_keras_serializable


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
@pytest.mark.parametrize("build", [sequential_model, functional_model])
def test_weights_round_trip(tmp_path, suffix, build):
    model = trained(build())
    model.save_weights(tmp_path / f"w{suffix}")
    fresh = build(compiled=False)
    before = fresh.predict(X, verbose=0)
    fresh.load_weights(tmp_path / f"w{suffix}")
    assert not np.array_equal(before, fresh.predict(X, verbose=0))
    assert_same_weights(model, fresh)


def test_weights_h5_layout_is_keras3(tmp_path):
    model = trained(functional_model())
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as h5:
        groups = sorted(h5["layers"])
        assert groups == ["add", "concatenate", "dense", "dense_1", "dense_2", "dropout", "input_layer"]
        assert h5["layers/dense/vars"].attrs["name"] == "shared"
        assert h5["layers/dense_2/vars"].attrs["name"] == "out"
        np.testing.assert_array_equal(h5["layers/dense_1/vars/0"][()], model.get_layer("b").kernel.numpy())
        assert h5["vars"].attrs["name"] == "fun"
        assert h5["optimizer/vars/0"][()] == model.optimizer.iterations
        assert len(h5["optimizer/vars"]) == len(model.optimizer.variables)


def test_legacy_h5_layout(tmp_path):
    model = trained(sequential_model())
    model.save(tmp_path / "m.h5")
    name = model.name
    with h5py.File(tmp_path / "m.h5") as h5:
        assert h5.attrs["backend"] == "tensorflow" and h5.attrs["keras_version"].startswith("3.")
        config = json.loads(h5.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert set(config["config"]["layers"][1]) == {"class_name", "config"}  # legacy layer entries
        training = json.loads(h5.attrs["training_config"])
        assert training["loss"] == "mean_squared_error" and training["metrics"] == ["mae"]
        assert training["optimizer_config"]["class_name"] == "Adam"
        weights = h5["model_weights"]
        assert [n.decode() for n in weights.attrs["layer_names"]] == [layer.name for layer in model.layers]
        dense = model.layers[0].name
        assert [n.decode() for n in weights[dense].attrs["weight_names"]] == \
            [f"{name}/{dense}/kernel", f"{name}/{dense}/bias"]
        np.testing.assert_array_equal(weights[f"{dense}/{name}/{dense}/kernel"][()], model.layers[0].kernel.numpy())
        assert len(weights[model.layers[1].name].attrs["weight_names"]) == 0
        assert "top_level_model_weights" in weights
        names = [n.decode() for n in h5["optimizer_weights"].attrs["weight_names"]]
        opt = model.optimizer.name
        assert names[:3] == [f"{opt}/iteration", f"{opt}/learning_rate", f"{opt}/{name}_{dense}_kernel_momentum"]


def test_keras_archive_layout(tmp_path):
    model = trained(sequential_model())
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert archive.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["keras_version"].startswith("3.") and "date_saved" in metadata
    assert (config["module"], config["class_name"], config["registered_name"]) == ("keras", "Sequential", None)
    assert config["build_config"] == {"input_shape": [None, 4]}
    compile_config = config["compile_config"]
    assert compile_config["optimizer"]["class_name"] == "Adam" and compile_config["loss"] == "mse"
    assert compile_config["metrics"] == ["mae"]
    dense = config["config"]["layers"][1]
    assert dense["module"] == "keras.layers" and dense["build_config"] == {"input_shape": [None, 4]}
    assert dense["config"]["kernel_regularizer"] == {"module": "keras.regularizers", "class_name": "L2",
                                                      "config": {"l2": 0.01}, "registered_name": None}


# ------------------------------------------------------------ configs in Keras's format
def test_functional_config_matches_keras3(tmp_path):
    """The config fastdense writes for the fixture's model equals the one Keras 3 wrote."""
    with open(fixture("k3_fun.json")) as f:
        keras_entry = json.load(f)
    loaded = models.model_from_json(json.dumps(keras_entry))
    ours = json.loads(loaded.to_json())
    assert ours["config"]["layers"] == keras_entry["config"]["layers"]
    assert ours["config"]["input_layers"] == keras_entry["config"]["input_layers"] == ["x", 0, 0]
    assert ours["config"]["output_layers"] == keras_entry["config"]["output_layers"]
    assert (ours["module"], ours["class_name"], ours["registered_name"]) == \
        ("keras.src.models.functional", "Functional", "Functional")


def test_config_round_trip_and_shared_layer_nodes():
    model = functional_model(compiled=False)
    config = model.get_config()
    shared = next(layer for layer in config["layers"] if layer["name"] == "shared")
    assert len(shared["inbound_nodes"]) == 2
    histories = [node["args"][0]["config"]["keras_history"] for node in shared["inbound_nodes"]]
    assert histories == [["x", 0, 0], ["b", 0, 0]]
    cat = next(layer for layer in config["layers"] if layer["name"] == "cat")
    refs = [ref["config"]["keras_history"] for ref in cat["inbound_nodes"][0]["args"][0]]
    assert refs[1] == ["shared", 1, 0]  # the shared layer's second call
    rebuilt = models.Model.from_config(config)
    assert rebuilt.get_config() == config
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(X, verbose=0), model.predict(X, verbose=0))


def test_sequential_from_config_and_unbuilt_sequential():
    model = sequential_model(compiled=False)
    rebuilt = models.Sequential.from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config()
    unbuilt = models.Sequential([layers.Dense(2), layers.Dense(1)])
    config = unbuilt.get_config()
    assert "build_input_shape" not in config and len(config["layers"]) == 2
    assert not models.Sequential.from_config(config).built
    with pytest.raises(ValueError, match="not been built"):
        unbuilt.save("/tmp/never_written.keras")


KERAS2_FUNCTIONAL_JSON = json.dumps({
    "class_name": "Model",
    "config": {
        "name": "model",
        "layers": [
            {"class_name": "InputLayer", "name": "a", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, 3], "dtype": "float32", "sparse": False, "name": "a"}},
            {"class_name": "InputLayer", "name": "b", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, 3], "dtype": "float32", "sparse": False, "name": "b"}},
            {"class_name": "Dense", "name": "d", "inbound_nodes": [[["a", 0, 0, {}]], [["b", 0, 0, {}]]],
             "config": {"name": "d", "trainable": True, "dtype": "float32", "units": 2, "activation": "relu",
                        "use_bias": True, "kernel_initializer": {"class_name": "VarianceScaling", "config": {
                            "scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}},
                        "bias_initializer": {"class_name": "Zeros", "config": {}},
                        "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}},
                        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": {
                            "class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}},
                        "bias_constraint": None}},
            {"class_name": "Subtract", "name": "diff", "inbound_nodes": [[["d", 0, 0, {}], ["d", 1, 0, {}]]],
             "config": {"name": "diff", "trainable": True, "dtype": "float32"}},
        ],
        "input_layers": [["a", 0, 0], ["b", 0, 0]],
        "output_layers": [["diff", 0, 0]],
    },
    "keras_version": "2.2.4",
    "backend": "tensorflow",
})


def test_keras2_config_forms():
    """Keras 2 JSON: batch_input_shape, string dtypes, list-style inbound nodes, a shared layer."""
    model = models.model_from_json(KERAS2_FUNCTIONAL_JSON)
    assert model.input_names == ["a", "b"] and len(model.get_layer("d")._inbound_nodes) == 2
    dense = model.get_layer("d")
    assert dense.kernel_regularizer.l2 == pytest.approx(0.01) and dense.kernel_constraint.max_value == 2
    a, b = X[:, :3], X[:, 1:]
    kernel, bias = dense.get_weights()
    expected = np.maximum(a @ kernel + bias, 0) - np.maximum(b @ kernel + bias, 0)
    np.testing.assert_allclose(model.predict([a, b], verbose=0), expected, atol=1e-6)


def test_keras2_sequential_list_config():
    config = {"class_name": "Sequential", "config": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [None, 4],
                                           "dtype": "float32", "activation": "linear"}}]}
    model = models.model_from_json(json.dumps(config))
    assert model.built and model.layers[0].units == 2


# ------------------------------------------------------------- files written by Keras
def legacy_arrays(path):
    """{layer name: [arrays in weight_names order]} read straight from a legacy HDF5 file."""
    with h5py.File(path) as h5:
        group = h5["model_weights"] if "model_weights" in h5 else h5
        result = {}
        for name in group.attrs["layer_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            weight_names = group[name].attrs["weight_names"]
            result[name] = [group[name][w.decode() if isinstance(w, bytes) else w][()] for w in weight_names]
        return result


def seq_reference(path):
    w = [a for arrays in legacy_arrays(path).values() for a in arrays]
    return np.maximum(X @ w[0] + w[1], 0) @ w[2] + w[3]


def fun_reference(path):
    w = legacy_arrays(path)
    d1 = X @ w["d1"][0] + w["d1"][1]
    d2 = np.tanh(X @ w["d2"][0] + w["d2"][1])
    return np.hstack([d1 + d2, d1]) @ w["out"][0] + w["out"][1]


@pytest.mark.parametrize("version", ["k3", "k2"])
@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_loads_keras_written_models(version, suffix):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras 2 optimizer state does not carry over (as in Keras 3)
        seq = models.load_model(fixture(f"{version}_seq{suffix}"))
        fun = models.load_model(fixture(f"{version}_fun{suffix}"))
    np.testing.assert_allclose(seq.predict(X, verbose=0), seq_reference(fixture(f"{version}_seq.h5")), atol=1e-6)
    np.testing.assert_allclose(fun.predict(X, verbose=0), fun_reference(fixture(f"{version}_fun.h5")), atol=1e-6)
    assert seq.compiled and seq._compile_args["metrics"] == ["mae"]
    assert isinstance(fun.optimizer, optimizers.SGD) and fun.optimizer.momentum == pytest.approx(0.9)
    assert seq.layers[0].kernel_regularizer.l2 == pytest.approx(0.01)
    assert isinstance(seq.layers[1], layers.Dropout) and seq.layers[1].rate == pytest.approx(0.2)


def test_keras3_optimizer_state_is_restored():
    seq = models.load_model(fixture("k3_seq.h5"))
    with h5py.File(fixture("k3_seq.h5")) as h5:
        group = h5["optimizer_weights"]
        saved = [group[n.decode() if isinstance(n, bytes) else n][()] for n in group.attrs["weight_names"]]
    assert seq.optimizer.iterations == int(saved[0]) == 8
    for value, restored in zip(saved, seq.optimizer.variables):
        np.testing.assert_array_equal(value, restored)


@pytest.mark.parametrize("weights", ["k3_seq.weights.h5", "k2_seq.weights.h5", "k2_seq_weights.h5"])
def test_loads_keras_written_weights(weights):
    model = models.model_from_json(open(fixture(f"{weights[:2]}_seq.json")).read())
    model.load_weights(fixture(weights))
    np.testing.assert_allclose(model.predict(X, verbose=0), seq_reference(fixture(f"{weights[:2]}_seq.h5")),
                               atol=1e-6)


def test_by_name_and_skip_mismatch_for_legacy_weights(tmp_path):
    source = trained(functional_model())
    source.save_weights(tmp_path / "w.h5")
    # A different model sharing the layer names 'b' (same shapes) and 'out' (another kernel shape).
    inputs = layers.Input((4,), name="x")
    b = layers.Dense(4, name="b")(inputs)
    other = models.Model(inputs, layers.Dense(1, name="out")(layers.Dense(5, name="extra")(b)))
    with pytest.raises(ValueError, match="layer 'out'.*shape"):
        other.load_weights(tmp_path / "w.h5", by_name=True)
    extra_before = other.get_layer("extra").get_weights()
    with pytest.warns(UserWarning, match="skipping layer 'out'"):
        other.load_weights(tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(other.get_layer("b").kernel.numpy(), source.get_layer("b").kernel.numpy())
    np.testing.assert_array_equal(other.get_layer("extra").get_weights()[0], extra_before[0])
    with pytest.raises(ValueError, match="by_name"):
        other.load_weights(fixture("k3_seq.weights.h5"), by_name=True)


def test_skip_mismatch_for_keras3_weights(tmp_path):
    source = trained(sequential_model())
    source.save_weights(tmp_path / "w.weights.h5")
    other = models.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dropout(0.1), layers.Dense(2)])
    with pytest.raises(ValueError, match="shape"):
        other.load_weights(tmp_path / "w.weights.h5")
    with pytest.warns(UserWarning, match="Skipping"):
        other.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.layers[0].kernel.numpy(), source.layers[0].kernel.numpy())


# --------------------------------------------------------------------- custom objects
@register_keras_serializable(package="fastdense_tests")
class Scale(layers.Layer):
    """y = x * w * factor, with a trainable per-feature w (runs in Python)."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, inputs):
        return inputs * self.w.value * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Offset(layers.Layer):
    """Not registered: loading needs custom_objects."""

    def __init__(self, offset=1.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def call(self, inputs):
        return inputs + self.offset

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


@register_keras_serializable(package="fastdense_tests")
def cube(x):
    return x ** 3


def custom_model():
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation=cube), Scale(np.float32(3.0)),
                                Offset(0.5)])
    model.layers[1].w.assign(np.array([1.0, 2.0, 3.0], "float32"))
    return model


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_custom_layer_and_activation_round_trip(tmp_path, suffix):
    model = custom_model()
    model.save(tmp_path / f"m{suffix}")
    with pytest.raises(ValueError, match="Offset.*custom_objects"):
        models.load_model(tmp_path / f"m{suffix}")
    loaded = models.load_model(tmp_path / f"m{suffix}", custom_objects={"Offset": Offset})
    assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].factor == 3.0
    assert loaded.layers[0].activation is cube
    np.testing.assert_array_equal(loaded.layers[1].w.numpy(), [1.0, 2.0, 3.0])
    kernel, bias = model.layers[0].get_weights()
    expected = (X @ kernel + bias) ** 3 * np.array([1.0, 2.0, 3.0]) * 3.0 + 0.5
    np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-6)
    with fastdense.saving.custom_object_scope({"Offset": Offset}):
        assert isinstance(models.load_model(tmp_path / f"m{suffix}").layers[2], Offset)


def test_custom_object_config_entries():
    config = json.loads(custom_model().to_json())["config"]["layers"]
    assert config[1]["config"]["activation"] == {"module": "builtins", "class_name": "function",
                                                 "config": "fastdense_tests>cube", "registered_name": "function"}
    assert (config[2]["class_name"], config[2]["registered_name"]) == ("Scale", "fastdense_tests>Scale")
    assert config[3]["registered_name"] == "Offset"


# -------------------------------------------------------------------------- safe mode
LAMBDA_KERAS3 = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None, "config": {
    "name": "lambda", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAA", "defaults": None,
                                                                            "closure": None}}}}
LAMBDA_KERAS2 = {"class_name": "Lambda", "config": {"name": "lambda", "function": ["4wEAAAAA", None, None],
                                                    "function_type": "lambda", "output_shape": None}}


@pytest.mark.parametrize("entry", [LAMBDA_KERAS3, LAMBDA_KERAS2])
def test_safe_mode_refuses_lambda_layers(tmp_path, entry):
    config = json.loads(sequential_model(compiled=False).to_json())
    config["config"]["layers"].append(entry)
    with pytest.raises(ValueError, match="safe_mode"):
        models.model_from_json(json.dumps(config))
    model = sequential_model(compiled=False)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "evil.keras", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="safe_mode=True"):
        models.load_model(tmp_path / "evil.keras")
    # Without safe mode the file is read; this entry's bytecode is not a valid function.
    with pytest.raises(ValueError, match="cannot load a serialized lambda function"):
        models.load_model(tmp_path / "evil.keras", safe_mode=False)


def test_lambda_activation_needs_safe_mode_false(tmp_path):
    model = models.Sequential([layers.Input((4,)), layers.Dense(2, activation=lambda x: x * 2.0)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        models.load_model(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras", safe_mode=False)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


def test_no_pickle_in_saving_code():
    sources = glob.glob(os.path.join(os.path.dirname(fastdense.saving.__file__), "*.py"))
    assert sources
    for path in sources:
        with open(path) as f:
            text = f.read()
        assert "import pickle" not in text and "pickle." not in text, path


# --------------------------------------------------------------- atomic saves, errors
@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_failed_save_leaves_previous_file(tmp_path, monkeypatch, suffix):
    model = trained(sequential_model())
    path = tmp_path / f"m{suffix}"
    save = model.save_weights if suffix == ".weights.h5" else model.save
    save(path)
    before = path.read_bytes()

    def fail_midway(*args, **kwargs):
        raise RuntimeError("disk full")

    from fastdense.saving import legacy_h5, weights_h5

    monkeypatch.setattr(weights_h5, "_write_values", fail_midway)
    monkeypatch.setattr(legacy_h5, "_write_weights", fail_midway)
    model.fit(X, Y, epochs=1, verbose=0)
    with pytest.raises(RuntimeError, match="disk full"):
        save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_overwrite_false(tmp_path):
    model = sequential_model()
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    before = (tmp_path / "m.keras").read_bytes(), (tmp_path / "w.weights.h5").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save_weights(tmp_path / "w.weights.h5", overwrite=False)
    assert ((tmp_path / "m.keras").read_bytes(), (tmp_path / "w.weights.h5").read_bytes()) == before
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(IsADirectoryError):
        model.save(tmp_path / "dir.keras")


def test_unsupported_suffixes(tmp_path):
    model = sequential_model()
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "m.tf")
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "m.keras")


def test_missing_file_directory_and_garbage(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        models.load_model(tmp_path / "nope.keras")
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        models.load_model(tmp_path)
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.h5.*empty"):
        models.load_model(tmp_path / "empty.h5")
    (tmp_path / "noise.keras").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match="noise.keras.*not a Keras model file"):
        models.load_model(tmp_path / "noise.keras")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ValueError, match="text.h5"):
        models.load_model(tmp_path / "text.h5")


def test_truncated_and_wrong_format_files(tmp_path):
    model = trained(sequential_model())
    model.save(tmp_path / "m.h5")
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    for name in ("m.h5", "m.keras"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"cut_{name}").write_bytes(data[:len(data) // 2])
        with pytest.raises((OSError, ValueError), match=f"cut_{name}"):
            models.load_model(tmp_path / f"cut_{name}")
    with pytest.raises(ValueError, match="weights-only"):
        models.load_model(tmp_path / "w.weights.h5")
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("readme.txt", "not a model")
    with pytest.raises(ValueError, match="other.keras.*config.json"):
        models.load_model(tmp_path / "other.keras")


def test_unknown_layer_class(tmp_path):
    config = json.loads(sequential_model(compiled=False).to_json())
    config["config"]["layers"][1]["class_name"] = "Conv7D"
    with pytest.raises(ValueError, match="unknown layer class 'Conv7D'"):
        models.model_from_json(json.dumps(config))
    model = sequential_model()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as h5:
        stored = json.loads(h5.attrs["model_config"])
        stored["config"]["layers"][1]["class_name"] = "Conv7D"
        h5.attrs["model_config"] = json.dumps(stored)
    with pytest.raises(ValueError, match=r"m\.h5.*Conv7D"):
        models.load_model(tmp_path / "m.h5")


def test_wrong_weights_leave_the_model_untouched(tmp_path):
    small = trained(sequential_model())
    small.save_weights(tmp_path / "w.weights.h5")
    small.save_weights(tmp_path / "w.h5")
    wider = models.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dense(7)])
    deeper = models.Sequential([layers.Input((4,)), layers.Dense(5), layers.Dense(1), layers.Dense(1)])
    for target in (wider, deeper):
        before = target.get_weights()
        for name in ("w.weights.h5", "w.h5"):
            with pytest.raises(ValueError, match=name.replace(".", r"\.")):
                target.load_weights(tmp_path / name)
            for old, now in zip(before, target.get_weights()):
                np.testing.assert_array_equal(old, now)


def test_h5_model_with_wrong_weights_is_not_returned(tmp_path):
    model = trained(sequential_model())
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as h5:
        group = h5["model_weights"][model.layers[-1].name]
        name = group.attrs["weight_names"][0].decode()
        del group[name]
        group.create_dataset(name, data=np.zeros((2, 2), "float32"))
    with pytest.raises(ValueError, match=r"m\.h5.*shape"):
        models.load_model(tmp_path / "m.h5")


# ------------------------------------------------------------------ resumed training
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_resumed_training_equals_uninterrupted(tmp_path, suffix):
    schedule = optimizers.schedules.ExponentialDecay(0.02, decay_steps=3, decay_rate=0.7)
    model = models.Sequential([layers.Input((4,)), layers.Dense(6, activation="tanh"), layers.Dense(1)])
    model.compile(optimizers.Adam(schedule, amsgrad=True), "mse", metrics=["mae"])
    model.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    resumed = models.load_model(tmp_path / f"m{suffix}")
    model.train_on_batch(X, Y)
    resumed.train_on_batch(X, Y)
    assert_same_weights(model, resumed, atol=1e-6)
    history = model.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    resumed_history = resumed.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    assert_same_weights(model, resumed, atol=1e-6)
    for key in history:
        assert resumed_history[key] == pytest.approx(history[key], rel=1e-6)
    assert resumed.optimizer.iterations == model.optimizer.iterations == 3 * 2 + 1 + 3 * 2


def test_weights_file_restores_optimizer_state_for_compiled_models(tmp_path):
    """What BackupAndRestore relies on: save_weights + load_weights continue training exactly."""
    model = trained(sequential_model(optimizer=optimizers.RMSprop(0.01, momentum=0.5)))
    model.save_weights(tmp_path / "w.weights.h5")
    twin = sequential_model(optimizer=optimizers.RMSprop(0.01, momentum=0.5))
    twin.load_weights(tmp_path / "w.weights.h5")
    assert twin.optimizer.iterations == model.optimizer.iterations
    model.layers[1].rate = twin.layers[1].rate = 0.0  # no dropout noise in the comparison
    model._invalidate_native()
    twin._invalidate_native()
    model.train_on_batch(X, Y)
    twin.train_on_batch(X, Y)
    assert_same_weights(model, twin, atol=1e-6)


def test_checkpoint_callbacks_write_loadable_files(tmp_path):
    model = sequential_model()
    callbacks = [fastdense.callbacks.ModelCheckpoint(str(tmp_path / "ck.keras")),
                 fastdense.callbacks.ModelCheckpoint(str(tmp_path / "ck.h5")),
                 fastdense.callbacks.ModelCheckpoint(str(tmp_path / "ck.weights.h5"), save_weights_only=True)]
    model.fit(X, Y, epochs=2, verbose=0, callbacks=callbacks)
    for name in ("ck.keras", "ck.h5"):
        assert_same_weights(model, models.load_model(tmp_path / name))
    fresh = sequential_model()
    fresh.load_weights(tmp_path / "ck.weights.h5")
    assert_same_weights(model, fresh)


def test_batch_normalization_round_trip(tmp_path):
    model = models.Sequential([layers.Input((4,)), layers.Dense(3), layers.BatchNormalization(), layers.Dense(1)])
    model.compile("adam", "mse")
    trained(model)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"m{suffix}")
        loaded = models.load_model(tmp_path / f"m{suffix}")
        assert_same_weights(model, loaded)
        np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def nested_model(lib):
    """A functional model calling a Sequential and a functional submodel (works with Keras too)."""
    inner_seq = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="relu"), lib.layers.Dense(2)],
                               name="inner_seq")
    inner_in = lib.Input((2,))
    inner_fun = lib.Model(inner_in, lib.layers.Dense(2, activation="tanh")(inner_in), name="inner_fun")
    inputs = lib.Input((4,), name="x")
    return lib.Model(inputs, lib.layers.Dense(1)(inner_fun(inner_seq(inputs))), name="outer")


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_nested_models_round_trip(tmp_path, suffix):
    model = nested_model(fastdense)
    if suffix == ".weights.h5":
        model.save_weights(tmp_path / "w.weights.h5")
        loaded = nested_model(fastdense)
        loaded.load_weights(tmp_path / "w.weights.h5")
        with h5py.File(tmp_path / "w.weights.h5") as h5:
            assert "layers/sequential/layers/dense_1/vars/1" in h5 and "layers/functional/layers/dense/vars/0" in h5
    else:
        model.save(tmp_path / f"m{suffix}")
        loaded = models.load_model(tmp_path / f"m{suffix}")
        assert isinstance(loaded.get_layer("inner_seq"), models.Sequential)
        assert loaded.get_config() == model.get_config()
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_backup_and_restore_resumes_exactly(tmp_path):
    """An interrupted fit resumed by BackupAndRestore ends where an uninterrupted fit ends."""

    class Interrupt(fastdense.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    def fresh():
        fastdense.utils.set_random_seed(7)
        model = models.Sequential([layers.Input((4,)), layers.Dense(4, activation="tanh"), layers.Dense(1)])
        model.compile(optimizers.Adam(0.05), "mse")
        return model

    reference = fresh()
    reference.fit(X, Y, epochs=4, batch_size=4, shuffle=False, verbose=0)
    interrupted = fresh()
    backup = fastdense.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(X, Y, epochs=4, batch_size=4, shuffle=False, verbose=0, callbacks=[backup, Interrupt()])
    resumed = fresh()
    history = resumed.fit(X, Y, epochs=4, batch_size=4, shuffle=False, verbose=0, callbacks=[backup])
    assert len(history.history["loss"]) == 2  # epochs 3 and 4 only
    assert resumed.optimizer.iterations == reference.optimizer.iterations == 12
    assert_same_weights(reference, resumed, atol=1e-6)
