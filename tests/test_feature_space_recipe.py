"""The keras.io recipe "Structured data classification with FeatureSpace", unchanged but the
import: a training model whose input is FeatureSpace's encoded-features tensor (an intermediate
tensor of the graph: Keras cuts the graph there), trained on `feature_space(dict)`'s output, and
an inference model from the raw dict Inputs to the same predictions. Compared with tf.keras
running the same recipe (same weights -> same predictions, files exchanged both ways)."""

import numpy as np
import pytest

import fastdense
from fastdense import layers, models

pd = pytest.importorskip("pandas")


def heart_table(rows=240, seed=0):
    """A small synthetic table shaped like the recipe's heart-disease CSV."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.normal(54, 9, rows).round(),
        "sex": rng.integers(0, 2, rows),
        "cp": rng.integers(0, 4, rows),
        "chol": rng.normal(245, 45, rows),
        "oldpeak": rng.uniform(0, 4, rows),
        "thal": rng.choice(["normal", "fixed", "reversible"], rows),
    })
    target = ((frame.chol > 250) ^ (frame.thal == "fixed")).astype("int64")
    return frame, target


def recipe_feature_space(keras):
    FeatureSpace = keras.utils.FeatureSpace  # noqa: N806 (the recipe's name)
    return FeatureSpace(
        features={
            "sex": FeatureSpace.integer_categorical(num_oov_indices=0),
            "cp": "integer_categorical",
            "thal": FeatureSpace.string_categorical(num_oov_indices=0),
            "age": FeatureSpace.float_discretized(num_bins=5),
            "chol": "float_normalized",
            "oldpeak": FeatureSpace.float_normalized(),
        },
        crosses=[FeatureSpace.cross(feature_names=("sex", "age"), crossing_dim=16), ("thal", "cp")],
        crossing_dim=8,
        output_mode="concat",
    )


def recipe_models(keras, feature_space):
    """The recipe's two models, word for word."""
    dict_inputs = feature_space.get_inputs()
    encoded_features = feature_space.get_encoded_features()

    x = keras.layers.Dense(32, activation="relu")(encoded_features)
    x = keras.layers.Dropout(0.5)(x)
    predictions = keras.layers.Dense(1, activation="sigmoid")(x)

    training_model = keras.Model(inputs=encoded_features, outputs=predictions)
    training_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])

    inference_model = keras.Model(inputs=dict_inputs, outputs=predictions)
    return training_model, inference_model


SAMPLE = {"age": 60, "sex": 1, "cp": 1, "chol": 233, "oldpeak": 2.3, "thal": "fixed"}


def test_recipe_trains_on_encoded_features_and_predicts_from_raw_values(tmp_path):
    frame, target = heart_table()
    train, val = frame.iloc[:200], frame.iloc[200:]
    feature_space = recipe_feature_space(fastdense)
    feature_space.adapt(dict(train))
    training_model, inference_model = recipe_models(fastdense, feature_space)

    # The training model starts at the encoded features: one new Input, as Keras names it.
    encoded_width = feature_space.get_encoded_features().shape[-1]
    assert training_model.input_shape == (None, encoded_width)
    assert [type(layer).__name__ for layer in training_model.layers] == ["InputLayer", "Dense", "Dropout", "Dense"]
    assert training_model.layers[0].name.endswith("CLONE")
    # The inference model still starts at the raw Inputs and shares the head's layers.
    assert sorted(inference_model.input_names) == sorted(SAMPLE)
    assert all(layer in inference_model.layers for layer in training_model.layers[1:])

    history = training_model.fit(feature_space(dict(train)), target.iloc[:200].to_numpy(), epochs=8, batch_size=32,
                                 validation_data=(feature_space(dict(val)), target.iloc[200:].to_numpy()),
                                 verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}

    input_dict = {name: np.asarray([value]) for name, value in SAMPLE.items()}
    from_raw = inference_model.predict(input_dict, verbose=0)
    from_encoded = training_model.predict(feature_space(input_dict), verbose=0)
    assert from_raw.shape == (1, 1) and 0.0 < from_raw[0, 0] < 1.0
    np.testing.assert_allclose(from_raw, from_encoded, rtol=1e-6)
    np.testing.assert_allclose(inference_model.predict(dict(val), verbose=0),
                               training_model.predict(feature_space(dict(val)), verbose=0), rtol=1e-6)

    # Both models save and load: the training model as its cut graph, the inference model whole.
    training_model.save(tmp_path / "training.keras")
    inference_model.save(tmp_path / "inference.keras")
    loaded_training = models.load_model(tmp_path / "training.keras")
    loaded_inference = models.load_model(tmp_path / "inference.keras")
    assert loaded_training.input_shape == (None, encoded_width)
    np.testing.assert_allclose(loaded_training.predict(feature_space(dict(val)), verbose=0),
                               training_model.predict(feature_space(dict(val)), verbose=0), rtol=1e-6)
    np.testing.assert_allclose(loaded_inference.predict(dict(val), verbose=0),
                               inference_model.predict(dict(val), verbose=0), rtol=1e-6)
    cloned = models.Model.from_config(training_model.get_config())
    assert [layer.name for layer in cloned.layers] == [layer.name for layer in training_model.layers]


def test_model_on_any_tensors_of_a_graph():
    """Inputs anywhere in a graph (several, mixed with Input tensors, dict structures); the part
    above them is not part of the model, the original graph is left as it was."""
    raw = layers.Input(shape=(4,), name="raw")
    other = layers.Input(shape=(2,), name="other")
    hidden = layers.Dense(3, name="hidden")(raw)
    merged = layers.Concatenate(name="merge")([hidden, other])
    output = layers.Dense(1, name="head")(merged)
    whole = models.Model([raw, other], output)

    head_only = models.Model(inputs={"h": hidden, "other": other}, outputs=output)
    assert [layer.name for layer in head_only.layers][-2:] == ["merge", "head"]
    assert "hidden" not in [layer.name for layer in head_only.layers]
    h = np.arange(6, dtype="float32").reshape(2, 3)
    o = np.ones((2, 2), dtype="float32")
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    kernel, bias = whole.get_layer("head").kernel.numpy(), whole.get_layer("head").bias.numpy()
    np.testing.assert_allclose(head_only.predict({"h": h, "other": o}, verbose=0),
                               np.concatenate([h, o], axis=1) @ kernel + bias, rtol=1e-6)
    hidden_values = whole.get_layer("hidden")(x)
    np.testing.assert_allclose(whole.predict([x, o], verbose=0),
                               head_only.predict({"h": hidden_values, "other": o}, verbose=0), rtol=1e-6)
    assert len(whole.layers) == 5  # the original model kept its graph

    with pytest.raises(ValueError, match="Graph disconnected"):
        models.Model(inputs=hidden, outputs=output)  # `other` is above the cut and not an input
    with pytest.raises(ValueError, match="must be KerasTensors"):
        models.Model(inputs=np.zeros((2, 4)), outputs=output)


def test_recipe_matches_tf_keras(keras, tf, tmp_path):
    """Both recipes with the same weights predict the same, from encoded features and from raw
    values; each side's saved training and inference models load on the other side."""
    frame, target = heart_table()
    theirs_space, ours_space = recipe_feature_space(keras), recipe_feature_space(fastdense)
    theirs_space.adapt(dict(frame))
    ours_space.adapt(dict(frame))
    theirs_training, theirs_inference = recipe_models(keras, theirs_space)
    ours_training, ours_inference = recipe_models(fastdense, ours_space)
    assert [type(layer).__name__ for layer in ours_training.layers] == \
        [type(layer).__name__ for layer in theirs_training.layers]
    ours_training.set_weights(theirs_training.get_weights())

    encoded = ours_space(dict(frame))
    np.testing.assert_allclose(encoded, np.asarray(theirs_space(dict(frame))), rtol=1e-6, atol=1e-6)
    expected = np.asarray(theirs_training.predict(encoded, verbose=0))
    np.testing.assert_allclose(ours_training.predict(encoded, verbose=0), expected, rtol=1e-5, atol=1e-6)
    tf_sample = {name: tf.convert_to_tensor([value]) for name, value in SAMPLE.items()}
    np.testing.assert_allclose(ours_inference.predict(tf_sample, verbose=0),
                               np.asarray(theirs_inference.predict(tf_sample, verbose=0)), rtol=1e-5, atol=1e-6)

    ours_training.fit(encoded, target.to_numpy(), epochs=2, batch_size=48, shuffle=False, verbose=0)
    ours_training.save(tmp_path / "ours.keras")
    theirs_loaded = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(np.asarray(theirs_loaded.predict(encoded, verbose=0)),
                               ours_training.predict(encoded, verbose=0), rtol=1e-5, atol=1e-6)
    theirs_training.save(tmp_path / "theirs.keras")
    ours_loaded = models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_allclose(ours_loaded.predict(encoded, verbose=0),
                               np.asarray(theirs_training.predict(encoded, verbose=0)), rtol=1e-5, atol=1e-6)
    assert ours_loaded.layers[0].name == theirs_training.layers[0].name


def test_recipe_with_tf_data_pipeline(tf):
    """The recipe as keras.io writes it: tf.data datasets of dicts, adapt on the unlabeled
    dataset, `feature_space(x)` inside `Dataset.map`, fit on the mapped datasets, and predict on
    a dict of tf tensors."""
    fastdense.utils.set_random_seed(0)  # initial weights and dropout masks: the loss must fall whatever ran before
    frame, target = heart_table()
    train_ds = tf.data.Dataset.from_tensor_slices((dict(frame.iloc[:200]), target.iloc[:200])).batch(32)
    val_ds = tf.data.Dataset.from_tensor_slices((dict(frame.iloc[200:]), target.iloc[200:])).batch(32)
    feature_space = recipe_feature_space(fastdense)
    train_ds_with_no_labels = train_ds.map(lambda x, _: x)
    feature_space.adapt(train_ds_with_no_labels)

    preprocessed_train_ds = train_ds.map(lambda x, y: (feature_space(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    preprocessed_train_ds = preprocessed_train_ds.prefetch(tf.data.AUTOTUNE)
    preprocessed_val_ds = val_ds.map(lambda x, y: (feature_space(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    preprocessed_val_ds = preprocessed_val_ds.prefetch(tf.data.AUTOTUNE)
    for x, _ in preprocessed_train_ds.take(1):
        np.testing.assert_allclose(x.numpy(), feature_space(dict(frame.iloc[:32])), rtol=1e-6)
    unbatched = tf.data.Dataset.from_tensor_slices(dict(frame.iloc[:3])).map(feature_space)
    np.testing.assert_allclose(np.stack([x.numpy() for x in unbatched]), feature_space(dict(frame.iloc[:3])),
                               rtol=1e-6)

    training_model, inference_model = recipe_models(fastdense, feature_space)
    history = training_model.fit(preprocessed_train_ds, epochs=15, validation_data=preprocessed_val_ds,
                                 verbose=0).history
    assert history["loss"][-1] < history["loss"][0] and "val_accuracy" in history

    input_dict = {name: tf.convert_to_tensor([value]) for name, value in SAMPLE.items()}
    predictions = inference_model.predict(input_dict, verbose=0)
    np.testing.assert_allclose(predictions, training_model.predict(feature_space(input_dict), verbose=0), rtol=1e-6)
