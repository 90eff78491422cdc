"""Embedding: the native gather and its table gradient (finite differences, repeated ids summed),
parity with tf.keras, the dense formulation (one-hot + Dense(use_bias=False)) it equals for every
optimizer, id checks, configs and saving both ways."""

import numpy as np
import pytest

import fastdense
from fastdense import _core, layers
from gradcheck import central_differences, relative_error
from layer_parity import assert_same_training, config_without_name, fit_both
from native_step import OneBatch

VOCAB, SEQ, DIM = 20, 2, 3


def embedding_network(rng, ids, trainable=True):
    """ids → Embedding → Dense(tanh) on the flat (SEQ * DIM) rows → Dense → MSE, float64."""
    net = _core.Network("float64")
    x = net.add_input(SEQ)
    table = rng.normal(size=(VOCAB, DIM))
    e = net.add_embedding(x, table, trainable=trainable, name="emb")
    k1, b1 = rng.normal(size=(SEQ * DIM, 4)), rng.normal(size=4) * 0.1
    h = net.add_dense(e, k1, b1, {"name": "tanh"})
    k2, b2 = rng.normal(size=(4, 2)), rng.normal(size=2) * 0.1
    net.add_output(net.add_dense(h, k2, b2, {"name": "linear"}), {"name": "mean_squared_error"})
    params = ([table] if trainable else []) + [k1, b1, k2, b2]
    return OneBatch(net, params, [ids.astype(np.float64)], [rng.normal(size=(len(ids), 2))]), table


def test_table_gradient_matches_finite_differences_with_repeated_ids():
    rng = np.random.default_rng(0)
    ids = np.array([[1, 1], [3, 1], [7, 19], [3, 0], [0, 0]])  # id 1 three times, 0 three, 3 twice
    step, table = embedding_network(rng, ids)
    numeric = central_differences(step.loss, step.params)
    engine = step.gradient_by_one_step()
    assert relative_error(engine, numeric) < 1e-7
    unused = np.setdiff1d(np.arange(VOCAB), ids)
    np.testing.assert_array_equal(engine[0][unused], 0.0)  # rows of ids not in the batch get no gradient


def test_frozen_table_is_not_updated():
    rng = np.random.default_rng(1)
    step, table = embedding_network(rng, np.array([[1, 2], [3, 4]]), trainable=False)
    before = table.copy()
    step.train(1.0)
    np.testing.assert_array_equal(table, before)


def test_forward_gathers_rows_in_any_rank():
    model = fastdense.Sequential([layers.Input((2, 3)), layers.Embedding(10, 4)])
    ids = np.random.default_rng(2).integers(0, 10, size=(5, 2, 3))
    expected = model.layers[0].embeddings.numpy()[ids]
    assert model.output_shape == (None, 2, 3, 4)
    np.testing.assert_array_equal(model.predict(ids, verbose=0), expected)
    np.testing.assert_array_equal(model(ids), expected)


def test_integer_input_feeds_the_engine():
    inputs = layers.Input((SEQ,), dtype="int64")
    outputs = layers.Dense(1)(layers.Flatten()(layers.Embedding(VOCAB, DIM)(inputs)))
    model = fastdense.Model(inputs, outputs)
    model.compile("adam", "mse")
    ids = np.random.default_rng(3).integers(0, VOCAB, size=(16, SEQ))
    history = model.fit(ids, np.ones((16, 1)), epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]


# ------------------------------------------------------------------------------ id checks
@pytest.mark.parametrize("bad, error, message", [
    (VOCAB, IndexError, rf"Embedding 'words': id {VOCAB} is out of range \[0, {VOCAB}\)"),
    (-1, IndexError, r"Embedding 'words': id -1 is out of range"),
    (1.5, ValueError, "Embedding 'words': ids must be integers"),
    (np.nan, ValueError, "Embedding 'words': ids must be integers"),
])
def test_bad_ids_raise_naming_the_layer(bad, error, message):
    model = fastdense.Sequential([layers.Input((SEQ,)), layers.Embedding(VOCAB, DIM, name="words"), layers.Flatten(),
                                  layers.Dense(1)])
    model.compile("sgd", "mse")
    ids = np.zeros((4, SEQ))
    ids[2, 1] = bad
    with pytest.raises(error, match=message):
        model.predict(ids, verbose=0)
    with pytest.raises(ValueError, match=message if np.isfinite(bad) else "NaN"):  # fit checks for NaN first
        model.fit(ids, np.zeros((4, 1)), verbose=0)
    with pytest.raises((IndexError, ValueError), match="Embedding 'words'"):
        model(ids)  # the eager NumPy call checks too


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="input_dim"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(3, 2.5)
    with pytest.raises(ValueError, match="LoRA"):
        layers.Embedding(3, 2, lora_rank=2)


def test_initial_weights_argument():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    layer = layers.Embedding(4, 3, weights=[table])
    np.testing.assert_array_equal(layer.get_weights()[0], table)
    np.testing.assert_array_equal(layer(np.array([[3, 0]])), table[[[3, 0]]])


# ------------------------------------------------------------------------------ tf.keras parity
def distinct_id_batches(rng, batches=5, batch=8):
    """Each batch of `batch` rows uses every id at most once (SEQ * batch <= VOCAB)."""
    return np.concatenate([rng.permutation(VOCAB)[:SEQ * batch].reshape(batch, SEQ) for _ in range(batches)])


def embedding_stack(lib):
    return [lib.layers.Embedding(VOCAB, DIM), lib.layers.Flatten(), lib.layers.Dense(4, activation="tanh"),
            lib.layers.Dense(2)]


def adam(lib):
    return lib.optimizers.Adam(learning_rate=0.05)


def sgd(lib):
    return lib.optimizers.SGD(learning_rate=0.1, momentum=0.5)


def test_trains_like_tf_keras_with_adam_without_repeated_ids(keras):
    rng = np.random.default_rng(4)
    x = distinct_id_batches(rng).astype(np.float32)
    y = rng.normal(size=(len(x), 2)).astype(np.float32)
    tf_model, fd_model, histories = fit_both(keras, embedding_stack, adam, x, y, "mse")
    assert_same_training(tf_model, fd_model, histories, x)


def test_trains_like_tf_keras_with_sgd_and_repeated_ids(keras):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, size=(40, SEQ)).astype(np.float32)  # 4 ids for 16 slots a batch: many repeats
    y = rng.normal(size=(len(x), 2)).astype(np.float32)
    tf_model, fd_model, histories = fit_both(keras, embedding_stack, sgd, x, y, "mse")
    assert_same_training(tf_model, fd_model, histories, x)


def one_hot_stack(lib):
    """The dense formulation of embedding_stack: one-hot ids (batch, SEQ, VOCAB) → Dense(DIM, use_bias=False)."""
    return [lib.layers.Dense(DIM, use_bias=False), lib.layers.Flatten(), lib.layers.Dense(4, activation="tanh"),
            lib.layers.Dense(2)]


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "adagrad", "nadam"])
def test_repeated_ids_step_like_the_dense_formulation_not_like_tf_keras(keras, optimizer):
    rng = np.random.default_rng(6)
    ids = rng.integers(0, 4, size=(40, SEQ)).astype(np.float32)
    one_hot = np.eye(VOCAB, dtype=np.float32)[ids.astype(int)]
    y = rng.normal(size=(len(ids), 2)).astype(np.float32)

    def make_optimizer(lib):
        return lib.optimizers.get({"class_name": optimizer, "config": {"learning_rate": 0.05}})

    tf_dense, fd_dense, dense_histories = fit_both(keras, one_hot_stack, make_optimizer, one_hot, y, "mse")
    assert_same_training(tf_dense, fd_dense, dense_histories, one_hot)  # Dense on rank-3 inputs, natively

    # The same start for the Embedding models (tf.keras and fastdense) and fastdense's one-hot model.
    start = fresh_weights(rng)
    models = []
    for lib in (keras, fastdense):
        model = lib.Sequential([lib.Input((SEQ,)), *embedding_stack(lib)])
        model.compile(optimizer=make_optimizer(lib), loss="mse")
        models.append(model)
    tf_embedding, fd_embedding = models
    for model in models:
        model.set_weights(start)
    fd_reference = fastdense.Sequential([fastdense.Input((SEQ, VOCAB)), *one_hot_stack(fastdense)])
    fd_reference.compile(optimizer=make_optimizer(fastdense), loss="mse")
    fd_reference.set_weights(start)
    fit = dict(batch_size=8, epochs=3, shuffle=False, verbose=0)
    ours = fd_embedding.fit(ids, y, **fit).history["loss"]
    dense = fd_reference.fit(one_hot, y, **fit).history["loss"]
    theirs = tf_embedding.fit(ids, y, **fit).history["loss"]
    np.testing.assert_allclose(ours, dense, rtol=1e-5)
    for a, b in zip(fd_embedding.get_weights(), fd_reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # tf.keras's sparse rule squares each gathered row before repeats are summed: another step.
    assert not np.allclose(fd_embedding.get_weights()[0], tf_embedding.get_weights()[0], rtol=1e-3, atol=1e-4)
    assert not np.allclose(ours, theirs, rtol=1e-5)


def fresh_weights(rng):
    """Initial weights for embedding_stack: the table, then the two Dense layers' kernels and biases."""
    return [rng.uniform(-0.5, 0.5, size=(VOCAB, DIM)).astype(np.float32),
            rng.normal(size=(SEQ * DIM, 4)).astype(np.float32) * 0.5, np.zeros(4, np.float32),
            rng.normal(size=(4, 2)).astype(np.float32) * 0.5, np.zeros(2, np.float32)]


# ------------------------------------------------------------------------------ configs and saving
def test_default_config_matches_keras(keras):
    ours, theirs = layers.Embedding(VOCAB, DIM), keras.layers.Embedding(VOCAB, DIM)
    assert config_without_name(ours) == config_without_name(theirs)
    ours.build((None, SEQ))
    theirs.build((None, SEQ))
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]


def test_config_round_trips():
    layer = layers.Embedding(5, 2, embeddings_initializer="normal", embeddings_regularizer="l2",
                             embeddings_constraint="non_neg", mask_zero=True)
    assert config_without_name(layers.Embedding.from_config(layer.get_config())) == config_without_name(layer)


def trained(lib):
    rng = np.random.default_rng(7)
    model = lib.Sequential([lib.Input((SEQ,)), *embedding_stack(lib)])
    model.compile(optimizer="adam", loss="mse")
    ids = rng.integers(0, VOCAB, size=(16, SEQ)).astype(np.float32)
    model.fit(ids, rng.normal(size=(16, 2)).astype(np.float32), epochs=2, verbose=0)
    return model, ids


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_fastdense_file_loads_in_keras(keras, tmp_path, suffix):
    model, ids = trained(fastdense)
    model.save(tmp_path / f"m{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m{suffix}")
    np.testing.assert_allclose(np.asarray(loaded.predict(ids, verbose=0)), model.predict(ids, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_file_loads_in_fastdense(keras, tmp_path, suffix):
    model, ids = trained(keras)
    model.save(tmp_path / f"m{suffix}")
    loaded = fastdense.models.load_model(tmp_path / f"m{suffix}")
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), np.asarray(model.predict(ids, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    loaded.fit(ids, np.zeros((16, 2), np.float32), verbose=0)  # and it trains on


def test_json_round_trips_with_keras(keras):
    model, _ = trained(fastdense)
    rebuilt = keras.models.model_from_json(model.to_json())
    assert config_without_name(rebuilt.layers[0]) == config_without_name(model.layers[0])
    back = fastdense.models.model_from_json(rebuilt.to_json())
    assert config_without_name(back.layers[0]) == config_without_name(model.layers[0])


def test_string_lookup_feeds_an_embedding(keras, tf):
    """The keras.io recipe's categorical column: strings → StringLookup (before the engine) → Embedding."""
    rng = np.random.default_rng(8)
    x = rng.choice(["a", "b", "c", "unseen"], size=(24, 1))
    y = rng.normal(size=(24, 1)).astype(np.float32)
    models = []
    for lib in (keras, fastdense):
        inputs = lib.Input((1,), dtype="string")
        ids = lib.layers.StringLookup(vocabulary=["a", "b", "c"])(inputs)
        outputs = lib.layers.Dense(1)(lib.layers.Flatten()(lib.layers.Embedding(4, 2)(ids)))
        model = lib.Model(inputs, outputs)
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        models.append(model)
    tf_model, fd_model = models
    fd_model.set_weights(tf_model.get_weights())
    strings = tf.constant(x)  # tf.keras's fit takes no NumPy string arrays
    theirs = tf_model.fit(strings, y, batch_size=8, shuffle=False, epochs=2, verbose=0).history["loss"]
    ours = fd_model.fit(x, y, batch_size=8, shuffle=False, epochs=2, verbose=0).history["loss"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    np.testing.assert_allclose(fd_model.predict(x, verbose=0), np.asarray(tf_model.predict(strings, verbose=0)),
                               rtol=1e-5, atol=1e-6)
