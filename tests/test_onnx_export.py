"""model.export(path, format="onnx"): a catalogue of models exported and run in onnxruntime,
whose outputs must equal model.predict's within 1e-5 at batch 1 and batch 37; every file must
pass onnx.checker with full shape inference. Then the graph's own properties (names, dynamic
batch, IR/opset versions, weights stored once) and the errors.

onnx and onnxruntime are optional libraries (the `onnx` and `test` extras)."""

import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import fastdense
from fastdense import activations, layers, models  # noqa: E402
from fastdense.export.onnx_activations import ACTIVATION_CONVERTERS, convert_activation  # noqa: E402
from fastdense.export.onnx_graph import OnnxGraph  # noqa: E402

BATCH_SIZES = (1, 37)
TOLERANCE = dict(rtol=1e-5, atol=1e-5)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # the test machine is shared
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export(model, tmp_path, **kwargs):
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx", verbose=False, **kwargs)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def samples(model, batch, seed=0, scale=2.0):
    """One array per model input, spread wide enough to cross every activation's kinks."""
    rng = np.random.default_rng(seed + batch)
    return [(scale * rng.normal(size=(batch,) + tuple(t.shape[1:]))).astype(t.dtype) for t in model.inputs]


def assert_matches_predict(model, tmp_path, **export_kwargs):
    """Exports `model` and checks onnxruntime's outputs against predict at both batch sizes."""
    runtime = session(export(model, tmp_path, **export_kwargs))
    for batch in BATCH_SIZES:
        xs = samples(model, batch)
        expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        expected = list(expected) if isinstance(expected, (list, tuple)) else [expected]
        got = runtime.run(None, {spec.name: x for spec, x in zip(runtime.get_inputs(), xs)})
        assert len(got) == len(expected)
        for value, reference in zip(got, expected):
            assert value.dtype == reference.dtype
            np.testing.assert_allclose(value, reference, **TOLERANCE)
    return runtime


def trained(model, epochs=3):
    """`model` after a few epochs of training: moving statistics and weights are not their initial values."""
    rng = np.random.default_rng(7)
    xs = [rng.normal(loc=1.5, scale=3.0, size=(64,) + tuple(t.shape[1:])).astype(t.dtype) for t in model.inputs]
    ys = [rng.normal(size=(64,) + tuple(t.shape[1:])).astype(t.dtype) for t in model.outputs]
    model.compile(optimizer="adam", loss="mse")
    model.fit(xs if len(xs) > 1 else xs[0], ys if len(ys) > 1 else ys[0], epochs=epochs, batch_size=16, verbose=0)
    return model


# Every activation fastdense runs natively, by name (threshold needs arguments: see below).
ACTIVATION_NAMES = sorted(name for name in activations.__all__
                          if name not in ("get", "serialize", "deserialize", "native_config", "threshold"))


def test_every_activation_has_a_converter():
    for name in ACTIVATION_NAMES + ["threshold"]:
        config = activations.native_config(activations.get(name)) if name != "threshold" else {"name": name}
        assert config["name"] in ACTIVATION_CONVERTERS, name


# ------------------------------------------------------------------------- activations
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_dense_with_each_activation(name, dtype, tmp_path):
    """Each activation in a Dense, then as a layer after a relu (onnxruntime fuses some operator
    pairs, such as Relu then Clip); the LayerNormalization keeps exponential's input moderate."""
    model = models.Sequential([layers.Input((6,), dtype=dtype), layers.Dense(16, activation=name, dtype=dtype),
                               layers.LayerNormalization(dtype=dtype), layers.Activation("relu", dtype=dtype),
                               layers.Activation(name, dtype=dtype), layers.Dense(5, dtype=dtype)])
    assert_matches_predict(model, tmp_path)


def _run_activation(config, x, opset=18):
    """One activation converted on its own, run in onnxruntime on x."""
    graph = OnnxGraph(x.dtype.name, opset)
    graph.reserve("x")
    graph.bind_output(convert_activation(graph, "x", config, "act"), graph.fresh_name("y"))
    proto = graph.model([graph.value_info("x", (None,) + x.shape[1:])], [graph.value_info("y", (None,) + x.shape[1:])],
                        "activation", "test")
    onnx.checker.check_model(proto, full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    runtime = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return runtime.run(None, {"x": x})[0]


# Arguments only a layer or a custom function passes; each is checked against the function.
PARAMETRIZED = [
    ("relu", dict(negative_slope=0.1)),
    ("relu", dict(max_value=1.5)),
    ("relu", dict(threshold=0.5)),
    ("relu", dict(negative_slope=0.2, max_value=3.0, threshold=-0.5)),
    ("relu", dict(negative_slope=0.3, max_value=6.0)),
    ("leaky_relu", dict(negative_slope=0.05)),
    ("elu", dict(alpha=0.5)),
    ("celu", dict(alpha=2.0)),
    ("gelu", dict(approximate=True)),
    ("soft_shrink", dict(threshold=1.0)),
    ("hard_shrink", dict(threshold=0.25)),
    ("squareplus", dict(b=0.5)),
    ("threshold", dict(threshold=0.3, default_value=-2.0)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, arguments", PARAMETRIZED, ids=[f"{n}-{a}" for n, a in PARAMETRIZED])
def test_activation_arguments(name, arguments, dtype):
    x = np.concatenate([np.linspace(-8, 8, 321), [-1.0, 0.0, 0.5, 1.0, 6.0, -0.5]]).astype(dtype).reshape(-1, 1)
    function = getattr(activations, name)
    config = dict(activations.native_config(function) or {"name": name})
    config.update({"alpha" if key == "negative_slope" else key: value for key, value in arguments.items()})
    np.testing.assert_allclose(_run_activation(config, x), function(x, **arguments), **TOLERANCE)


@pytest.mark.parametrize("opset", [17, 18, 20])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activations_at_each_opset_and_dtype(opset, dtype):
    """Opset 17 composes Mish, opset 20 has Gelu; float64 avoids the operators onnxruntime
    only has float32 kernels for (Celu, Erf)."""
    x = np.linspace(-9, 9, 181).astype(dtype).reshape(-1, 1)
    for name in ACTIVATION_NAMES:
        if name in ("softmax", "log_softmax"):
            continue  # normalised over a row: checked on whole models
        function = activations.get(name)
        np.testing.assert_allclose(_run_activation(activations.native_config(function), x, opset), function(x),
                                   err_msg=name, **TOLERANCE)


@pytest.mark.parametrize("layer", [
    layers.ReLU(), layers.ReLU(max_value=2.0), layers.ReLU(negative_slope=0.1, threshold=0.5),
    layers.ReLU(max_value=6.0, negative_slope=0.2, threshold=1.0), layers.LeakyReLU(), layers.LeakyReLU(0.01),
    layers.ELU(), layers.ELU(alpha=0.3), layers.Softmax(),
], ids=lambda layer: f"{type(layer).__name__}-{layer.name}")
def test_activation_layers(layer, tmp_path):
    model = models.Sequential([layers.Input((7,)), layers.Dense(12), layer, layers.Dense(3)])
    assert_matches_predict(model, tmp_path)


def test_softmax_along_other_and_several_axes(tmp_path):
    inputs = layers.Input((6,))
    x = layers.Reshape((2, 3))(inputs)
    outputs = [layers.Flatten()(layers.Softmax(axis=1)(x)), layers.Flatten()(layers.Softmax(axis=[1, 2])(x))]
    assert_matches_predict(models.Model(inputs, outputs), tmp_path)


# -------------------------------------------------------------------------------- layers
def test_embedding_repeat_vector_permute_and_row_wise_dense(tmp_path):
    ids = layers.Input((3,))
    embedded = layers.Embedding(10, 4)(ids)  # (batch, 3, 4)
    rows = layers.Dense(5, activation="softmax")(layers.Permute((2, 1))(embedded))  # (batch, 4, 5)
    repeated = layers.RepeatVector(2)(layers.Dense(3)(layers.Flatten()(rows)))  # (batch, 2, 3)
    model = models.Model(ids, layers.Flatten()(repeated))
    runtime = session(export(model, tmp_path))
    op_types = {node.op_type for node in onnx.load(str(tmp_path / "model.onnx")).graph.node}
    assert {"Cast", "Gather", "Transpose", "MatMul", "Unsqueeze", "Tile"} <= op_types, op_types
    for batch in BATCH_SIZES:
        x = np.random.default_rng(batch).integers(0, 10, size=(batch, 3)).astype(np.float32)
        np.testing.assert_allclose(runtime.run(None, {runtime.get_inputs()[0].name: x})[0],
                                   model.predict(x, verbose=0), **TOLERANCE)


def test_dropout_and_gaussian_noise_are_identity_at_inference(tmp_path):
    model = trained(models.Sequential([layers.Input((5,)), layers.Dense(16, activation="relu"), layers.Dropout(0.5),
                                       layers.GaussianNoise(1.0), layers.Dense(2)]))
    runtime = assert_matches_predict(model, tmp_path)
    op_types = {node.op_type for node in onnx.load(str(tmp_path / "model.onnx")).graph.node}
    assert op_types == {"Gemm", "Relu"}, op_types
    assert runtime.get_inputs()[0].shape == ["batch", 5]


@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False), (False, False)])
def test_batch_normalization_after_training(center, scale, tmp_path):
    model = trained(models.Sequential([
        layers.Input((6,)), layers.Dense(8), layers.BatchNormalization(center=center, scale=scale, momentum=0.5),
        layers.Dense(3)]))
    bn = model.layers[1]
    assert np.abs(bn.moving_mean.numpy()).max() > 0.1 and np.abs(bn.moving_variance.numpy() - 1).max() > 0.1
    assert_matches_predict(model, tmp_path)


@pytest.mark.parametrize("center, scale", [(True, True), (False, False)])
def test_layer_normalization(center, scale, tmp_path):
    model = trained(models.Sequential([layers.Input((6,)), layers.Dense(8),
                                       layers.LayerNormalization(center=center, scale=scale), layers.Dense(3)]))
    assert_matches_predict(model, tmp_path)
    assert "LayerNormalization" in {node.op_type for node in onnx.load(str(tmp_path / "model.onnx")).graph.node}


def test_normalizations_and_prelu_on_rank_3_inputs(tmp_path):
    """Axes that are not the last: BatchNormalization(axis=1), LayerNormalization over axis 1
    (composed from ReduceMean) and over the trailing axes (the operator), PReLU with shared
    axes, Dense on a rank-3 input (MatMul + Add)."""
    inputs = layers.Input((6,))
    x = layers.Reshape((2, 3))(inputs)
    x = layers.Dense(4, activation="tanh")(x)
    x = layers.BatchNormalization(axis=1, gamma_initializer="random_normal", beta_initializer="random_normal")(x)
    x = layers.LayerNormalization(axis=1, gamma_initializer="random_normal", beta_initializer="random_normal")(x)
    x = layers.LayerNormalization(axis=[1, 2])(x)
    x = layers.PReLU(alpha_initializer="random_normal", shared_axes=[1])(x)
    model = models.Model(inputs, layers.Flatten()(x))
    assert_matches_predict(model, tmp_path)


def test_prelu_after_training(tmp_path):
    model = trained(models.Sequential([layers.Input((4,)), layers.Dense(6), layers.PReLU(alpha_initializer="ones"),
                                       layers.Dense(2)]))
    assert np.abs(model.layers[1].alpha.numpy() - 1).max() > 0
    assert_matches_predict(model, tmp_path)


def test_dense_without_bias_flatten_and_reshape(tmp_path):
    model = models.Sequential([layers.Input((2, 3)), layers.Flatten(), layers.Dense(8, use_bias=False),
                               layers.Reshape((4, 2)), layers.Reshape((-1,)), layers.Dense(2, activation="sigmoid")])
    assert_matches_predict(model, tmp_path)


@pytest.mark.parametrize("merge", [layers.Add, layers.Multiply, layers.Average, layers.Maximum, layers.Minimum,
                                   layers.Concatenate])
def test_merges_of_three_inputs(merge, tmp_path):
    inputs = [layers.Input((4,), name=f"in_{i}") for i in range(3)]
    branches = [layers.Dense(5, activation="tanh")(x) for x in inputs]
    model = models.Model(inputs, layers.Dense(2)(merge()(branches)))
    assert_matches_predict(model, tmp_path)


def test_subtract(tmp_path):
    a, b = layers.Input((3,)), layers.Input((3,))
    assert_matches_predict(models.Model([a, b], layers.Subtract()([a, b])), tmp_path)


# ---------------------------------------------------------------------------------- graphs
def test_multi_input_multi_output_names_and_dynamic_batch(tmp_path):
    a = layers.Input((4,), name="features")
    b = layers.Input((2,), name="extra")
    x = layers.Concatenate()([layers.Dense(8, activation="relu")(a), b])
    model = models.Model([a, b], [layers.Dense(1, name="score")(x), layers.Dense(3, activation="softmax",
                                                                                 name="label")(x)])
    runtime = assert_matches_predict(model, tmp_path)
    assert [(i.name, i.shape) for i in runtime.get_inputs()] == [("features", ["batch", 4]), ("extra", ["batch", 2])]
    assert [(o.name, o.shape) for o in runtime.get_outputs()] == [("score", ["batch", 1]), ("label", ["batch", 3])]


def test_nested_models_and_shared_layers(tmp_path):
    """A Sequential and a functional model nested inside a model, the functional one called
    twice, and a Dense shared by two inputs: every call converted, every weight stored once."""
    inner_in = layers.Input((4,))
    inner = models.Model(inner_in, layers.Dense(4, activation="elu")(layers.BatchNormalization()(inner_in)),
                         name="inner")
    block = models.Sequential([layers.Input((4,)), layers.Dense(4, activation="swish"), layers.LayerNormalization()],
                              name="block")
    shared = layers.Dense(4, activation="tanh", name="shared")
    a, b = layers.Input((4,), name="a"), layers.Input((4,), name="b")
    x = layers.Add()([inner(shared(a)), inner(block(shared(b)))])
    model = trained(models.Model([a, b], layers.Dense(2, name="out")(x)))
    assert_matches_predict(model, tmp_path)
    initializers = onnx.load(str(tmp_path / "model.onnx")).graph.initializer
    weights = [i for i in initializers if i.dims and not i.name.startswith("const")]
    # shared kernel+bias, inner BN scale+shift and Dense kernel+bias, block Dense kernel+bias and
    # LayerNormalization gamma+beta, out kernel+bias.
    assert len(weights) == 12, [i.name for i in weights]


def test_shared_layer_output_twice_and_input_passed_through(tmp_path):
    x = layers.Input((3,), name="x")
    dense = layers.Dense(3, name="d")
    model = models.Model(x, [dense(x), dense(dense(x)), x])
    runtime = assert_matches_predict(model, tmp_path)
    assert [o.name for o in runtime.get_outputs()] == ["d", "d_1", "x_1"]


def test_dict_inputs(tmp_path):
    inputs = {"b": layers.Input((2,), name="b"), "a": layers.Input((3,), name="a")}
    model = models.Model(inputs, layers.Dense(1)(layers.Concatenate()([inputs["a"], inputs["b"]])))
    runtime = session(export(model, tmp_path))
    xs = {"a": np.ones((2, 3), "float32"), "b": np.full((2, 2), 0.5, "float32")}
    np.testing.assert_allclose(runtime.run(None, xs)[0], model.predict(xs, verbose=0), **TOLERANCE)


def test_built_but_never_called_models_export(tmp_path):
    """tf.keras refuses to export a model that never ran; fastdense reads the layers, so a
    model built from an Input or with build() exports straight away."""
    assert_matches_predict(models.Sequential([layers.Input((3,)), layers.Dense(2, activation="relu")]), tmp_path)
    built = models.Sequential([layers.Dense(4, activation="selu"), layers.Dense(1)])
    built.build((None, 5))
    assert_matches_predict(built, tmp_path)


def test_subclassed_model(tmp_path):
    class TwoTowers(models.Model):
        def __init__(self):
            super().__init__()
            self.left = layers.Dense(4, activation="relu")
            self.right = layers.Dense(4, activation="sigmoid")
            self.head = layers.Dense(1)

        def call(self, inputs):
            return self.head(layers.Multiply()([self.left(inputs), self.right(inputs)]))

    model = TwoTowers()
    model.build((None, 3))
    assert_matches_predict(model, tmp_path)


def test_float64_model(tmp_path):
    x = layers.Input((5,), dtype="float64")
    h = layers.Dense(8, activation="gelu", dtype="float64")(x)
    h = layers.Dense(8, activation="celu", dtype="float64")(h)
    h = layers.BatchNormalization(dtype="float64")(layers.LayerNormalization(dtype="float64")(h))
    model = models.Model(x, layers.Average(dtype="float64")([h, layers.Dense(8, dtype="float64")(h)]))
    runtime = assert_matches_predict(trained(model), tmp_path)
    assert runtime.get_inputs()[0].type == "tensor(double)"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opset", [17, 20, 21])
def test_other_opsets(opset, dtype, tmp_path):
    model = models.Sequential([layers.Input((6,), dtype=dtype), layers.Dense(8, activation="mish", dtype=dtype),
                               layers.LayerNormalization(axis=-1, dtype=dtype), layers.PReLU(dtype=dtype),
                               layers.Dense(4, activation="gelu", dtype=dtype)])
    assert_matches_predict(trained(model), tmp_path, opset_version=opset)
    assert onnx.load(str(tmp_path / "model.onnx")).opset_import[0].version == opset


# The ONNX operator each activation becomes in a float32 graph at the default opset.
OPERATORS = {"relu": "Relu", "leaky_relu": "LeakyRelu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
             "log_softmax": "LogSoftmax", "elu": "Elu", "selu": "Selu", "celu": "Celu", "softplus": "Softplus",
             "softsign": "Softsign", "hard_sigmoid": "HardSigmoid", "hard_silu": "HardSwish", "mish": "Mish",
             "gelu": "Erf", "exponential": "Exp", "relu6": "Clip", "hard_shrink": "Shrink", "soft_shrink": "Shrink"}


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_activations_use_the_standard_operator(name, tmp_path):
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, activation=name)])
    op_types = [node.op_type for node in onnx.load(str(export(model, tmp_path))).graph.node]
    assert op_types[0] == "Gemm" and OPERATORS[name] in op_types, op_types


def test_versions_the_file_declares(tmp_path):
    """IR 8 and opset 18 by default: onnx 1.23 would write IR 14, which onnxruntime releases
    before 1.23 refuse."""
    proto = onnx.load(str(export(models.Sequential([layers.Input((2,)), layers.Dense(1)]), tmp_path)))
    assert proto.ir_version == 8
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 18)]
    assert proto.producer_name == "fastdense"


def test_input_signature_fixes_the_batch_and_names_inputs(tmp_path):
    model = models.Sequential([layers.Input((4,), name="x"), layers.Dense(2)])
    path = export(model, tmp_path, input_signature=[layers.Input(batch_shape=(5, 4), name="rows")])
    runtime = session(path)
    assert [(i.name, i.shape) for i in runtime.get_inputs()] == [("rows", [5, 4])]
    assert runtime.get_outputs()[0].shape == [5, 2]
    x = np.ones((5, 4), "float32")
    np.testing.assert_allclose(runtime.run(None, {"rows": x})[0], model.predict(x, verbose=0), **TOLERANCE)


def test_input_signature_by_input_name(tmp_path):
    a, b = layers.Input((2,), name="a"), layers.Input((3,), name="b")
    model = models.Model([a, b], layers.Concatenate()([a, b]))
    signature = {"b": np.zeros((4, 3), "float32"), "a": np.zeros((4, 2), "float32")}
    runtime = session(export(model, tmp_path, input_signature=signature))
    assert [(i.name, i.shape) for i in runtime.get_inputs()] == [("a", [4, 2]), ("b", [4, 3])]
    with pytest.raises(ValueError, match=r"no spec for input\(s\) \['b'\]"):
        model.export(tmp_path / "m.onnx", format="onnx", input_signature={"a": np.zeros((4, 2), "float32")})
    with pytest.raises(ValueError, match="dtype float64 for input 'a'"):
        model.export(tmp_path / "m.onnx", format="onnx", input_signature=[np.zeros((4, 2)), np.zeros((4, 3))])


def test_verbose_prints_where_the_file_went(tmp_path, capsys):
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.export(str(tmp_path / "a.onnx"), format="onnx")
    assert capsys.readouterr().out == f"Saved artifact at '{tmp_path / 'a.onnx'}'.\n"
    model.export(str(tmp_path / "b.onnx"), format="onnx", verbose=False)
    assert capsys.readouterr().out == ""


def test_importing_fastdense_does_not_import_onnx():
    code = "import sys, fastdense; assert 'onnx' not in sys.modules and 'fastdense.export' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=os.path.dirname(os.path.dirname(fastdense.__file__)))  # the fastdense under test


# --------------------------------------------------------------------------------- errors
def test_custom_layer_is_named(tmp_path):
    class Scale(layers.Layer):
        def call(self, x):
            return 2.0 * x

    model = models.Sequential([layers.Input((3,)), layers.Dense(3), Scale(name="my_scale")])
    with pytest.raises(ValueError, match=r"layer 'my_scale' \(Scale\) is a custom layer"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    assert not os.path.exists(tmp_path / "m.onnx")


def test_subclass_of_a_builtin_layer_is_custom(tmp_path):
    class MyDense(layers.Dense):
        pass

    model = models.Sequential([layers.Input((3,)), MyDense(2, name="mine")])
    with pytest.raises(ValueError, match=r"layer 'mine' \(MyDense\)"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)


@pytest.mark.parametrize("where", ["dense", "activation_layer"])
def test_custom_activation_is_named(where, tmp_path):
    def scaled_tanh(x):
        return 1.7159 * np.tanh(2.0 / 3.0 * x)

    layer = (layers.Dense(2, activation=scaled_tanh, name="head") if where == "dense"
             else layers.Activation(scaled_tanh, name="head"))
    model = models.Sequential([layers.Input((3,)), layers.Dense(2), layer])
    with pytest.raises(ValueError, match=r"activation 'scaled_tanh' of layer 'head' is a Python function"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)


def test_without_onnx_installed(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ImportError, match=r"pip install 'fastdense\[onnx\]'"):
        model.export(tmp_path / "m.onnx", format="onnx")


def test_unbuilt_model(tmp_path):
    with pytest.raises(ValueError, match="before it is built"):
        models.Sequential([layers.Dense(2)]).export(tmp_path / "m.onnx", format="onnx")


@pytest.mark.parametrize("fmt", ["tf_saved_model", "openvino", "litert", "torch"])
def test_other_keras_formats_say_which_formats_work(fmt, tmp_path):
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=rf"format='{fmt}' is not supported.*format='onnx' only"):
        model.export(tmp_path / "m", format=fmt)


def test_default_format_is_keras_s_and_says_to_pass_onnx(tmp_path):
    # Keras 3.15's default is "tf_saved_model": a script relying on it gets a clear error and no file.
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"format='tf_saved_model' is not supported.*format='onnx' only"):
        model.export(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_unknown_format_and_arguments(tmp_path):
    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"Unrecognized format='pickle'. Supported formats are: \['onnx'\]"):
        model.export(tmp_path / "m", format="pickle")
    with pytest.raises(ValueError, match="opset_version must be an integer >= 17"):
        model.export(tmp_path / "m.onnx", format="onnx", opset_version=13)
    with pytest.raises(TypeError, match="unexpected keyword"):
        model.export(tmp_path / "m.onnx", format="onnx", jax2tf_kwargs={})
    with pytest.raises(ValueError, match=r"gives shape \(None, 3\) for input"):
        model.export(tmp_path / "m.onnx", format="onnx", input_signature=[layers.Input((3,))])
    with pytest.raises(ValueError, match="has 2 spec"):
        model.export(tmp_path / "m.onnx", format="onnx", input_signature=[layers.Input((2,)), layers.Input((2,))])
