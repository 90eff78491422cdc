"""`TensorBoard`: training curves, weight histograms and the model graph for the TensorBoard tool."""

from __future__ import annotations

import numbers
import os
import time
import warnings

import numpy as np

from fastdense import object_registry
from fastdense.callbacks.base import Callback
from fastdense.utils.event_file import EventFileWriter, string_tensor


class TensorBoard(Callback):
    """Writes TensorBoard event files, like `keras.callbacks.TensorBoard` (Keras 3.15).

    The layout and tag names are Keras's, so `tensorboard --logdir=...` shows fastdense and
    tf.keras runs side by side:

    - `log_dir/train`: `epoch_loss`, `epoch_<metric>` and `epoch_learning_rate` at step = epoch;
      with `update_freq` "batch" or N, `batch_loss`, `batch_<metric>` (the running means of the
      epoch so far) every N-th batch, at step = batches trained since `fit` began (1-based);
      with `histogram_freq`, a histogram of every weight, tagged `<weight path>/histogram`
      (Keras's path, e.g. `sequential/dense/kernel`); the model's JSON as tag `keras` at step 0
      (plugin `graph_keras_model`: TensorBoard's conceptual graph) for Sequential and functional
      models.
    - `log_dir/validation`: `epoch_loss`, `epoch_<metric>` (without the `val_` prefix) at step =
      epoch, and after every evaluation (inside `fit` or `model.evaluate`)
      `evaluation_loss_vs_iterations`, `evaluation_<metric>_vs_iterations` at step =
      `model.optimizer.iterations`.

    The event files are written by fastdense itself (`fastdense.utils.event_file`): neither
    TensorFlow nor the `tensorboard` package is needed to write them.

    One deliberate difference: with an integer `update_freq`, Keras also filters its epoch and
    evaluation summaries through the batch rule (they are kept only when the number of batches
    run so far is a multiple of `update_freq`: tensorflow/tensorflow#49109), so most epochs go
    missing; here they are always written.

    Args:
        log_dir: the directory of the runs (created when first written).
        histogram_freq: every how many epochs (counted from epoch 0) to write weight histograms;
            0 for never.
        write_graph: write the model's JSON for TensorBoard's graph dashboard.
        write_images: with the histograms, write each weight as an image (Keras's layout: a
            vector as one column, a matrix with its longer side horizontal, values in [0, 1]
            mapped to gray levels).
        write_steps_per_second: also write `epoch_steps_per_second` (optimizer steps per second
            of wall time in the epoch) and, with batch updates, `batch_steps_per_second`.
        update_freq: "epoch", "batch" (every batch) or an integer N (every N batches).
        profile_batch: must be 0: fastdense has no profiler (Keras's numpy and torch backends
            reject a non-zero value too).
        embeddings_freq: every how many epochs to save the weights for TensorBoard's projector
            (`train/keras_embedding.ckpt-<epoch>.weights.h5`), and write `projector_config.pbtxt`;
            0 for never. fastdense has no Embedding layer, so the config lists no embeddings.
        embeddings_metadata: a file name, or a dict mapping Embedding layer names to files.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str] = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int | tuple[int, int] | str = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: str | dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.log_dir = str(log_dir)
        self.histogram_freq = _frequency("histogram_freq", histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = _update_freq(update_freq)
        self.embeddings_freq = _frequency("embeddings_freq", embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        _check_profile_batch(profile_batch)
        self._global_train_batch = 0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0
        self._batch_start_time = 0.0
        self._writers = {}  # run name -> EventFileWriter, opened on first use (no empty runs)

    # --------------------------------------------------------------------------- writers
    def _writer(self, run):
        writer = self._writers.get(run)
        if writer is None or writer.closed:
            writer = self._writers[run] = EventFileWriter(os.path.join(self.log_dir, run))
        return writer

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()

    def _batch_due(self):
        return self.update_freq != "epoch" and self._global_train_batch % self.update_freq == 0

    def _uses_batch_hooks(self, mode):
        # Batch summaries need every training batch; with "epoch" the model may run batches in
        # native chunks. Test batches are only counted by Keras, never written.
        return mode == "train" and self.update_freq != "epoch"

    # ------------------------------------------------------------------------------ hooks
    def set_model(self, model):
        """Sets the model and, like Keras, writes its graph (every time a model is set)."""
        super().set_model(model)
        self._close_writers()
        self._writers = {}
        if self.write_graph:
            self._write_model_json()
        if self.embeddings_freq:
            self._write_projector_config()

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._epoch_start_iterations = _iterations(self.model)
            self._epoch_start_time = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if not self._batch_due():
            return
        writer = self._writer("train")
        if self.write_steps_per_second:
            elapsed = time.time() - self._batch_start_time
            writer.scalar("batch_steps_per_second", 1.0 / elapsed if elapsed > 0 else float("inf"),
                          self._global_train_batch)
        for name, value in _scalars(logs):
            writer.scalar(f"batch_{name}", value, self._global_train_batch)
        writer.flush()  # visible to a running tensorboard at once (TensorFlow flushes every 2 min)

    def on_test_end(self, logs=None):
        iterations = _iterations(self.model)
        if iterations is None:
            return
        writer = self._writer("validation")
        for name, value in _scalars(logs):
            writer.scalar(f"evaluation_{name}_vs_iterations", value, iterations)
        writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        self._write_epoch_logs(epoch, logs)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            path = os.path.join(self.log_dir, "train", f"keras_embedding.ckpt-{epoch}.weights.h5")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.model.save_weights(path)

    # -------------------------------------------------------------------------- summaries
    def _write_epoch_logs(self, epoch, logs):
        if not logs:
            return
        train_logs = {key: value for key, value in logs.items() if not key.startswith("val_")}
        val_logs = {key[len("val_"):]: value for key, value in logs.items() if key.startswith("val_")}
        train_logs.update(_learning_rates(self.model))
        if self.write_steps_per_second:
            train_logs["steps_per_second"] = self._steps_per_second()
        for run, run_logs in (("train", train_logs), ("validation", val_logs)):
            if run_logs:
                writer = self._writer(run)
                for name, value in _scalars(run_logs):
                    writer.scalar(f"epoch_{name}", value, epoch)
                writer.flush()

    def _steps_per_second(self):
        steps = (_iterations(self.model) or 0) - (self._epoch_start_iterations or 0)
        elapsed = time.time() - self._epoch_start_time
        return steps / elapsed if elapsed > 0 else 0.0

    def _write_weights(self, epoch):
        writer = self._writer("train")
        paths = _keras_weight_paths(self.model)
        for layer in self.model.layers:
            for weight in layer.weights:
                name = paths.get(id(weight), weight.path).replace(":", "_")
                value = np.asarray(weight)
                writer.histogram(f"{name}/histogram", value, epoch)
                if self.write_images:
                    image = _weight_image(value)
                    if image is not None:
                        writer.image(f"{name}/image", image, epoch)
        writer.flush()

    def _write_model_json(self):
        # Keras writes the conceptual graph of Sequential and functional models only
        # (keras/src/callbacks/tensorboard.py, _write_keras_model_summary).
        if not _is_sequential_or_functional(self.model):
            return
        try:
            json_string = self.model.to_json()
        except Exception as error:  # a model that cannot be described must not stop training
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {error}", stacklevel=2)
            return
        writer = self._writer("train")
        writer.write("keras", string_tensor(json_string), "graph_keras_model", 0, plugin_content=b"1")
        writer.flush()

    def _write_projector_config(self):
        # fastdense has no Embedding layer: the projector config lists no embeddings, and every
        # name in an embeddings_metadata dict is unknown (Keras raises the same error).
        if self.embeddings_metadata and not isinstance(self.embeddings_metadata, str):
            raise ValueError(
                "Unrecognized `Embedding` layer names passed to `keras.callbacks.TensorBoard` "
                f"`embeddings_metadata` argument: {self.embeddings_metadata.keys()}"
            )
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w") as f:
            f.write("")


# ------------------------------------------------------------------------------- helpers
def _frequency(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer (0 disables it). Received: {name}={value!r}")
    return int(value)


def _update_freq(value):
    if value == "batch":
        return 1  # Keras: "batch" is a synonym for 1
    if value == "epoch":
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`update_freq` must be 'epoch', 'batch' or a positive integer. Received: update_freq={value!r}")
    return int(value)


def _check_profile_batch(profile_batch):
    if isinstance(profile_batch, str):  # Keras's legacy "start,stop" form
        try:
            profile_batch = [int(part) for part in profile_batch.split(",")]
        except ValueError:
            profile_batch = None
        if profile_batch is not None and len(profile_batch) == 1:
            profile_batch = profile_batch[0]
    if profile_batch == 0 or (isinstance(profile_batch, (list, tuple)) and list(profile_batch) == [0, 0]):
        return
    raise ValueError(
        "Profiling is not available in fastdense (Keras supports it only with the jax and tensorflow "
        f"backends). Received: profile_batch={profile_batch!r} (must be 0)"
    )


def _scalars(logs):
    """(name, value) of the real-number entries of `logs`; others (strings, arrays such as an
    F1Score per class) have no scalar summary and are left out."""
    for name, value in (logs or {}).items():
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            yield name, float(value)


def _iterations(model):
    optimizer = getattr(model, "optimizer", None)
    iterations = getattr(optimizer, "iterations", None) if optimizer is not None else None
    return None if iterations is None else int(iterations)


def _learning_rates(model):
    """Keras's `epoch_learning_rate` entry: the optimizer's current rate (the schedule's value at
    `iterations` when it has one)."""
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    if optimizer is None or isinstance(optimizer, str):
        return {}
    if hasattr(optimizer, "optimizers"):
        return {f"learning_rate_{opt.name}": float(opt.learning_rate) for opt in optimizer.optimizers}
    try:
        return {"learning_rate": float(optimizer.learning_rate)}
    except (AttributeError, TypeError, ValueError):
        return {}


def _model_classes():
    """(Model, Sequential) from the registry: callbacks sit below models (the trainer imports
    them), so they find the model classes the way saving does, without importing models."""
    return object_registry.get_builtin("layers", "Model"), object_registry.get_builtin("layers", "Sequential")


def _is_sequential_or_functional(model):
    Model, Sequential = _model_classes()  # noqa: N806
    return type(model) is Sequential or (type(model) is Model and model.inputs is not None)


def _keras_weight_paths(model):
    """id(weight) -> the path Keras 3 gives it. Keras names a variable by the name scopes open
    when it is created: a Sequential builds its layers inside its own scope
    (`sequential/dense/kernel`), a functional model's layers are built outside any
    (`dense/kernel`). fastdense's `Variable.path` is the layer-relative part."""
    Model, Sequential = _model_classes()  # noqa: N806

    paths = {}

    def visit(container, prefix):
        if isinstance(container, Sequential):
            prefix = f"{prefix}{container.name}/"
        for layer in container.layers:
            if isinstance(layer, Model):
                visit(layer, prefix)
            else:
                for weight in layer.weights:
                    paths.setdefault(id(weight), prefix + weight.path)

    visit(model, "")
    return paths


def _weight_image(value):
    """A weight as Keras draws it (keras/src/callbacks/tensorboard.py, _log_weight_as_image), as
    a (n, height, width, 1) array: squeezed; a vector as one column; a matrix with its longer side
    horizontal; a rank-3 weight as one image per last-axis slice; a rank-4 weight with one
    channel as it is. None for a scalar and the weights Keras draws in colour (rank 4, 3 or 4
    channels) or not at all."""
    image = np.squeeze(value)
    if image.ndim == 1:
        return image.reshape(1, image.shape[0], 1, 1)
    if image.ndim == 2:
        if image.shape[0] > image.shape[1]:
            image = image.T
        return image.reshape(1, image.shape[0], image.shape[1], 1)
    if image.ndim == 3:  # channels_last kernel: one image per output channel
        return np.transpose(image, (2, 0, 1))[..., np.newaxis]
    if image.ndim == 4 and image.shape[-1] == 1:
        return image
    return None
