"""Preprocessing layers (fastdense/layers/preprocessing/): TensorFlow's hashes, every layer's
outputs and adapted state against tf.keras, configs and `.keras` files both ways, and models
whose string/integer/float Inputs are preprocessed before the engine, trained against tf.keras.

Tests needing TensorFlow skip themselves without it; the known answers of the hashes were
computed with TensorFlow 2.21 and pin them everywhere."""

import numpy as np
import pytest

import fastdense
from fastdense import layers
from fastdense.layers.preprocessing import fingerprint

HASH_STRINGS = ["", "a", "abc", "fastdense", "The quick brown fox jumps over the lazy dog", "x" * 100]


def tf_keras():
    tf = pytest.importorskip("tensorflow")
    return tf, tf.keras


def random_strings(seed=0, per_length=3, max_length=100):
    rng = np.random.default_rng(seed)
    return [bytes(rng.integers(0, 256, n, dtype=np.uint8)) for n in range(max_length + 1) for _ in range(per_length)]


# ----------------------------------------------------------------------------- hashes
def test_fingerprint64_known_answers():
    # tf.strings.to_hash_bucket_fast(HASH_STRINGS, 2**63 - 1)
    expected = [1936946117179621456, 3694432073954588132, 2640714258260161385, 9145690501610456224,
                3152101869897863477, 6590480085648050719]
    assert [fingerprint.fingerprint64(s) % (2**63 - 1) for s in HASH_STRINGS] == expected


def test_siphash_known_answers():
    # tf.strings.to_hash_bucket_strong(HASH_STRINGS, 2**63 - 1, key=[1, 2])
    expected = [443797209252341628, 5158252350249958646, 5862226954915230110, 257774222221026117,
                4761918157535839729, 1638981394980189463]
    assert [fingerprint.siphash24(1, 2, s) % (2**63 - 1) for s in HASH_STRINGS] == expected


def test_fingerprint64_matches_tensorflow_for_every_length():
    tf, _ = tf_keras()
    strings = random_strings(seed=1)
    buckets = 2**62 + 57  # odd and large: nearly all 64 bits of the hash take part
    got = [fingerprint.fingerprint64(s) % buckets for s in strings]
    assert got == tf.strings.to_hash_bucket_fast(strings, buckets).numpy().tolist()
    integers = [str(v).encode() for v in np.random.default_rng(2).integers(-2**63, 2**63 - 1, 300)]
    got = [fingerprint.fingerprint64(s) % 1000 for s in integers]
    assert got == tf.strings.to_hash_bucket_fast(integers, 1000).numpy().tolist()


def test_siphash_matches_tensorflow_for_every_length():
    tf, _ = tf_keras()
    strings = random_strings(seed=3)
    buckets = 2**62 + 57
    for key in ([7, 11], [2**63 - 5, 3]):
        got = [fingerprint.siphash24(key[0], key[1], s) % buckets for s in strings]
        assert got == tf.strings.to_hash_bucket_strong(strings, buckets, key=key).numpy().tolist()


# ---------------------------------------------------------------------------- layers
def assert_same_outputs(fd_layer, tf_layer, x, exact=True):
    got, want = np.asarray(fd_layer(x)), np.asarray(tf_layer(x))
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind in "OSU":
        assert got.astype(str).tolist() == want.astype(str).tolist()
    elif exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_normalization_adapt_matches_keras():
    _, keras = tf_keras()
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(50, 3, 4)) * 3 + 1).astype("float32")
    for axis in (-1, None, (1, 2), 1):
        ours, theirs = layers.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
        ours.adapt(data)
        theirs.adapt(data)
        np.testing.assert_allclose(ours.adapt_mean.numpy(), theirs.adapt_mean.numpy(), rtol=1e-6)
        np.testing.assert_allclose(ours.adapt_variance.numpy(), theirs.adapt_variance.numpy(), rtol=1e-6)
        assert_same_outputs(ours, theirs, data[:7], exact=False)


def test_normalization_adapt_on_batches_matches_keras():
    _, keras = tf_keras()
    data = np.random.default_rng(1).normal(size=(70, 3)).astype("float32")
    ours, theirs = layers.Normalization(), keras.layers.Normalization()
    ours.adapt(iter([data[:32], data[32:64], data[64:]]))
    theirs.adapt([data[:32], data[32:64], data[64:]])
    np.testing.assert_allclose(ours.adapt_mean.numpy(), theirs.adapt_mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.adapt_variance.numpy(), theirs.adapt_variance.numpy(), rtol=1e-5)
    by_size = layers.Normalization()
    by_size.adapt(data, batch_size=32)
    np.testing.assert_allclose(by_size.adapt_variance.numpy(), theirs.adapt_variance.numpy(), rtol=1e-5)


def test_normalization_given_statistics_and_invert_match_keras():
    _, keras = tf_keras()
    x = np.random.default_rng(2).normal(size=(6, 3)).astype("float32")
    for kwargs in ({"mean": 3.0, "variance": 2.0}, {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 0.0]},
                   {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0], "invert": True}):
        assert_same_outputs(layers.Normalization(**kwargs), keras.layers.Normalization(**kwargs), x, exact=False)


def test_normalization_adapts_on_pandas():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [10, 20, 30, 50]})
    layer = layers.Normalization()
    layer.adapt(frame)  # tf.keras raises TypeError here
    np.testing.assert_allclose(layer.adapt_mean.numpy(), [2.5, 27.5])
    np.testing.assert_allclose(layer.adapt_variance.numpy(), [1.25, np.var([10, 20, 30, 50])], rtol=1e-6)
    column = layers.Normalization(axis=None)
    column.adapt(frame["b"])
    np.testing.assert_allclose(column(frame["b"]), (frame["b"] - 27.5) / np.std(frame["b"]), rtol=1e-6)


def test_rescaling_matches_keras():
    _, keras = tf_keras()
    x = np.arange(12, dtype="float32").reshape(3, 4)
    for kwargs in ({"scale": 1 / 255}, {"scale": 2.0, "offset": -1.0}):
        assert_same_outputs(layers.Rescaling(**kwargs), keras.layers.Rescaling(**kwargs), x)


def test_discretization_matches_keras():
    _, keras = tf_keras()
    rng = np.random.default_rng(3)
    data = rng.normal(size=(1000, 1)).astype("float32")
    x = rng.normal(size=(20, 1)).astype("float32")
    for num_bins, epsilon in ((4, 0.01), (10, 0.001)):
        ours, theirs = layers.Discretization(num_bins=num_bins, epsilon=epsilon), \
            keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        ours.adapt(data)
        theirs.adapt(data)
        np.testing.assert_array_equal(ours.bin_boundaries, theirs.bin_boundaries)
        assert_same_outputs(ours, theirs, x)
    batched, keras_batched = layers.Discretization(num_bins=5), keras.layers.Discretization(num_bins=5)
    batched.adapt(data, batch_size=128)
    keras_batched.adapt([data[i:i + 128] for i in range(0, 1000, 128)])
    np.testing.assert_array_equal(batched.bin_boundaries, keras_batched.bin_boundaries)
    for mode in ("one_hot", "multi_hot", "count"):
        kwargs = {"bin_boundaries": [-1.0, 0.0, 0.5], "output_mode": mode}
        assert_same_outputs(layers.Discretization(**kwargs), keras.layers.Discretization(**kwargs), x)


def test_category_encoding_matches_keras():
    _, keras = tf_keras()
    x = np.array([[0, 1, 1], [3, 3, 2]])
    for mode in ("one_hot", "multi_hot", "count"):
        data = x[:, :1] if mode == "one_hot" else x
        assert_same_outputs(layers.CategoryEncoding(4, output_mode=mode),
                            keras.layers.CategoryEncoding(4, output_mode=mode), data)
    assert_same_outputs(layers.CategoryEncoding(5, "one_hot"), keras.layers.CategoryEncoding(5, "one_hot"),
                        np.array([0, 4, 2]))


STRING_DATA = np.array([["b"], ["a"], ["c"], ["a"], ["d"], ["b"], ["a"], ["e"], ["c"], ["f"]])


@pytest.mark.parametrize("kwargs", [
    {}, {"max_tokens": 4}, {"num_oov_indices": 2}, {"num_oov_indices": 0, "output_mode": "one_hot"},
    {"mask_token": ""}, {"output_mode": "one_hot"}, {"output_mode": "multi_hot"}, {"output_mode": "count"},
    {"output_mode": "tf_idf"}, {"num_oov_indices": 3, "salt": 7}, {"pad_to_max_tokens": True, "max_tokens": 10,
                                                                    "output_mode": "multi_hot"},
])
def test_string_lookup_adapt_matches_keras(kwargs):
    _, keras = tf_keras()
    ours, theirs = layers.StringLookup(**kwargs), keras.layers.StringLookup(**kwargs)
    ours.adapt(STRING_DATA)
    theirs.adapt(STRING_DATA)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    x = np.array([["a"], ["zz"], ["f"], ["q"], [""]]) if kwargs.get("num_oov_indices") != 0 else STRING_DATA[:4]
    if kwargs.get("output_mode", "int") in ("multi_hot", "count", "tf_idf"):
        x = np.array([["a", "zz", "a"], ["f", "b", "q"]])
    assert_same_outputs(ours, theirs, x, exact=False)


def test_string_lookup_given_vocabulary_invert_and_file_match_keras(tmp_path):
    _, keras = tf_keras()
    vocabulary = ["x", "y", "z"]
    x = np.array([["y"], ["w"], ["x"]])
    assert_same_outputs(layers.StringLookup(vocabulary=vocabulary), keras.layers.StringLookup(vocabulary=vocabulary), x)
    indices = np.array([[0], [1], [3], [7]])
    ours = layers.StringLookup(vocabulary=vocabulary, invert=True)
    theirs = keras.layers.StringLookup(vocabulary=vocabulary, invert=True)
    assert_same_outputs(ours, theirs, indices)
    path = tmp_path / "vocab.txt"
    path.write_text("x\ny\nz\n")
    ours, theirs = layers.StringLookup(vocabulary=str(path)), keras.layers.StringLookup(vocabulary=str(path))
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    assert_same_outputs(ours, theirs, x)


def test_string_lookup_adapts_on_lists_series_and_generators():
    pd = pytest.importorskip("pandas")
    words = ["b", "a", "c", "a"]
    for data in (words, pd.Series(words), pd.DataFrame({"w": words}), (np.array(words[i:i + 2]) for i in (0, 2))):
        layer = layers.StringLookup()
        layer.adapt(data)
        assert layer.get_vocabulary() == ["[UNK]", "a", "c", "b"]


@pytest.mark.parametrize("kwargs", [
    {}, {"num_oov_indices": 3}, {"num_oov_indices": 3, "oov_method": "farmhash"}, {"mask_token": 0},
    {"output_mode": "one_hot"}, {"output_mode": "count"}, {"max_tokens": 3},
])
def test_integer_lookup_matches_keras(kwargs):
    _, keras = tf_keras()
    data = np.array([[5], [3], [5], [7], [3], [5], [11], [0]])
    ours, theirs = layers.IntegerLookup(**kwargs), keras.layers.IntegerLookup(**kwargs)
    ours.adapt(data)
    theirs.adapt(data)
    assert ours.get_vocabulary() == [int(v) for v in theirs.get_vocabulary()]
    assert_same_outputs(ours, theirs, np.array([[5], [42], [0], [-8], [3]]))


def test_integer_lookup_vocabulary_and_invert_match_keras():
    _, keras = tf_keras()
    kwargs = {"vocabulary": [12, 36, 1138, 42]}
    assert_same_outputs(layers.IntegerLookup(**kwargs), keras.layers.IntegerLookup(**kwargs),
                        np.array([[12], [1138], [42], [42], [1000], [36]]))
    assert_same_outputs(layers.IntegerLookup(invert=True, **kwargs), keras.layers.IntegerLookup(invert=True, **kwargs),
                        np.array([[1], [3], [4], [0], [9]]))


@pytest.mark.parametrize("kwargs", [
    {"num_bins": 3}, {"num_bins": 1000}, {"num_bins": 4, "mask_value": "m"}, {"num_bins": 5, "salt": 133},
    {"num_bins": 5, "salt": [1, 2]}, {"num_bins": 4, "output_mode": "one_hot"},
    {"num_bins": 4, "output_mode": "multi_hot"}, {"num_bins": 4, "output_mode": "count"},
])
def test_hashing_strings_matches_keras(kwargs):
    _, keras = tf_keras()
    x = np.array([["A"], ["B"], ["C"], ["m"], ["The quick brown fox"], [""]])
    if kwargs.get("output_mode") in ("multi_hot", "count"):
        x = x.reshape(2, 3)
    assert_same_outputs(layers.Hashing(**kwargs), keras.layers.Hashing(**kwargs), x)


def test_hashing_numbers_matches_keras():
    _, keras = tf_keras()
    integers = np.random.default_rng(4).integers(-10**12, 10**12, size=(50, 2))
    assert_same_outputs(layers.Hashing(97), keras.layers.Hashing(97), integers)
    assert_same_outputs(layers.Hashing(97, mask_value=0), keras.layers.Hashing(97, mask_value=0),
                        np.array([[0], [1], [2]]))
    floats = np.array([[1.7], [-2.2], [3.0]], dtype="float32")
    assert_same_outputs(layers.Hashing(11), keras.layers.Hashing(11), floats)


def test_hashed_crossing_matches_keras():
    _, keras = tf_keras()
    rng = np.random.default_rng(5)
    strings = rng.choice(["red", "green", "blue", "a fairly long colour name"], size=(30, 1))
    integers = rng.integers(-5, 50, size=(30, 1))
    for kwargs in ({"num_bins": 7}, {"num_bins": 1000}, {"num_bins": 5, "output_mode": "one_hot"}):
        assert_same_outputs(layers.HashedCrossing(**kwargs), keras.layers.HashedCrossing(**kwargs), [strings, integers])
        assert_same_outputs(layers.HashedCrossing(**kwargs), keras.layers.HashedCrossing(**kwargs),
                            [integers[:, 0], strings[:, 0], integers[:, 0]])


# ---------------------------------------------------------------------------- configs
def adapted_layers():
    rng = np.random.default_rng(6)
    numbers = rng.normal(size=(40, 3)).astype("float32")
    normalization = layers.Normalization()
    normalization.adapt(numbers)
    discretization = layers.Discretization(num_bins=4)
    discretization.adapt(numbers[:, 0])
    return [
        (layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 5.0, 6.0]), numbers),
        (layers.Rescaling(0.5, 2.0), numbers),
        (discretization, numbers[:, :1]),
        (layers.CategoryEncoding(4, output_mode="count"), np.array([[0, 3, 3]])),
        (layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot"), np.array([["b"], ["c"]])),
        (layers.IntegerLookup(vocabulary=[4, 9], num_oov_indices=2), np.array([[9], [5], [6]])),
        (layers.Hashing(5, salt=3, output_mode="one_hot"), np.array([["a"], ["b"]])),
        (layers.HashedCrossing(9), [np.array(["a", "b"]), np.array([1, 2])]),
    ]


def test_config_round_trips():
    for layer, x in adapted_layers():
        copy = type(layer).from_config(layer.get_config())
        np.testing.assert_array_equal(copy(x), layer(x))
        assert copy.get_config() == layer.get_config()


@pytest.mark.parametrize("name, kwargs", [
    ("Normalization", {}), ("Normalization", {"mean": [1.0, 2.0], "variance": [2.0, 3.0], "invert": True}),
    ("Rescaling", {"scale": 0.5, "offset": 1.0}), ("Discretization", {"bin_boundaries": [0.0, 1.0], "epsilon": 0.1}),
    ("Discretization", {"num_bins": 4, "output_mode": "count"}), ("CategoryEncoding", {"num_tokens": 3}),
    ("StringLookup", {"vocabulary": ["a"], "mask_token": "", "output_mode": "one_hot"}),
    ("IntegerLookup", {"vocabulary": [1, 2], "num_oov_indices": 2, "oov_method": "farmhash"}),
    ("Hashing", {"num_bins": 3, "salt": 5}), ("Hashing", {"num_bins": 3, "output_mode": "count"}),
    ("HashedCrossing", {"num_bins": 3, "output_mode": "one_hot"}),
])
def test_configs_equal_keras(name, kwargs):
    _, keras = tf_keras()
    assert getattr(layers, name)(name="x", **kwargs).get_config() == \
        getattr(keras.layers, name)(name="x", **kwargs).get_config()


def test_configs_load_in_keras():
    _, keras = tf_keras()
    for layer, x in adapted_layers():
        theirs = getattr(keras.layers, type(layer).__name__).from_config(layer.get_config())
        np.testing.assert_allclose(np.asarray(theirs(x)), layer(x), rtol=1e-6)


# ----------------------------------------------------------------------- in a model
def table(rows=96, seed=7):
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 2)).astype("float32") * [1.0, 10.0] + [0.0, 50.0]
    integer = rng.integers(0, 6, size=(rows, 1))
    string = rng.choice(["red", "green", "blue", "teal"], size=(rows, 1))
    y = (numeric[:, :1] / 2 + (integer == 3) - (string == "red") + 0.1 * rng.normal(size=(rows, 1))).astype("float32")
    return numeric, integer, string, y.astype("float32")


def tabular_model(k, numeric, integer, string):
    normalization = k.layers.Normalization()
    normalization.adapt(numeric)
    integer_lookup = k.layers.IntegerLookup(output_mode="one_hot")
    integer_lookup.adapt(integer)
    string_lookup = k.layers.StringLookup(output_mode="one_hot")
    string_lookup.adapt(string)
    x_numeric = k.Input((2,), name="numeric")
    x_integer = k.Input((1,), dtype="int64", name="integer")
    x_string = k.Input((1,), dtype="string", name="string")
    hashed = k.layers.Hashing(5, output_mode="one_hot")(x_string)
    features = k.layers.Concatenate()([normalization(x_numeric), integer_lookup(x_integer), string_lookup(x_string),
                                       hashed])
    hidden = k.layers.Dense(8, activation="relu")(features)
    return k.Model([x_numeric, x_integer, x_string], k.layers.Dense(1)(hidden))


def test_tabular_model_trains_like_keras():
    tf, keras = tf_keras()
    numeric, integer, string, y = table()
    keras.utils.set_random_seed(0)
    theirs = tabular_model(keras, numeric, integer, string)
    ours = tabular_model(fastdense, numeric, integer, string)
    ours.set_weights(theirs.get_weights())
    for model in (theirs, ours):
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    # tf.keras's fit rejects NumPy string arrays: it gets the same batches as tensors.
    dataset = tf.data.Dataset.from_tensor_slices(((numeric, integer, string), y)).batch(32)
    expected = theirs.fit(dataset, epochs=3, verbose=0)
    actual = ours.fit([numeric, integer, string], y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(actual.history[key], expected.history[key], rtol=1e-5)
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.evaluate([numeric, integer, string], y, verbose=0),
                               theirs.evaluate(dataset, verbose=0), rtol=1e-5)
    predicted = ours.predict([numeric, integer, string], verbose=0)
    np.testing.assert_allclose(predicted, theirs.predict(dataset, verbose=0), rtol=1e-5, atol=1e-6)
    # Columns as (N,) arrays and dicts keyed by Input names feed the same model.
    by_name = {"numeric": numeric, "integer": integer[:, 0], "string": string[:, 0]}
    np.testing.assert_allclose(ours.predict(by_name, verbose=0), predicted, rtol=1e-6)


def test_preprocessing_after_engine_layers_runs_in_the_engine():
    x = np.random.default_rng(8).normal(size=(16, 3)).astype("float32")
    inputs = layers.Input((3,))
    hidden = layers.Dense(3)(inputs)
    outputs = layers.Rescaling(2.0, 1.0)(layers.Normalization(mean=[1.0, 0.0, 2.0], variance=[4.0, 1.0, 9.0])(hidden))
    model = fastdense.Model(inputs, outputs)
    kernel, bias = model.layers[1].get_weights()
    expected = ((x @ kernel + bias - [1.0, 0.0, 2.0]) / [2.0, 1.0, 3.0]) * 2.0 + 1.0
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    model.compile("sgd", "mse")
    model.fit(x, x, epochs=1, verbose=0)


def test_hashing_after_engine_layers_predicts_eagerly_but_does_not_train():
    inputs = layers.Input((1,))
    dense = layers.Dense(1)
    model = fastdense.Model(inputs, layers.Hashing(3)(dense(inputs)))
    x = np.arange(4, dtype="float32").reshape(4, 1)
    np.testing.assert_array_equal(model.predict(x, verbose=0), layers.Hashing(3)(dense(x)))
    model.compile("sgd", "mse")
    with pytest.raises(NotImplementedError, match="must be fed by the model's Inputs"):
        model.fit(x, x, verbose=0)


def test_sequential_with_normalization_first():
    x = np.random.default_rng(9).normal(size=(32, 4)).astype("float32") * 5 + 2
    normalization = layers.Normalization()
    normalization.adapt(x)
    model = fastdense.Sequential([layers.Input((4,)), normalization, layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(x, x[:, :1], epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    kernel, bias = model.layers[1].get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), normalization(x) @ kernel + bias, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- saving
def small_model(k):
    numbers = np.random.default_rng(10).normal(size=(40, 3)).astype("float32")
    words = np.array([["x"], ["y"], ["x"], ["z"], ["y"], ["x"]])
    normalization = k.layers.Normalization()
    normalization.adapt(numbers)
    lookup = k.layers.StringLookup(output_mode="one_hot", name="words_lookup")
    lookup.adapt(words)
    x_numbers, x_words = k.Input((3,), name="numbers"), k.Input((1,), dtype="string", name="words")
    features = k.layers.Concatenate()([normalization(x_numbers), lookup(x_words)])
    return k.Model([x_numbers, x_words], k.layers.Dense(2)(features)), numbers[:5], words[:5]


def keras_predict(tf, model, inputs):
    return model.predict_on_batch([tf.constant(a) for a in inputs])


def test_keras_file_from_keras_loads_in_fastdense(tmp_path):
    tf, keras = tf_keras()
    theirs, numbers, words = small_model(keras)
    path = str(tmp_path / "m.keras")
    theirs.save(path)
    ours = fastdense.models.load_model(path)
    np.testing.assert_allclose(ours.predict([numbers, words], verbose=0), keras_predict(tf, theirs, [numbers, words]),
                               rtol=1e-5, atol=1e-6)
    assert ours.get_layer("words_lookup").get_vocabulary() == theirs.get_layer("words_lookup").get_vocabulary()


def test_keras_file_from_fastdense_loads_in_keras(tmp_path):
    tf, keras = tf_keras()
    ours, numbers, words = small_model(fastdense)
    path = str(tmp_path / "m.keras")
    ours.save(path)
    theirs = keras.models.load_model(path)
    np.testing.assert_allclose(keras_predict(tf, theirs, [numbers, words]), ours.predict([numbers, words], verbose=0),
                               rtol=1e-5, atol=1e-6)
    again = fastdense.models.load_model(path)
    np.testing.assert_array_equal(again.predict([numbers, words], verbose=0), ours.predict([numbers, words], verbose=0))


def test_preprocessing_runs_once_per_fit_not_per_epoch(monkeypatch):
    numeric, integer, string, y = table(rows=64)
    model = tabular_model(fastdense, numeric, integer, string)
    model.compile("adam", "mse")
    calls = []
    lookup = next(layer for layer in model.layers if isinstance(layer, layers.StringLookup))
    original = lookup.call
    monkeypatch.setattr(lookup, "call", lambda x: calls.append(len(x)) or original(x))
    model.fit([numeric, integer, string], y, batch_size=16, epochs=4, validation_split=0.25, verbose=0)
    assert calls == [64]  # the whole array once, split afterwards; four epochs of 3 + 1 batches reuse it
    model.predict([numeric, integer, string], verbose=0)
    assert calls == [64, 64]


def test_hashed_crossing_of_many_rows_matches_scalar_formula():
    rng = np.random.default_rng(11)
    strings, integers = rng.choice(["a", "bb", "ccc"], size=500), rng.integers(-3, 3, size=500)
    got = layers.HashedCrossing(97)([strings, integers])
    for s, i, bucket in zip(strings[:50], integers[:50], got[:50]):
        value = fingerprint.fingerprint_cat64(fingerprint.CROSS_HASH_KEY, fingerprint.fingerprint64(s))
        value = fingerprint.fingerprint_cat64(value, int(i) & (2**64 - 1))
        assert value % 97 == bucket


def tf_idf_model(k):
    documents = np.array([["a", "b", "a"], ["c", "a", "d"], ["b", "b", "e"]])
    lookup = k.layers.StringLookup(output_mode="tf_idf", name="documents_lookup")
    lookup.adapt(documents)
    integers = k.layers.IntegerLookup(output_mode="multi_hot", name="codes_lookup")
    integers.adapt(np.array([[3], [9], [3], [4]]))
    x_words, x_codes = k.Input((3,), dtype="string", name="words"), k.Input((1,), dtype="int64", name="codes")
    features = k.layers.Concatenate()([lookup(x_words), integers(x_codes)])
    return k.Model([x_words, x_codes], k.layers.Dense(1)(features)), [documents, np.array([[3], [5], [4]])]


def test_tf_idf_and_integer_vocabularies_cross_keras_files_both_ways(tmp_path):
    tf, keras = tf_keras()
    theirs, x = tf_idf_model(keras)
    theirs.save(str(tmp_path / "theirs.keras"))
    ours = fastdense.models.load_model(str(tmp_path / "theirs.keras"))
    np.testing.assert_allclose(ours.predict(x, verbose=0), keras_predict(tf, theirs, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.get_layer("documents_lookup").idf_weights,
                               np.asarray(theirs.get_layer("documents_lookup").idf_weights), rtol=1e-6)
    mine, x = tf_idf_model(fastdense)
    mine.save(str(tmp_path / "mine.keras"))
    loaded = keras.models.load_model(str(tmp_path / "mine.keras"))
    np.testing.assert_allclose(keras_predict(tf, loaded, x), mine.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert [int(v) for v in loaded.get_layer("codes_lookup").get_vocabulary()] == \
        mine.get_layer("codes_lookup").get_vocabulary()


def crossing_model(k, numeric, string, integer):
    discretization = k.layers.Discretization(num_bins=4)
    discretization.adapt(numeric)
    x_numeric = k.Input((1,), name="numeric")
    x_string = k.Input((1,), dtype="string", name="string")
    x_integer = k.Input((1,), dtype="int64", name="integer")
    buckets = discretization(x_numeric)
    crossed = k.layers.HashedCrossing(16, output_mode="one_hot")([x_string, x_integer])
    bucket_cross = k.layers.HashedCrossing(8)([buckets, x_integer])
    features = k.layers.Concatenate()([k.layers.CategoryEncoding(4, output_mode="one_hot")(buckets), crossed,
                                       k.layers.CategoryEncoding(8, output_mode="one_hot")(bucket_cross),
                                       k.layers.Rescaling(0.1)(x_numeric)])
    return k.Model([x_numeric, x_string, x_integer], k.layers.Dense(2)(features))


def test_chained_preprocessing_and_crossings_in_a_model_match_keras():
    tf, keras = tf_keras()
    numeric, integer, string, _ = table(rows=40)
    x = [numeric[:, :1], string, integer]
    keras.utils.set_random_seed(1)
    theirs = crossing_model(keras, *x)
    ours = crossing_model(fastdense, *x)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), keras_predict(tf, theirs, x), rtol=1e-5, atol=1e-6)
