"""fastdense.utils.FeatureSpace: encoded outputs equal to keras.utils.FeatureSpace's on a small
synthetic table, the adapt sources, dict mode, the symbolic inputs/encoded features inside a
trained model, configs and saving."""

import numpy as np
import pytest

import fastdense
from fastdense import layers, models
from fastdense.utils import FeatureSpace


def table(rows=300, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "age": rng.normal(50, 10, rows).astype("float32"),
        "fare": rng.uniform(0, 100, rows).astype("float32"),
        "raw": rng.normal(size=rows).astype("float32"),
        "dist": rng.uniform(0, 10, rows).astype("float32"),
        "sex": rng.integers(0, 2, rows).astype("int32"),
        "cp": rng.integers(0, 5, rows).astype("int32"),
        "thal": rng.choice(["normal", "fixed", "reversible", "x"], rows),
        "city": rng.choice(["a", "b", "c", "d", "e"], rows),
        "zip": rng.integers(0, 1000, rows).astype("int32"),
    }


def make(space_class, output_mode="concat"):
    return space_class(
        features={"age": "float_normalized", "fare": space_class.float_rescaled(scale=0.01, offset=-0.5),
                  "raw": "float", "dist": space_class.float_discretized(num_bins=4),
                  "sex": "integer_categorical", "cp": space_class.integer_categorical(num_oov_indices=2),
                  "thal": "string_categorical", "city": "string_hashed", "zip": "integer_hashed"},
        crosses=[space_class.cross(("sex", "cp"), crossing_dim=16), ("thal", "city")], crossing_dim=8,
        output_mode=output_mode)


@pytest.mark.parametrize("source", ["dict", "tf_data_batched", "tf_data_unbatched"])
def test_encoded_features_match_keras(keras, tf, source):
    data = table()
    theirs = make(keras.utils.FeatureSpace)
    ours = make(FeatureSpace)
    if source == "dict":
        theirs.adapt(data)
        ours.adapt(data)
    else:
        dataset = tf.data.Dataset.from_tensor_slices(data)
        dataset = dataset.batch(50) if source == "tf_data_batched" else dataset
        theirs.adapt(dataset)
        ours.adapt(dataset)
    test = table(rows=64, seed=1)
    test["thal"][:3] = "unseen"  # out-of-vocabulary values take the OOV index in both
    np.testing.assert_allclose(ours(test), np.asarray(theirs(test)), rtol=1e-6, atol=1e-6)
    assert ours.get_encoded_features().shape == tuple(theirs.get_encoded_features().shape)
    assert sorted(ours.get_inputs()) == sorted(theirs.get_inputs())


def test_dict_mode_and_single_samples_match_keras(keras):
    data = table()
    theirs, ours = make(keras.utils.FeatureSpace, "dict"), make(FeatureSpace, "dict")
    theirs.adapt(data)
    ours.adapt(data)
    encoded_theirs, encoded_ours = theirs(data), ours(data)
    assert list(encoded_ours) == list(encoded_theirs)
    for name in encoded_ours:
        np.testing.assert_allclose(encoded_ours[name], np.asarray(encoded_theirs[name]), rtol=1e-6, atol=1e-6)
    concat_theirs, concat_ours = make(keras.utils.FeatureSpace), make(FeatureSpace)
    concat_theirs.adapt(data)
    concat_ours.adapt(data)
    sample = {name: column[0] for name, column in data.items()}
    np.testing.assert_allclose(concat_ours(sample), np.asarray(concat_theirs(sample)), rtol=1e-6, atol=1e-6)


def test_adapt_sources_agree():
    import pandas as pd

    data = table()
    reference = make(FeatureSpace)
    reference.adapt(data)
    expected = reference(data)
    batches = [{name: column[k:k + 32] for name, column in data.items()} for k in range(0, 300, 32)]
    for source in (pd.DataFrame(data), batches, {name: list(column) for name, column in data.items()}):
        space = make(FeatureSpace)
        space.adapt(source)
        np.testing.assert_allclose(space(data), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(reference(pd.DataFrame(data).to_dict("series")), expected, rtol=1e-6, atol=1e-7)


def test_needs_adapt_and_validates():
    space = make(FeatureSpace)
    with pytest.raises(ValueError, match="adapt"):
        space(table())
    with pytest.raises(ValueError, match="Invalid feature type"):
        FeatureSpace({"a": "float_weird"})
    with pytest.raises(ValueError, match="unknown features"):
        FeatureSpace({"a": "float"}, crosses=[("a", "b")])
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace({"a": "float"}, output_mode="stack")
    no_adapt = FeatureSpace({"a": "float", "b": FeatureSpace.float_rescaled(scale=2.0)})
    np.testing.assert_allclose(no_adapt({"a": [1.0, 2.0], "b": [3.0, 4.0]}), [[1.0, 6.0], [2.0, 8.0]])
    int_mode = FeatureSpace({"s": FeatureSpace.string_categorical(output_mode="int"), "a": "float"})
    with pytest.raises(ValueError, match="output_mode='dict'"):  # as Keras, adapt builds the encoding
        int_mode.adapt({"s": ["x", "y"], "a": [1.0, 2.0]})


def test_model_on_inputs_and_encoded_features_trains_and_saves(tmp_path):
    data = table()
    labels = ((data["age"] > 50) ^ (data["thal"] == "fixed")).astype("float32")
    space = make(FeatureSpace)
    space.adapt(data)
    encoded = space.get_encoded_features()
    hidden = layers.Dense(16, activation="relu")(encoded)
    output = layers.Dense(1, activation="sigmoid")(layers.Dropout(0.2)(hidden))
    model = models.Model(inputs=space.get_inputs(), outputs=output)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(data, labels, epochs=10, batch_size=32, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    # the model's preprocessing is the FeatureSpace's eager encoding
    predictions = model.predict(data, verbose=0)
    first, last = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    hidden = np.maximum(space(data) @ first.kernel.numpy() + first.bias.numpy(), 0.0)
    expected = 1.0 / (1.0 + np.exp(-(hidden @ last.kernel.numpy() + last.bias.numpy())))
    np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), predictions, rtol=1e-6)


def test_config_round_trip():
    data = table()
    space = make(FeatureSpace)
    space.adapt(data)
    config = space.get_config()
    assert config["features"]["thal"]["class_name"] == "Feature"
    assert config["crosses"][0]["config"] == {"feature_names": ["sex", "cp"], "crossing_dim": 16,
                                              "output_mode": "one_hot"}
    restored = FeatureSpace.from_config(config)
    assert sorted(restored.features) == sorted(space.features)
    restored.adapt(data)
    np.testing.assert_allclose(restored(data), space(data), rtol=1e-6, atol=1e-7)


def test_tabular_benchmark_smoke(tmp_path):
    """bench/tabular.py's fastdense side on a small table: it adapts, trains and reports its times."""
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p))
    result = subprocess.run([sys.executable, os.path.join(root, "bench", "tabular.py"), "--only", "fastdense",
                             "--rows", "3000", "--epochs", "2"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["total"] >= report["fit"] > 0 and np.isfinite(report["final_loss"])


def test_save_and_load_return_the_adapted_space(tmp_path):
    data = table()
    space = make(FeatureSpace)
    space.adapt(data)
    space.save(tmp_path / "space.keras")
    loaded = fastdense.saving.load_model(tmp_path / "space.keras")
    assert isinstance(loaded, FeatureSpace)
    test = table(rows=40, seed=2)
    test["thal"][:2] = "unseen"
    np.testing.assert_array_equal(loaded(test), space(test))
    # The loaded space builds models as the original does.
    outputs = layers.Dense(1)(loaded.get_encoded_features())
    model = models.Model(loaded.get_inputs(), outputs)
    assert model.predict(test, verbose=0).shape == (40, 1)
    with pytest.raises(ValueError, match="`.keras` extension"):
        space.save(tmp_path / "space.h5")
    with pytest.raises(ValueError, match="adapt"):
        make(FeatureSpace).save(tmp_path / "unadapted.keras")


def test_saved_files_are_exchanged_with_keras(keras, tmp_path):
    """The same archive layout as Keras's FeatureSpace.save (weights groups, vocabulary assets),
    and each side loads the other's file to the same encoding."""
    import io
    import zipfile

    import h5py

    data = table()
    ours, theirs = make(FeatureSpace), make(keras.utils.FeatureSpace)
    ours.adapt(data)
    theirs.adapt(data)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")

    def layout(path):
        with zipfile.ZipFile(path) as archive:
            names = []
            with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
                h5.visit(names.append)
            return sorted(archive.namelist()), sorted(names)

    assert layout(tmp_path / "ours.keras") == layout(tmp_path / "theirs.keras")
    test = table(rows=64, seed=5)
    expected = np.asarray(theirs(test))
    np.testing.assert_allclose(fastdense.saving.load_model(tmp_path / "theirs.keras")(test), expected,
                               rtol=1e-6, atol=1e-6)
    from_ours = keras.saving.load_model(tmp_path / "ours.keras")
    assert isinstance(from_ours, keras.utils.FeatureSpace)
    np.testing.assert_allclose(np.asarray(from_ours(test)), expected, rtol=1e-6, atol=1e-6)
