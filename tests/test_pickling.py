"""pickle and copy.deepcopy of models (through the in-memory `.keras` archive, as Keras 3),
and of the objects that pickle as plain Python objects (layers, losses, metrics, unbuilt
optimizers)."""

import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest

import fastdense as fd
from fastdense import layers, losses, metrics, models, optimizers, saving


@saving.register_keras_serializable(package="pickling_test")
class Shift(layers.Layer):
    def __init__(self, offset=0.5, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale + self.offset

    def get_config(self):
        return dict(super().get_config(), offset=self.offset)


class ScopedDouble(layers.Layer):
    """Not registered: found through a custom-object scope."""

    def call(self, x):
        return 2.0 * x


def scoped_loss(y_true, y_pred):
    return np.mean(np.abs(y_true - y_pred), axis=-1)


class TwoDense(models.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(5, activation="tanh")
        self.out = layers.Dense(units)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {"units": self.units, "name": self.name}


def data(n=64, features=4, outputs=2):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, features)).astype("float32"), rng.normal(size=(n, outputs)).astype("float32")


def trained_model(optimizer="adam"):
    x, y = data()
    model = models.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dropout(0.0),
                               layers.Dense(2)])
    model.compile(optimizer, "mse", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    return model


def roundtrips():
    return [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy]


def assert_same_weights(a, b):
    assert len(a.get_weights()) == len(b.get_weights())
    for left, right in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(left, right)


@pytest.mark.parametrize("copy_model", roundtrips(), ids=["pickle", "deepcopy"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "nadam"])
def test_compiled_model_continues_training_exactly_like_the_original(copy_model, optimizer):
    x, y = data()
    model = trained_model(optimizer)
    copied = copy_model(model)
    assert copied is not model and type(copied) is type(model)
    assert [layer.name for layer in copied.layers] == [layer.name for layer in model.layers]
    assert [layer.get_config() for layer in copied.layers] == [layer.get_config() for layer in model.layers]
    assert_same_weights(copied, model)
    assert copied.compiled and type(copied.optimizer) is type(model.optimizer)
    assert copied.optimizer.iterations == model.optimizer.iterations == 8
    for left, right in zip(copied.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(left, right)  # the slots came along
    # The copy's weights are its own.
    assert all(a is not b for a, b in zip(copied.weights, model.weights))
    history_copy = copied.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0).history
    history_model = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0).history
    assert history_copy == history_model
    assert_same_weights(copied, model)
    # Shuffled batches too, from the same seed.
    fd.utils.set_random_seed(3)
    copied.fit(x, y, epochs=2, batch_size=16, verbose=0)
    fd.utils.set_random_seed(3)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert_same_weights(copied, model)


@pytest.mark.parametrize("copy_model", roundtrips(), ids=["pickle", "deepcopy"])
def test_training_the_copy_leaves_the_original_alone(copy_model):
    x, y = data()
    model = trained_model()
    before = model.get_weights()
    copied = copy_model(model)
    copied.fit(x, y, epochs=1, verbose=0)
    for left, right in zip(model.get_weights(), before):
        np.testing.assert_array_equal(left, right)
    assert model.optimizer.iterations == 8


@pytest.mark.parametrize("copy_model", roundtrips(), ids=["pickle", "deepcopy"])
def test_functional_multi_output_model(copy_model):
    a, b = layers.Input((4,), name="a"), layers.Input((3,), name="b")
    merged = layers.Concatenate()([layers.Dense(4)(a), b])
    outputs = {"first": layers.Dense(2, name="first")(merged), "second": layers.Dense(1, name="second")(merged)}
    model = models.Model([a, b], outputs)
    model.compile("adam", {"first": "mse", "second": "mae"})
    xa, xb = data(32, 4)[0], data(32, 3)[0]
    model.fit([xa, xb], {"first": np.ones((32, 2)), "second": np.zeros((32, 1))}, verbose=0)
    copied = copy_model(model)
    assert copied.input_names == model.input_names and copied.output_names == model.output_names
    for key, value in model.predict([xa, xb], verbose=0).items():
        np.testing.assert_array_equal(copied.predict([xa, xb], verbose=0)[key], value)


@pytest.mark.parametrize("copy_model", roundtrips(), ids=["pickle", "deepcopy"])
def test_uncompiled_and_unbuilt_models(copy_model):
    x, _ = data()
    built = models.Sequential([layers.Input((4,)), layers.Dense(3)])
    copied = copy_model(built)
    assert not copied.compiled
    np.testing.assert_array_equal(copied.predict(x, verbose=0), built.predict(x, verbose=0))

    unbuilt = models.Sequential([layers.Dense(3, name="only"), layers.Dense(1)], name="later")
    copied = copy_model(unbuilt)
    assert not copied.built and copied.name == "later" and [layer.name for layer in copied.layers][0] == "only"
    copied.compile("sgd", "mse")
    copied.fit(x, np.ones((64, 1)), verbose=0)  # builds from the data, like the original would
    assert copied.built and copied.count_params() == 4 * 3 + 3 + 3 + 1


@pytest.mark.parametrize("copy_model", roundtrips(), ids=["pickle", "deepcopy"])
def test_subclassed_model(copy_model):
    x, y = data(outputs=3)
    model = TwoDense(units=3)
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    copied = copy_model(model)
    assert type(copied) is TwoDense and copied.units == 3
    np.testing.assert_array_equal(copied.predict(x, verbose=0), model.predict(x, verbose=0))
    assert copied.optimizer.iterations == model.optimizer.iterations

    unbuilt = copy_model(TwoDense(units=2, name="later"))
    assert type(unbuilt) is TwoDense and not unbuilt.built and unbuilt.units == 2 and unbuilt.name == "later"
    assert unbuilt.predict(x, verbose=0).shape == (64, 2)


@pytest.mark.parametrize("copy_model", roundtrips(), ids=["pickle", "deepcopy"])
def test_custom_objects_registered_or_in_scope(copy_model):
    x, y = data()
    with saving.custom_object_scope({"ScopedDouble": ScopedDouble, "scoped_loss": scoped_loss}):
        model = models.Sequential([layers.Input((4,)), Shift(0.25), ScopedDouble(), layers.Dense(2)])
        model.compile("adam", scoped_loss)
        model.fit(x, y, verbose=0)
        payload = copy_model(model)
    # The copy was made inside the scope; it also unpickles outside of it.
    copied = pickle.loads(pickle.dumps(payload))
    assert isinstance(copied.layers[0], Shift) and copied.layers[0].offset == 0.25
    assert isinstance(copied.layers[1], ScopedDouble)
    np.testing.assert_array_equal(copied.predict(x, verbose=0), model.predict(x, verbose=0))
    assert copied.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


def test_pickled_model_loads_in_a_fresh_process(tmp_path):
    model = trained_model()
    x, _ = data()
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
    script = ("import pickle, sys, numpy as np\n"
              "d = sys.argv[1]\n"
              "model = pickle.load(open(d + '/model.pkl', 'rb'))\n"
              "np.testing.assert_array_equal(model.predict(np.load(d + '/x.npy'), verbose=0), "
              "np.load(d + '/expected.npy'))\n"
              "assert model.optimizer.iterations == 8\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=str(tmp_path),
                   env={**__import__("os").environ, "PYTHONPATH": ":".join(sys.path)})


def test_deepcopy_inside_a_container_keeps_sharing():
    model = trained_model()
    pair = copy.deepcopy({"a": model, "b": model})
    assert pair["a"] is pair["b"] and pair["a"] is not model


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(3, activation="relu", name="d"),
    lambda: losses.MeanSquaredError(),
    lambda: losses.BinaryCrossentropy(from_logits=True),
    lambda: metrics.BinaryAccuracy(),
    lambda: optimizers.Adam(0.01),
], ids=["layer", "loss", "loss-args", "metric", "unbuilt-optimizer"])
def test_components_pickle(make):
    obj = make()
    for copied in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
        assert type(copied) is type(obj) and copied.get_config() == obj.get_config()


def test_built_layer_pickles_with_its_weights():
    dense = layers.Dense(3)
    dense.build((None, 4))
    copied = pickle.loads(pickle.dumps(dense))
    np.testing.assert_array_equal(copied.get_weights()[0], dense.get_weights()[0])
    x = data()[0]
    np.testing.assert_allclose(fd.ops.convert_to_numpy(copied(x)), fd.ops.convert_to_numpy(dense(x)))


def doubled_tanh(x):
    return 2.0 * np.tanh(x)


def test_user_functions_held_by_layers_travel_with_the_pickle():
    x, _ = data()
    with saving.custom_object_scope({"doubled_tanh": doubled_tanh}):
        model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation=doubled_tanh)])
    copied = pickle.loads(pickle.dumps(model))  # unpickled outside the scope
    assert copied.layers[0].activation is doubled_tanh
    np.testing.assert_array_equal(copied.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("copy_optimizer", roundtrips(), ids=["pickle", "deepcopy"])
@pytest.mark.parametrize("make", [lambda: optimizers.Adam(0.01), lambda: optimizers.Nadam(0.01),
                                  lambda: optimizers.SGD(0.1, momentum=0.9)], ids=["adam", "nadam", "sgd"])
def test_built_optimizer_keeps_its_state(copy_optimizer, make):
    rng = np.random.default_rng(1)
    dense = layers.Dense(3)
    dense.build((None, 4))
    optimizer = make()
    grads = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=3).astype("float32")]
    optimizer.apply(grads, dense.trainable_weights)
    # Copy the optimizer with its variables, as one object graph (as pickling a model's parts would).
    copied_optimizer, copied_dense = copy_optimizer((optimizer, dense))
    assert copied_optimizer.iterations == 1 and copied_optimizer._native is not optimizer._native
    for left, right in zip(copied_optimizer.variables, optimizer.variables):
        np.testing.assert_array_equal(left, right)
    optimizer.apply(grads, dense.trainable_weights)
    copied_optimizer.apply(grads, copied_dense.trainable_weights)
    for left, right in zip(copied_dense.get_weights(), dense.get_weights()):
        np.testing.assert_array_equal(left, right)
    assert optimizer.iterations == 2  # the original was not touched by the copy's step



def test_a_model_pickles_to_the_same_bytes_each_time():
    """dask tokenizes and joblib hashes objects by their pickle: a model must give one token."""
    import time

    model = trained_model()
    first = pickle.dumps(model)
    time.sleep(1.1)  # the archive's save date and zip entry times have a one-second resolution
    assert pickle.dumps(model) == first
    model.fit(*data(), epochs=1, verbose=0)
    assert pickle.dumps(model) != first


def test_subclassed_model_file_round_trip_builds_before_reading_weights(tmp_path):
    """A subclassed model built from data writes its input shape as build_config (as Keras's
    Model does), and loading builds it from that before its weights are read."""
    x, y = data(outputs=3)
    model = TwoDense(units=3)
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert model.get_build_config() == {"input_shape": [None, 4]}
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras", custom_objects={"TwoDense": TwoDense})
    assert loaded.built
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
