"""RepeatVector, Permute and Dense on inputs of rank > 2 (leading axes are rows): native
gradients by finite differences, parity with tf.keras, configs and saving both ways."""

import numpy as np
import pytest

import fastdense
from fastdense import _core, layers
from gradcheck import central_differences, relative_error
from layer_parity import adam, assert_same_training, config_without_name, fit_both, sgd
from native_step import OneBatch


def test_gradients_match_finite_differences():
    """Dense(12) → as (3, 4) → Dense(5, tanh) per row → Permute((2, 1)) → RepeatVector-like gather of the
    15 values twice → Dense → MSE, float64 (the repeat sums the gradient of both copies)."""
    rng = np.random.default_rng(0)
    net = _core.Network("float64")
    x = net.add_input(12)
    k0 = rng.normal(size=(12, 12)) * 0.5  # its gradient needs the input gradient of the row-wise Dense
    k1, b1 = rng.normal(size=(4, 5)), rng.normal(size=5) * 0.1
    rows = net.add_dense(net.add_dense(x, k0, None, {"name": "linear"}), k1, b1, {"name": "tanh"}, rows_per_sample=3)
    permuted = net.add_column_gather(rows, "Permute", np.arange(15).reshape(3, 5).T.ravel().tolist())
    repeated = net.add_column_gather(permuted, "RepeatVector", np.tile(np.arange(15), 2).tolist())
    k2, b2 = rng.normal(size=(30, 2)), rng.normal(size=2) * 0.1
    net.add_output(net.add_dense(repeated, k2, b2, {"name": "linear"}), {"name": "mean_squared_error"})
    inputs = rng.normal(size=(6, 12))
    step = OneBatch(net, [k0, k1, b1, k2, b2], [inputs], [rng.normal(size=(6, 2))])
    numeric = central_differences(step.loss, step.params)
    assert relative_error(step.gradient_by_one_step(), numeric) < 1e-7


def test_dense_rows_need_the_width_they_were_built_for():
    net = _core.Network("float64")
    x = net.add_input(10)
    with pytest.raises(ValueError, match="input 0 has 10 features, expected 12"):
        net.add_dense(x, np.ones((4, 5)), None, {"name": "linear"}, rows_per_sample=3)
    with pytest.raises(IndexError, match="source column 10 is out of range"):
        net.add_column_gather(x, "Permute", [10])


def test_forward_matches_keras_semantics():
    x = np.random.default_rng(1).normal(size=(3, 2, 3, 4))
    model = fastdense.Sequential([layers.Input((2, 3, 4)), layers.Permute((3, 1, 2))])
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.transpose(x, (0, 3, 1, 2)).astype(np.float32))
    flat = x.reshape(3, -1)
    model = fastdense.Sequential([layers.Input((24,)), layers.RepeatVector(3)])
    assert model.output_shape == (None, 3, 24)
    np.testing.assert_array_equal(model.predict(flat, verbose=0), np.repeat(flat[:, None], 3, 1).astype(np.float32))
    dense = fastdense.Sequential([layers.Input((2, 3, 4)), layers.Dense(5)])
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(dense.predict(x, verbose=0), x @ kernel + bias, rtol=1e-5, atol=1e-6)
    assert dense.layers[0].output.shape == (None, 2, 3, 5)


def reshaping_stack(lib):
    return [lib.layers.Reshape((3, 4)), lib.layers.Dense(5, activation="tanh"), lib.layers.Permute((2, 1)),
            lib.layers.Flatten(), lib.layers.Dense(6, activation="relu"), lib.layers.RepeatVector(2),
            lib.layers.Dense(3, activation="softmax"), lib.layers.Flatten(), lib.layers.Dense(2)]


@pytest.mark.parametrize("optimizer", [sgd, adam])
def test_trains_like_tf_keras(keras, optimizer):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 12)).astype(np.float32)
    y = rng.normal(size=(40, 2)).astype(np.float32)
    tf_model, fd_model, histories = fit_both(keras, reshaping_stack, optimizer, x, y, "mse")
    assert_same_training(tf_model, fd_model, histories, x)


def test_rank_3_softmax_output_trains_like_tf_keras(keras):
    """A Dense(softmax) on (batch, 3, 4) as the output: the softmax normalizes each row."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 12)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(40, 3))]

    def make(lib):
        return [lib.layers.Reshape((3, 4)), lib.layers.Dense(4, activation="softmax")]

    tf_model, fd_model, histories = fit_both(keras, make, sgd, x, y, "mse")
    assert_same_training(tf_model, fd_model, histories, x)
    np.testing.assert_allclose(fd_model.predict(x, verbose=0).sum(-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("name, args", [("RepeatVector", (3,)), ("Permute", ((2, 1),))])
def test_configs_match_keras_and_round_trip(keras, name, args):
    ours, theirs = getattr(layers, name)(*args), getattr(keras.layers, name)(*args)
    assert config_without_name(ours) == config_without_name(theirs)
    assert config_without_name(type(ours).from_config(ours.get_config())) == config_without_name(ours)


def test_rejects_bad_arguments_and_shapes():
    with pytest.raises(TypeError, match="integer"):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match="Invalid permutation"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match="expected ndim=2"):
        layers.RepeatVector(2)(layers.Input((2, 3)))
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.Permute((2, 1))(layers.Input((2, 3, 4)))


@pytest.mark.parametrize("direction", ["fastdense to keras", "keras to fastdense"])
def test_keras_files_load_both_ways(keras, tmp_path, direction):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(16, 12)).astype(np.float32)
    source, target = (fastdense, keras) if direction == "fastdense to keras" else (keras, fastdense)
    model = source.Sequential([source.Input((12,)), *reshaping_stack(source)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, rng.normal(size=(16, 2)).astype(np.float32), epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = target.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), np.asarray(model.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence"])
def test_last_axis_losses_on_rank_3_outputs_match_keras(keras, loss):
    """Crossentropy and KL reduce each row of the last axis, then average the other axes (Keras's
    formula); the engine's flattened-sample form would treat a (3, 4) sample as one distribution."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 12)).astype("float32")
    labels = rng.integers(0, 4, (32, 3))
    y = labels if loss.startswith("sparse") else np.eye(4, dtype="float32")[labels]

    def build(library):
        inputs = library.layers.Input((12,))
        hidden = library.layers.Reshape((3, 4))(inputs)
        return library.Model(inputs, library.layers.Dense(4, activation="softmax")(hidden))

    ours, theirs = build(fastdense), build(keras)
    theirs.set_weights(ours.get_weights())
    ours.compile("sgd", loss)
    theirs.compile("sgd", loss)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-5)
    history = ours.fit(x, y, epochs=2, verbose=0, shuffle=False).history["loss"]
    expected = theirs.fit(x, y, epochs=2, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(history, expected, rtol=1e-5)
