"""Files cross between fastdense and tf.keras (Keras 3) and tf-keras (Keras 2), both ways:
full models (.h5, .keras), weights (.weights.h5, legacy .h5) and JSON configs. Predictions must
agree to 1e-6, and optimizer state must carry over so that training continues identically.

Skipped when tensorflow (resp. tf_keras) is not installed."""

import json
import warnings

import numpy as np
import pytest

import fastdense
from fastdense import models as fd_models
from fastdense import optimizers as fd_optimizers

KINDS = ["sequential", "functional"]
X = np.random.default_rng(3).random((12, 4)).astype("float32")
Y = np.random.default_rng(4).random((12, 1)).astype("float32")


@pytest.fixture(scope="module")
def tf_keras(tf):
    return pytest.importorskip("tf_keras")


def build(lib, kind):
    """The same architecture in fastdense and in Keras (lib is a module with .layers etc.)."""
    L, R = lib.layers, lib.regularizers
    if kind == "sequential":
        return lib.Sequential([
            lib.Input((4,)),
            L.Dense(5, activation="relu", kernel_regularizer=R.L2(0.01), bias_regularizer=R.L1(0.001)),
            L.Dropout(0.2), L.BatchNormalization(), L.Dense(3, activation="tanh"), L.Dense(1)])
    inputs = lib.Input((4,), name="x")
    shared = L.Dense(4, activation="relu", name="shared")
    a = shared(inputs)
    b = shared(L.Dense(4, name="pre")(inputs))
    merged = L.Concatenate(name="cat")([L.Add(name="sum")([a, b]), L.Multiply(name="prod")([a, b])])
    merged = L.Dropout(0.1, name="drop")(merged)
    return lib.Model(inputs, L.Dense(1, name="out", kernel_regularizer=R.L1L2(0.01, 0.01))(merged))


def fd_trained(kind, optimizer=None):
    model = build(fastdense, kind)
    model.compile(optimizer=optimizer or fd_optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    model.fit(X, Y, epochs=2, batch_size=4, verbose=0)
    return model


def saved_keras_models(lib, directory, metrics):
    """{kind: (model, directory)}: Keras models trained once, saved in every format they write
    (training Keras models is the slow part of this module)."""
    saved = {}
    for kind in KINDS:
        model = build(lib, kind)
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mean_squared_error", metrics=metrics,
                      run_eagerly=True)  # eager: tracing a graph costs seconds
        model.fit(X, Y, epochs=2, batch_size=4, verbose=0)
        folder = directory / kind
        folder.mkdir()
        model.save(str(folder / "m.keras"))  # before .h5: Keras 3's .h5 save drops the optimizer config
        model.save(str(folder / "m.h5"))
        model.save_weights(str(folder / "w.weights.h5"))
        if lib.__name__.startswith("tf_keras"):
            model.save_weights(str(folder / "w.h5"))
        (folder / "m.json").write_text(model.to_json())
        saved[kind] = model, folder
    return saved


@pytest.fixture(scope="module")
def keras_files(keras, tmp_path_factory):
    return saved_keras_models(keras, tmp_path_factory.mktemp("keras3"), ["mae"])


@pytest.fixture(scope="module")
def keras2_files(tf_keras, tmp_path_factory):
    return saved_keras_models(tf_keras, tmp_path_factory.mktemp("keras2"), ["mae", "accuracy"])


def outputs(model):
    if isinstance(model, fastdense.Model):
        return model.predict(X, verbose=0)
    return np.asarray(model(X, training=False))  # an eager call: Keras's predict() traces a graph first


def predictions_match(a, b):
    np.testing.assert_allclose(outputs(a), outputs(b), rtol=0, atol=1e-6)


def optimizer_states_match(fd_optimizer, keras_optimizer):
    ours = fd_optimizer.variables
    theirs = [np.asarray(v) for v in keras_optimizer.variables]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


def assert_training_continues(lib, load_model, path, **compile_kwargs):
    """A functional model trained in lib and saved to path, loaded back by load_model: one more
    step on each gives the same weights (the optimizer state carried over)."""
    model = build(lib, "functional")
    model.get_layer("drop").rate = 0.0
    model.compile(lib.optimizers.Adam(0.01), "mse", **compile_kwargs)
    model.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    model.save(path)
    loaded = load_model(path)
    model.train_on_batch(X, Y)
    loaded.train_on_batch(X, Y)
    for saved, restored in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(restored, saved, rtol=0, atol=1e-6)


# ------------------------------------------------------------------ fastdense -> Keras 3
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_fastdense_model_file_loads_in_keras(keras, tmp_path, kind, suffix):
    model = fd_trained(kind)
    model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    predictions_match(model, loaded)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    if suffix == ".keras":  # Keras 3 restores optimizer state from .keras files
        optimizer_states_match(model.optimizer, loaded.optimizer)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_fastdense_weights_and_json_load_in_keras(keras, tmp_path, kind, suffix):
    model = fd_trained(kind)
    model.save_weights(tmp_path / f"w{suffix}")
    loaded = keras.models.model_from_json(model.to_json())
    loaded.load_weights(tmp_path / f"w{suffix}")
    predictions_match(model, loaded)
    ours = json.loads(model.to_json())["config"]
    theirs = json.loads(loaded.to_json())["config"]
    assert [layer["config"] for layer in theirs["layers"]] == [layer["config"] for layer in ours["layers"]]


def test_training_continues_in_keras_from_a_fastdense_file(keras, tmp_path):
    assert_training_continues(fastdense, keras.models.load_model, tmp_path / "m.keras")


# ------------------------------------------------------------------ Keras 3 -> fastdense
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_model_file_loads_in_fastdense(keras_files, kind, suffix):
    model, folder = keras_files[kind]
    loaded = fd_models.load_model(folder / f"m{suffix}")
    predictions_match(model, loaded)
    assert loaded.compiled and loaded._compile_args["metrics"] == ["mae"]
    optimizer_states_match(loaded.optimizer, model.optimizer)


@pytest.mark.parametrize("kind", KINDS)
def test_keras_weights_and_json_load_in_fastdense(keras_files, kind):
    model, folder = keras_files[kind]
    loaded = fd_models.model_from_json((folder / "m.json").read_text())
    loaded.load_weights(folder / "w.weights.h5")
    predictions_match(model, loaded)
    assert loaded.get_config()["layers"] == json.loads(json.dumps(model.get_config()["layers"]))


def test_training_continues_in_fastdense_from_a_keras_file(keras, tmp_path):
    assert_training_continues(keras, fd_models.load_model, tmp_path / "m.keras", run_eagerly=True)


# ------------------------------------------------------------------ Keras 2 <-> fastdense
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras2_model_file_loads_in_fastdense(keras2_files, kind, suffix):
    model, folder = keras2_files[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras 2 optimizer state does not carry over (as in Keras 3)
        loaded = fd_models.load_model(folder / f"m{suffix}")
    predictions_match(model, loaded)
    assert loaded.compiled and loaded._compile_args["metrics"] == ["mae", "accuracy"]
    loaded.fit(X, Y, epochs=1, verbose=0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".h5", ".weights.h5"])
def test_keras2_weights_and_json_load_in_fastdense(keras2_files, kind, suffix):
    model, folder = keras2_files[kind]
    loaded = fd_models.model_from_json((folder / "m.json").read_text())
    loaded.load_weights(folder / f"w{suffix}")
    predictions_match(model, loaded)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".h5", ".weights.h5"])
def test_fastdense_weights_load_in_keras2(tf_keras, tmp_path, kind, suffix):
    model = fd_trained(kind)
    model.save_weights(tmp_path / f"w{suffix}")
    target = build(tf_keras, kind)
    target.load_weights(str(tmp_path / f"w{suffix}"))
    predictions_match(model, target)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_nested_models_cross_both_ways(keras, tmp_path, suffix):
    from test_saving import nested_model

    ours = nested_model(fastdense)
    ours.save(tmp_path / f"fd{suffix}")
    predictions_match(ours, keras.models.load_model(tmp_path / f"fd{suffix}"))
    theirs = nested_model(keras)
    theirs.save(tmp_path / f"keras{suffix}")
    predictions_match(theirs, fd_models.load_model(tmp_path / f"keras{suffix}"))
