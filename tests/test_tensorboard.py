"""callbacks.TensorBoard and its TensorFlow-free event-file writer.

The event files are read back with the `tensorboard` package's own reader (what the
`tensorboard` tool uses), values are compared with History, and the runs, tags and steps with
the files tf.keras's TensorBoard callback writes for the same model.
"""

import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import fastdense as fd
from fastdense.callbacks import CallbackList, TensorBoard
from fastdense.utils.event_file import (
    crc32c,
    encode_png,
    histogram_buckets,
    masked_crc32c,
    numeric_tensor,
    string_tensor,
    summary_event,
    tfrecord,
)

# ------------------------------------------------------------------------ readers and data


def read_runs(log_dir):
    """{run: {tag: [(step, value ndarray, plugin name)]}} of every run under log_dir, read with
    the tensorboard package's event accumulator."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    runs = {}
    for run in sorted(os.listdir(log_dir)):
        path = os.path.join(log_dir, run)
        if not os.path.isdir(path) or not any(name.startswith("events.out.tfevents") for name in os.listdir(path)):
            continue
        accumulator = pea.EventAccumulator(path, size_guidance={pea.TENSORS: 0})
        accumulator.Reload()
        runs[run] = {
            tag: [(event.step, tensor_util.make_ndarray(event.tensor_proto),
                   accumulator.SummaryMetadata(tag).plugin_data.plugin_name)
                  for event in accumulator.Tensors(tag)]
            for tag in accumulator.Tags()[pea.TENSORS]
        }
    return runs


def tag_steps(runs, tags=None):
    """{(run, tag, step)} of the runs (only `tags` matching the predicate, if given)."""
    return {(run, tag, step) for run, by_tag in runs.items() for tag, events in by_tag.items()
            for step, _, _ in events if tags is None or tags(tag)}


def scalars(runs, run, tag):
    return [(step, value.item()) for step, value, _ in runs[run][tag]]


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


def fd_model(kind="sequential", optimizer="sgd"):
    if kind == "sequential":
        model = fd.Sequential([fd.Input((3,)), fd.layers.Dense(4, activation="relu", name="hidden"),
                               fd.layers.Dense(2, name="head")], name="net")
    else:  # functional, with a nested Sequential
        inputs = fd.Input((3,), name="features")
        hidden = fd.layers.Dense(4, activation="relu", name="hidden")(inputs)
        inner = fd.Sequential([fd.Input((4,)), fd.layers.Dense(2, name="head")], name="block")
        model = fd.Model(inputs, inner(hidden), name="net")
    model.compile(optimizer, "mse", metrics=["mae"])
    return model


def tf_model(kind="sequential"):
    keras = pytest.importorskip("keras")
    if kind == "sequential":
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu", name="hidden"),
                                  keras.layers.Dense(2, name="head")], name="net")
    else:
        inputs = keras.Input((3,), name="features")
        hidden = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
        inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="head")], name="block")
        model = keras.Model(inputs, inner(hidden), name="net")
    model.compile("sgd", "mse", metrics=["mae"])
    return model


FIT = dict(batch_size=8, epochs=3, validation_split=0.25, verbose=0)  # 4 train, 2 val batches/epoch


def fit_fd(log_dir, kind="sequential", fit=FIT, **tensorboard_args):
    x, y = data()
    model = fd_model(kind)
    history = model.fit(x, y, callbacks=[TensorBoard(log_dir=str(log_dir), **tensorboard_args)], **fit)
    return model, history


def fit_tf(log_dir, kind="sequential", fit=FIT, **tensorboard_args):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    x, y = data()
    model = tf_model(kind)
    model.fit(x, y, callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir), **tensorboard_args)], **fit)
    return model


# ----------------------------------------------------------------------- the file format


def test_crc32c_known_answers():
    # RFC 3720 (iSCSI) appendix B.4 test vectors, and the classic check value.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(bytes(range(31, -1, -1))) == 0x113FDB5C


def test_tfrecord_framing():
    # Bytes written by tf.io.TFRecordWriter for the records b"fastdense" and b"".
    expected = bytes.fromhex("090000000000000037f971396661737464656e7365cace15ad"
                             "000000000000000029039807d8ea82a2")
    assert tfrecord(b"fastdense") + tfrecord(b"") == expected
    record = tfrecord(b"payload")
    (length,) = struct.unpack("<Q", record[:8])
    assert length == 7 and record[12:19] == b"payload"
    assert struct.unpack("<I", record[8:12])[0] == masked_crc32c(record[:8])
    assert struct.unpack("<I", record[19:])[0] == masked_crc32c(b"payload")


def test_tfrecord_framing_matches_tensorflow(tmp_path):
    tf = pytest.importorskip("tensorflow")
    records = [b"", b"x", bytes(range(256)) * 5, os.urandom(1000)]
    path = str(tmp_path / "records")
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    with open(path, "rb") as f:
        assert f.read() == b"".join(tfrecord(record) for record in records)


def test_summary_event_parses_as_protobuf():
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2
    from tensorboard.util import tensor_util

    event = event_pb2.Event.FromString(summary_event("a/b", numeric_tensor(np.float32(2.5)), "scalars", 7, 12.25))
    assert (event.wall_time, event.step) == (12.25, 7)
    (value,) = event.summary.value
    assert value.tag == "a/b" and value.metadata.plugin_data.plugin_name == "scalars"
    assert tensor_util.make_ndarray(value.tensor).dtype == np.float32
    assert tensor_util.make_ndarray(value.tensor) == np.float32(2.5)

    matrix = np.arange(6, dtype=np.float64).reshape(2, 3) - 2.5
    event = event_pb2.Event.FromString(summary_event("m", numeric_tensor(matrix), "histograms", 2**40, 0.0))
    assert event.step == 2**40
    np.testing.assert_array_equal(tensor_util.make_ndarray(event.summary.value[0].tensor), matrix)

    event = event_pb2.Event.FromString(
        summary_event("s", string_tensor("{\"é\": 1}"), "graph_keras_model", 0, 0.0, plugin_content=b"1"))
    assert event.step == 0
    assert event.summary.value[0].tensor.string_val == ["{\"é\": 1}".encode()]
    assert event.summary.value[0].metadata.plugin_data.content == b"1"


def test_histogram_buckets_cases():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(7, 5)).astype(np.float32)
    buckets = histogram_buckets(values)
    assert buckets.shape == (30, 3) and buckets.dtype == np.float64
    assert buckets[:, 2].sum() == values.size
    assert buckets[0, 0] == values.min() and buckets[-1, 1] == values.max()
    np.testing.assert_array_equal(buckets[1:, 0], buckets[:-1, 1])  # contiguous buckets
    assert buckets[-1, 2] >= 1  # the maximum lands in the last bucket

    single = histogram_buckets(np.full(4, 0.5, dtype=np.float32))
    assert (single[:, :2] == 0.5).all() and single[:, 2].tolist() == [0] * 29 + [4]
    assert (histogram_buckets(np.zeros((0, 3))) == 0).all()


def test_histogram_buckets_match_tensorboard_summary():
    tf = pytest.importorskip("tensorflow")
    from tensorboard.plugins.histogram import summary_v2

    rng = np.random.default_rng(4)
    cases = [rng.normal(size=(13, 9)).astype(np.float32) * scale for scale in (1e-3, 1.0, 50.0)]
    cases += [np.float32([1, 1, 1]), np.float32([]), rng.uniform(size=100), np.float32([0, 1])]
    for values in cases:
        expected = summary_v2._buckets(tf.constant(values), tf.constant(30)).numpy()
        np.testing.assert_array_equal(histogram_buckets(values), expected)


def test_png_encoding():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    png = encode_png(image)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert (width, height, depth, colour) == (4, 3, 8, 0)
    idat_length = struct.unpack(">I", png[33:37])[0]
    assert zlib.decompress(png[41:41 + idat_length])[::5] == bytes(3)  # filter type 0 on each row
    np.testing.assert_array_equal(png_pixels(png), image)


def test_png_decodes_in_tensorflow():
    tf = pytest.importorskip("tensorflow")
    image = np.random.default_rng(5).integers(0, 256, size=(5, 7), dtype=np.uint8)
    np.testing.assert_array_equal(tf.io.decode_png(encode_png(image)).numpy()[..., 0], image)


def test_importing_and_writing_needs_no_tensorflow(tmp_path):
    code = f"""
import sys
import numpy as np
import fastdense as fd
model = fd.Sequential([fd.Input((3,)), fd.layers.Dense(2)])
model.compile("sgd", "mse")
callback = fd.callbacks.TensorBoard({str(tmp_path)!r}, histogram_freq=1, update_freq="batch", write_images=True)
model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=2, validation_split=0.25, verbose=0, callbacks=[callback])
loaded = [name for name in ("tensorflow", "tensorboard", "google.protobuf", "keras") if name in sys.modules]
assert not loaded, loaded
"""
    root = os.path.dirname(os.path.dirname(fd.__file__))  # the fastdense under test, source or installed
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]


# ----------------------------------------------------------------------------- arguments


def test_constructor_defaults_match_keras():
    callback = TensorBoard()
    assert (callback.log_dir, callback.histogram_freq, callback.write_graph, callback.write_images,
            callback.write_steps_per_second, callback.update_freq, callback.embeddings_freq,
            callback.embeddings_metadata) == ("logs", 0, True, False, False, "epoch", 0, None)
    assert TensorBoard(update_freq="batch").update_freq == 1
    assert TensorBoard(log_dir=os.path.join("a", "b")).log_dir == os.path.join("a", "b")


@pytest.mark.parametrize("kwargs, message", [
    (dict(update_freq=0), "update_freq"),
    (dict(update_freq="sometimes"), "update_freq"),
    (dict(histogram_freq=-1), "histogram_freq"),
    (dict(histogram_freq=0.5), "histogram_freq"),
    (dict(embeddings_freq=-2), "embeddings_freq"),
    (dict(profile_batch=3), "profile_batch=3"),
    (dict(profile_batch=(2, 4)), "profile_batch"),
    (dict(profile_batch="1,2"), "profile_batch"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TensorBoard(**kwargs)


def test_profile_batch_zero_forms_accepted():
    for value in (0, "0", (0, 0)):
        TensorBoard(profile_batch=value)


def test_unknown_embedding_names_rejected(tmp_path):
    model = fd_model()
    with pytest.raises(ValueError, match="Unrecognized `Embedding` layer names"):
        CallbackList([TensorBoard(str(tmp_path), embeddings_freq=1, embeddings_metadata={"emb": "m.tsv"})],
                     model=model)


def test_epoch_updates_keep_native_chunks():
    model = fd_model()
    assert not CallbackList([TensorBoard(write_graph=False)], model=model).batch_hooks_needed("train")
    assert CallbackList([TensorBoard(update_freq=5, write_graph=False)], model=model).batch_hooks_needed("train")
    assert not CallbackList([TensorBoard(update_freq=5, write_graph=False)], model=model).batch_hooks_needed("test")


# ------------------------------------------------------------------------- what is written


def test_epoch_scalars_equal_history(tmp_path):
    model, history = fit_fd(tmp_path)
    runs = read_runs(tmp_path)
    assert set(runs) == {"train", "validation"}
    assert set(runs["train"]) == {"keras", "epoch_loss", "epoch_mae", "epoch_learning_rate"}
    assert set(runs["validation"]) == {"epoch_loss", "epoch_mae", "evaluation_loss_vs_iterations",
                                       "evaluation_mae_vs_iterations"}
    for name in ("loss", "mae"):
        assert scalars(runs, "train", f"epoch_{name}") == [
            (epoch, np.float32(value)) for epoch, value in enumerate(history.history[name])]
        assert scalars(runs, "validation", f"epoch_{name}") == [
            (epoch, np.float32(value)) for epoch, value in enumerate(history.history[f"val_{name}"])]
        # After epoch e the optimizer has taken 4 * (e + 1) steps.
        assert scalars(runs, "validation", f"evaluation_{name}_vs_iterations") == [
            (4 * (epoch + 1), np.float32(value)) for epoch, value in enumerate(history.history[f"val_{name}"])]
    assert scalars(runs, "train", "epoch_learning_rate") == [(epoch, np.float32(0.01)) for epoch in range(3)]
    for run in runs.values():
        for tag, events in run.items():
            for _, value, plugin in events:
                if tag != "keras":
                    assert value.dtype == np.float32 and value.shape == () and plugin == "scalars"


def test_learning_rate_of_a_schedule(tmp_path):
    schedule = fd.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    x, y = data()
    model = fd_model(optimizer=fd.optimizers.SGD(schedule))
    model.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[TensorBoard(str(tmp_path))])
    runs = read_runs(tmp_path)
    assert "validation" not in runs
    # The rate of the next step, after 4 and 8 steps.
    assert scalars(runs, "train", "epoch_learning_rate") == [(0, np.float32(0.1 * 0.5 ** 2)),
                                                           (1, np.float32(0.1 * 0.5 ** 4))]


def test_batch_updates(tmp_path):
    _, history = fit_fd(tmp_path, update_freq="batch")
    runs = read_runs(tmp_path)
    assert [step for step, _ in scalars(runs, "train", "batch_loss")] == list(range(1, 13))
    # The running mean after an epoch's last batch is the epoch's loss.
    batch_loss = dict(scalars(runs, "train", "batch_loss"))
    assert [batch_loss[4 * (epoch + 1)] for epoch in range(3)] == [np.float32(v) for v in history.history["loss"]]
    assert tag_steps(runs, lambda tag: tag.startswith("epoch_")) == {
        (run, f"epoch_{name}", epoch) for epoch in range(3) for run, name in
        [("train", "loss"), ("train", "mae"), ("train", "learning_rate"), ("validation", "loss"),
         ("validation", "mae")]}


def test_every_n_batches(tmp_path):
    fit_fd(tmp_path, update_freq=3)
    runs = read_runs(tmp_path)
    assert [step for step, _ in scalars(runs, "train", "batch_mae")] == [3, 6, 9, 12]
    assert [step for step, _ in scalars(runs, "train", "epoch_loss")] == [0, 1, 2]
    assert [step for step, _ in scalars(runs, "validation", "evaluation_loss_vs_iterations")] == [4, 8, 12]


def test_weight_histograms(tmp_path):
    model, _ = fit_fd(tmp_path, histogram_freq=2)
    runs = read_runs(tmp_path)
    histograms = {tag: events for tag, events in runs["train"].items() if tag.endswith("/histogram")}
    sizes = {"net/hidden/kernel": 12, "net/hidden/bias": 4, "net/head/kernel": 8, "net/head/bias": 2}
    assert set(histograms) == {f"{path}/histogram" for path in sizes}
    for tag, events in histograms.items():
        assert [step for step, _, _ in events] == [0, 2]
        for _, buckets, plugin in events:
            assert plugin == "histograms" and buckets.shape == (30, 3) and buckets.dtype == np.float64
            assert buckets[:, 2].sum() == sizes[tag[:-len("/histogram")]]
    # The last one is of the final weights.
    weights = {f"net/{w.path}/histogram": w.numpy() for w in model.weights}
    for tag, events in histograms.items():
        np.testing.assert_array_equal(events[-1][1], histogram_buckets(weights[tag]))


def png_pixels(png):
    """The pixels of a PNG as encode_png writes it (one IDAT, filter 0 on each row)."""
    width, height = struct.unpack(">II", png[16:24])
    idat_length = struct.unpack(">I", png[33:37])[0]
    rows = np.frombuffer(zlib.decompress(png[41:41 + idat_length]), dtype=np.uint8).reshape(height, width + 1)
    return rows[:, 1:]


def test_weight_images(tmp_path):
    model, _ = fit_fd(tmp_path, fit=dict(FIT, epochs=1), histogram_freq=1, write_images=True)
    runs = read_runs(tmp_path)
    images = {tag: events for tag, events in runs["train"].items() if tag.endswith("/image")}
    assert set(images) == {f"net/{w.path}/image" for w in model.weights}
    for weight in model.weights:
        ((step, value, plugin),) = images[f"net/{weight.path}/image"]
        # Keras's layout: a vector as one column, a matrix with its longer side horizontal.
        pixels = weight.numpy()
        if pixels.ndim == 1:
            pixels = pixels.reshape(-1, 1)
        elif pixels.shape[0] > pixels.shape[1]:
            pixels = pixels.T
        expected = np.clip(pixels * np.float32(255.5), 0, 255).astype(np.uint8)
        assert step == 0 and plugin == "images" and len(value) == 3
        assert value[:2].tolist() == [str(expected.shape[1]).encode(), str(expected.shape[0]).encode()]
        np.testing.assert_array_equal(png_pixels(value[2]), expected)


def test_image_pixels_match_tensorflow_conversion():
    tf = pytest.importorskip("tensorflow")
    from fastdense.utils import event_file

    values = np.float32([[-0.5, 0.0, 0.001, 0.002], [0.5, 0.9999, 1.0, 3.0]])
    captured = {}

    class Capture(event_file.EventFileWriter):
        def __init__(self):
            pass

        def write(self, tag, tensor, plugin_name, step, plugin_content=b""):
            captured["tensor"] = tensor

    Capture().image("w", values[np.newaxis, :, :, np.newaxis], 0)
    from tensorboard.compat.proto import tensor_pb2

    png = tensor_pb2.TensorProto.FromString(captured["tensor"]).string_val[2]
    expected = tf.image.convert_image_dtype(tf.constant(values), tf.uint8, saturate=True).numpy()
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy()[..., 0], expected)


def test_graph_is_the_model_json(tmp_path):
    model, _ = fit_fd(tmp_path, kind="functional")
    runs = read_runs(tmp_path)
    ((step, value, plugin),) = runs["train"]["keras"]
    assert step == 0 and plugin == "graph_keras_model"
    assert json.loads(value.item().decode()) == json.loads(model.to_json())


def test_no_graph_for_subclassed_models_or_when_disabled(tmp_path):
    class Net(fd.Model):
        def __init__(self):
            super().__init__()
            self.dense = fd.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    x, y = data()
    model = Net()
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[TensorBoard(str(tmp_path / "sub"))])
    assert set(read_runs(tmp_path / "sub")["train"]) == {"epoch_loss", "epoch_learning_rate"}
    fit_fd(tmp_path / "off", write_graph=False)
    assert "keras" not in read_runs(tmp_path / "off")["train"]


def test_evaluate_writes_evaluation_scalars(tmp_path):
    x, y = data()
    model = fd_model()
    model.fit(x, y, epochs=2, batch_size=20, verbose=0)
    results = model.evaluate(x, y, verbose=0, return_dict=True, callbacks=[TensorBoard(str(tmp_path))])
    runs = read_runs(tmp_path)
    assert set(runs["validation"]) == {"evaluation_loss_vs_iterations", "evaluation_mae_vs_iterations"}
    assert scalars(runs, "validation", "evaluation_mae_vs_iterations") == [(4, np.float32(results["mae"]))]
    assert set(runs["train"]) == {"keras"}  # set_model writes the graph, as in Keras


def test_steps_per_second(tmp_path):
    fit_fd(tmp_path, update_freq=2, write_steps_per_second=True)
    runs = read_runs(tmp_path)
    assert [step for step, _ in scalars(runs, "train", "epoch_steps_per_second")] == [0, 1, 2]
    assert [step for step, _ in scalars(runs, "train", "batch_steps_per_second")] == [2, 4, 6, 8, 10, 12]
    assert all(value > 0 for _, value in scalars(runs, "train", "epoch_steps_per_second"))


def test_embeddings_checkpoints(tmp_path):
    model, _ = fit_fd(tmp_path, embeddings_freq=2, embeddings_metadata="meta.tsv")
    assert os.path.exists(tmp_path / "projector_config.pbtxt")
    saved = sorted(name for name in os.listdir(tmp_path / "train") if name.startswith("keras_embedding"))
    assert saved == ["keras_embedding.ckpt-0.weights.h5", "keras_embedding.ckpt-2.weights.h5"]
    copy = fd_model()
    copy.load_weights(str(tmp_path / "train" / saved[-1]))
    for a, b in zip(copy.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_two_fits_share_the_runs(tmp_path):
    x, y = data()
    model = fd_model()
    callback = TensorBoard(str(tmp_path), update_freq="batch")
    model.fit(x, y, batch_size=20, epochs=1, verbose=0, callbacks=[callback])
    model.fit(x, y, batch_size=20, epochs=2, initial_epoch=1, verbose=0, callbacks=[callback])
    runs = read_runs(tmp_path)
    assert len(os.listdir(tmp_path / "train")) == 2  # one event file per set_model, like Keras
    assert [step for step, _ in scalars(runs, "train", "epoch_loss")] == [0, 1]
    assert [step for step, _ in scalars(runs, "train", "batch_loss")] == [1, 2, 1, 2]  # reset by each fit


# ------------------------------------------------------------------ against tf.keras's files


@pytest.mark.parametrize("kind, tensorboard_args", [
    ("sequential", {}),
    ("sequential", dict(update_freq="batch", histogram_freq=2, write_images=True)),
    ("functional", dict(histogram_freq=1)),
])
def test_runs_tags_and_steps_match_tf_keras(tmp_path, kind, tensorboard_args):
    fit_tf(tmp_path / "tf", kind, **tensorboard_args)
    fit_fd(tmp_path / "fd", kind, **tensorboard_args)
    expected, actual = read_runs(tmp_path / "tf"), read_runs(tmp_path / "fd")
    assert tag_steps(actual) == tag_steps(expected)
    for run, by_tag in expected.items():
        for tag, events in by_tag.items():
            for (_, theirs, their_plugin), (_, ours, our_plugin) in zip(events, actual[run][tag]):
                assert our_plugin == their_plugin
                assert ours.dtype == theirs.dtype and ours.shape == theirs.shape


def test_every_n_batches_against_tf_keras(tmp_path):
    # Batch summaries at the same steps; Keras drops the epoch and evaluation summaries whose
    # batch count is not a multiple of update_freq (tensorflow/tensorflow#49109), fastdense keeps them.
    fit_tf(tmp_path / "tf", update_freq=3)
    fit_fd(tmp_path / "fd", update_freq=3)
    expected, actual = tag_steps(read_runs(tmp_path / "tf")), tag_steps(read_runs(tmp_path / "fd"))
    assert {t for t in actual if t[1].startswith("batch_")} == {t for t in expected if t[1].startswith("batch_")}
    assert expected < actual
    assert {t[:2] for t in actual} == {t[:2] for t in expected}
