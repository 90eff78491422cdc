"""clone_model: Keras 3's semantics (keras/src/models/cloning.py), checked against tf.keras."""

import json

import numpy as np
import pytest

import fastdense
from fastdense import layers, models, optimizers

tf = pytest.importorskip("tensorflow")
keras = tf.keras


def sequential(k, compiled=False):
    model = k.Sequential([k.layers.Input((4,), name="features"), k.layers.Dense(8, activation="relu", name="hidden"),
                          k.layers.Dropout(0.1, name="drop"), k.layers.Dense(2, name="head")], name="stack")
    if compiled:
        model.compile(k.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


def functional(k, compiled=False):
    a = k.layers.Input((4,), name="a")
    b = k.layers.Input((3,), name="b")
    shared = k.layers.Dense(5, activation="tanh", name="shared")
    merged = k.layers.Concatenate(name="merge")([shared(a), k.layers.Dense(5, name="side")(b)])
    outputs = {"score": k.layers.Dense(1, name="score")(merged), "label": k.layers.Dense(2, name="label")(merged)}
    model = k.Model([a, b], outputs, name="graph")
    if compiled:
        model.compile("sgd", {"score": "mse", "label": "mae"})
    return model


def description(model):
    return ([type(layer).__name__ for layer in model.layers], [layer.name for layer in model.layers],
            [layer.get_config() for layer in model.layers], [w.shape for w in model.get_weights()], model.name)


def comparable(configs):
    """Layer configs without what the two libraries write differently (dtype policies)."""
    return [json.loads(json.dumps({key: value for key, value in config.items() if key not in ("dtype", "seed")}))
            for config in configs]


@pytest.mark.parametrize("build", [sequential, functional], ids=["sequential", "functional"])
def test_clone_matches_tf_keras(build):
    fd_model, tf_model = build(fastdense), build(keras)
    fd_clone, tf_clone = models.clone_model(fd_model), keras.models.clone_model(tf_model)
    fd_types, fd_names, fd_configs, fd_shapes, fd_name = description(fd_clone)
    tf_types, tf_names, tf_configs, tf_shapes, tf_name = description(tf_clone)
    assert (fd_types, fd_names, fd_shapes, fd_name) == (tf_types, tf_names, [tuple(s) for s in tf_shapes], tf_name)
    assert type(fd_clone) is type(fd_model)
    # The clone's layers are configured exactly as the original's.
    assert fd_configs == description(fd_model)[2]
    assert comparable(fd_configs) == comparable(tf_configs)
    if build is functional:
        assert fd_clone.input_names == fd_model.input_names == ["a", "b"]
        assert sorted(fd_clone.output_names) == sorted(fd_model.output_names)


@pytest.mark.parametrize("build", [sequential, functional], ids=["sequential", "functional"])
def test_clone_has_new_layers_with_fresh_weights(build):
    model = build(fastdense)
    clone = models.clone_model(model)
    assert all(new is not old for new, old in zip(clone.layers, model.layers))
    assert all(new is not old for new, old in zip(clone.weights, model.weights))
    kernels = [(a, b) for a, b in zip(clone.get_weights(), model.get_weights()) if a.ndim == 2]
    assert kernels and all(not np.array_equal(a, b) for a, b in kernels)  # re-initialized, as in Keras


def test_training_the_clone_leaves_the_original_alone():
    model = sequential(fastdense, compiled=True)
    x, y = np.random.default_rng(0).normal(size=(32, 4)), np.zeros((32, 2))
    model.fit(x, y, verbose=0)
    before = model.get_weights()
    clone = models.clone_model(model)
    assert clone.compiled and clone.optimizer is not model.optimizer
    assert type(clone.optimizer) is optimizers.Adam and clone.optimizer.learning_rate == pytest.approx(0.01)
    assert clone.optimizer.iterations == 0  # a new optimizer from the compile config, as in Keras
    clone.fit(x, y, epochs=2, verbose=0)
    for after, original in zip(model.get_weights(), before):
        np.testing.assert_array_equal(after, original)
    assert model.optimizer.iterations == 1


def test_compiled_functional_clone_is_compiled_like_the_original():
    model = functional(fastdense, compiled=True)
    clone = models.clone_model(model)
    assert clone.compiled and clone.get_compile_config() == model.get_compile_config()
    xa, xb = np.ones((8, 4)), np.ones((8, 3))
    clone.fit([xa, xb], {"score": np.ones((8, 1)), "label": np.ones((8, 2))}, verbose=0)


def test_shared_layers_stay_shared():
    a = layers.Input((4,), name="a")
    dense = layers.Dense(4, name="twice")
    model = models.Model(a, dense(dense(a)))
    clone = models.clone_model(model)
    assert [layer.name for layer in clone.layers] == ["a", "twice"]
    assert len(clone.get_weights()) == 2


@pytest.mark.parametrize("lib", ["fastdense", "tf.keras"])
def test_clone_function_is_applied_per_layer(lib):
    k = fastdense if lib == "fastdense" else keras
    model = sequential(k)
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        config = layer.get_config()
        if "units" in config:
            config["units"] *= 2
            config["name"] = config["name"] + "_wide"
        return layer.__class__.from_config(config)

    clone = k.models.clone_model(model, clone_function=clone_function)
    assert seen == ["hidden", "drop", "head"]
    assert [layer.name for layer in clone.layers] == ["hidden_wide", "drop", "head_wide"]
    assert tuple(clone.outputs[0].shape) == (None, 4)


def test_clone_function_may_reuse_layers():
    model = functional(fastdense)
    clone = models.clone_model(model, clone_function=lambda layer: layer)
    shared_names = [layer.name for layer in clone.layers if not isinstance(layer, layers.InputLayer)]
    original = {layer.name: layer for layer in model.layers}
    assert all(layer is original[layer.name] for layer in clone.layers if layer.name in shared_names)
    assert clone.get_weights()[0] is not None
    for a, b in zip(clone.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("lib", ["fastdense", "tf.keras"])
def test_call_function_inserts_layers(lib):
    k = fastdense if lib == "fastdense" else keras
    a = k.layers.Input((4,), name="a")
    model = k.Model(a, k.layers.Dense(2, name="out")(k.layers.Dense(3, name="mid")(a)))

    def call_function(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        if isinstance(layer, k.layers.Dense) and layer.name == "mid":
            out = k.layers.Dropout(0.5, name="after_mid")(out)
        return out

    clone = k.models.clone_model(model, clone_function=lambda layer: layer, call_function=call_function)
    assert [layer.name for layer in clone.layers] == ["a", "mid", "after_mid", "out"]


@pytest.mark.parametrize("lib", ["fastdense", "tf.keras"])
def test_input_tensors(lib):
    k = fastdense if lib == "fastdense" else keras
    model = sequential(k)
    new_input = k.layers.Input((4,), name="renamed")
    clone = k.models.clone_model(model, input_tensors=new_input)
    assert clone.layers[0].name == "hidden" and clone.inputs[0] is new_input

    graph = functional(k)
    new_inputs = [k.layers.Input((4,), name="x1"), k.layers.Input((3,), name="x2")]
    clone = k.models.clone_model(graph, input_tensors=new_inputs)
    assert [t.name for t in clone.inputs] == [t.name for t in new_inputs]
    with pytest.raises(ValueError, match="same structure"):
        k.models.clone_model(graph, input_tensors=new_inputs[:1])
    with pytest.raises(ValueError, match="KerasTensor"):
        k.models.clone_model(model, input_tensors=np.ones((1, 4)))


@pytest.mark.parametrize("lib", ["fastdense", "tf.keras"])
def test_recursive(lib):
    k = fastdense if lib == "fastdense" else keras
    inner = k.Sequential([k.layers.Input((4,)), k.layers.Dense(3, name="inner_dense")], name="inner")
    a = k.layers.Input((4,), name="a")
    model = k.Model(a, k.layers.Dense(1, name="top")(inner(a)))
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        return layer.__class__.from_config(layer.get_config())

    k.models.clone_model(model, clone_function=clone_function)
    assert seen == ["inner", "top"]
    seen.clear()
    clone = k.models.clone_model(model, clone_function=clone_function, recursive=True)
    assert seen == ["inner_dense", "top"]
    assert [layer.name for layer in clone.layers] == ["a", "inner", "top"]


def test_sequential_input_tensors_must_come_from_input():
    model = sequential(fastdense)
    hidden = layers.Dense(4)(layers.Input((3,)))
    with pytest.raises(ValueError, match="Input"):
        models.clone_model(model, input_tensors=hidden)


def test_unbuilt_sequential():
    model = models.Sequential([layers.Dense(3, name="d")], name="lazy")
    clone = models.clone_model(model)
    assert not clone.built and clone.name == "lazy" and clone.layers[0].name == "d"
    clone.build((None, 5))
    assert clone.count_params() == 18


class Scaler(models.Model):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units)

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {"units": self.units, "name": self.name}


def test_subclassed_model_is_rebuilt_from_its_config():
    model = Scaler(units=3)
    model(np.ones((2, 4)))
    clone = models.clone_model(model)
    assert type(clone) is Scaler and clone.units == 3 and clone is not model
    assert not clone.built  # from the config, not from the graph, as Keras
    with pytest.raises(ValueError, match="clone_function"):
        models.clone_model(model, clone_function=lambda layer: layer)
    with pytest.raises(ValueError, match="call_function"):
        models.clone_model(model, call_function=lambda layer, *a, **kw: layer(*a, **kw))


def test_argument_errors():
    model = sequential(fastdense)
    with pytest.raises(ValueError, match="Unexpected keyword"):
        models.clone_model(model, bogus=1)
    with pytest.raises(ValueError, match="call_function"):
        models.clone_model(model, call_function=lambda layer, *a, **kw: layer(*a, **kw))
    with pytest.raises(ValueError, match="Model"):
        models.clone_model(layers.Dense(2))
