"""compile / fit / evaluate / predict for models (the Keras API of `keras/src/trainers/trainer.py`),
running through one native Network.

How data flows through fit:
    user arrays ──(data.py: convert once)──▶ ArrayData ──▶ epoch_iterator.py: per epoch an index
    permutation, cut into chunks ──▶ Network.train(index slice) runs many batches natively
    ──▶ running loss/metric means ──▶ logs ──▶ callbacks (History, progress bar, the user's).
Batches go to the engine one at a time only when a callback needs per-batch control, or when
the data comes from a generator/Sequence. The Network itself, and the logs read from it, come
from `fastdense.native`, the only way this module reaches the engine.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from fastdense import callbacks as callbacks_module
from fastdense import native
from fastdense import optimizers as optimizers_module
from fastdense.layers.preprocessing.stage import PreprocessingStage
from fastdense.trainers import arguments, compile_utils, data as data_utils, foreign_data
from fastdense.trainers.epoch_iterator import ArrayEpochs, BatchSourceEpochs, is_sequence, iterate_batches, source_length
from fastdense.trainers.fast_path import BatchPath, InferencePath
from fastdense.trainers.model_locks import serialized

if TYPE_CHECKING:
    from fastdense.callbacks import Callback, History
    from fastdense.optimizers import Optimizer

_KERAS2_FIT_ARGS = ("max_queue_size", "workers", "use_multiprocessing")


class Trainer:
    """Training methods shared by Model and Sequential."""

    # The cached fast paths of repeated calls (fast_path.py), set in the instance once a call has
    # gone the checked way; None until then.
    _inference_path = None
    _batch_path = None

    def __init__(self):
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._compile_args = None
        self._compiled_outputs = None
        self._cached_log_layout = None
        self._native = None
        self._native_for_training = False

    # ---------------------------------------------------------------------------- compile
    def compile(self, optimizer: str | Optimizer | dict[str, Any] = "rmsprop", loss: Any = None,
                loss_weights: Sequence[float] | dict[str, float] | None = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: bool | str = "auto", auto_scale_loss: bool = True, **kwargs: Any) -> None:
        """Configures the model for training: optimizer, loss(es), metrics.

        Each argument takes what Keras takes: names ('rmsprop', 'mse', 'mae', 'accuracy'),
        classes' instances (`losses.MeanSquaredError()`), functions (`losses.mean_squared_error`),
        and, for several outputs, lists or dicts keyed by output name.
        """
        for key in kwargs:
            if key not in ("sample_weight_mode", "target_tensors", "distribute"):
                raise TypeError(f"compile() got an unexpected keyword argument '{key}'")
        arguments.container("loss_weights", loss_weights, single=(numbers.Real,))
        arguments.container("metrics", metrics)
        arguments.container("weighted_metrics", weighted_metrics)
        arguments.boolean("run_eagerly", run_eagerly)
        arguments.integer("steps_per_execution", steps_per_execution, minimum=1)
        arguments.choice("jit_compile", jit_compile, ("auto",), (bool,))
        arguments.boolean("auto_scale_loss", auto_scale_loss)
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss
        self._compile_args = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                              "weighted_metrics": weighted_metrics}
        # Resolve names now so that unknown ones fail at compile time, as in Keras; a model not
        # built yet (Sequential without an Input, a subclass) has its outputs counted when it is.
        if self.outputs is not None:
            given = compile_utils.per_output(loss, self._output_keys, "loss")
        elif isinstance(loss, dict):
            given = list(loss.values())
        elif isinstance(loss, (list, tuple)):
            given = list(loss)
        else:
            given = [loss]
        for value in given:
            compile_utils.resolve_loss(value)
        self.compiled = True
        self._compiled_outputs = None
        self._invalidate_native()

    def _assert_compiled(self, method):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before calling `{method}()`")
        if self._compile_args["loss"] is None:
            raise ValueError(f"`{method}()` needs a loss: pass loss= to compile()")

    def _invalidate_native(self):
        self._native = None
        self._native_for_training = False
        self._drop_fast_paths()

    def _drop_fast_paths(self):
        """Forgets the cached fast paths (which also keep their network alive)."""
        self.__dict__.pop("_inference_path", None)
        self.__dict__.pop("_batch_path", None)

    # ----------------------------------------------------------------------- native network
    @property
    def _dtype(self):
        """The engine's float type: the first float Input's (string and integer Inputs are
        preprocessed into float32 before the engine)."""
        for tensor in self.inputs or []:
            if tensor.dtype in ("float32", "float64"):
                return tensor.dtype
        return "float32"

    def _preprocessing_stage(self):
        """The model's preprocessing layers fed by its Inputs (layers/preprocessing/stage.py),
        run on the data before the engine; None when it has none. Cached per graph."""
        nodes = getattr(self, "_graph_nodes", None)
        if nodes is None:
            return None
        cached = getattr(self, "_cached_stage", None)
        if cached is None or cached[0] is not nodes:
            cached = (nodes, PreprocessingStage.of(self))
            self._cached_stage = cached
        return cached[1]

    def _engine_input_arrays(self, x, finite=True):
        """The data of the model's Inputs as the engine's input arrays (through the
        preprocessing stage when the model has one)."""
        stage = self._preprocessing_stage()
        if stage is None:
            return data_utils.input_arrays(self, x, self._dtype, finite)
        return data_utils.input_arrays(stage.engine_view, stage.apply(x), self._dtype, finite)

    def _native_network(self, targets=None):
        """The native Network: for training when the targets (one per output) are given, else
        inference. Their shapes resolve losses and metrics when the network is built."""
        network = self._native  # the built network, without a lock: predict's fast path
        if network is not None and (self._native_for_training or targets is None):
            return network
        return self._build_native_network(targets)

    @serialized("network")
    def _build_native_network(self, targets):
        """_native_network's slow path, one thread at a time (trainers/model_locks.py)."""
        if self.inputs is None:
            raise ValueError(f"Model '{self.name}' is not built: give it an Input or call it on data first")
        training = targets is not None
        if self._native is not None and (self._native_for_training or not training):
            return self._native
        compiled_outputs = y_true_shapes = None
        if training:
            y_true_shapes = [(None,) + tuple(np.shape(t)[1:]) if t is not None else None for t in targets]
            if self._compiled_outputs is None:
                self._compiled_outputs = compile_utils.resolve_outputs(
                    self._compile_args, self._output_keys, [t.shape for t in self.outputs], y_true_shapes)
            compiled_outputs = self._compiled_outputs
        self._drop_fast_paths()  # made for the network replaced here
        stage = self._preprocessing_stage()
        network, self._output_infos = native.build_network(
            self, compiled_outputs, y_true_shapes, engine_inputs=stage.engine_inputs if stage else None,
            computed_outside=stage.computed_outside if stage else ())
        self._native = network
        self._native_for_training = training
        # Assigning a variable the network copied (set_weights, load_weights) builds a new one.
        for layer in self._layers_for_copies():
            for variable in layer._natively_copied_variables():
                variable._copied_into(self._invalidate_native)
        return network

    def _layers_for_copies(self):
        """Every layer of this model, nested models' included, that has natively copied variables."""
        pending, seen = list(getattr(self, "layers", [])), set()
        while pending:
            layer = pending.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if hasattr(layer, "_natively_copied_variables"):
                yield layer
            pending.extend(getattr(layer, "layers", None) or [])

    def _log_layout(self):
        """How the engine's results become logs, worked out once per set of compiled outputs
        (train_on_batch formats them on every call)."""
        layout = self._cached_log_layout
        if layout is None or layout.outputs is not self._compiled_outputs:
            layout = native.LogLayout.of(self._compiled_outputs)
            self._cached_log_layout = layout
        return layout

    def _metric_direction(self, name):
        """'min' or 'max' for a compiled metric's History name (EarlyStopping's auto mode)."""
        for output in self._compiled_outputs or []:
            for metric in output.metrics:
                if metric.name == name:
                    return metric.direction
            if name == f"{output.name}_loss":
                return "min"
        return "min" if name == "loss" else None

    def _logs(self):
        """Running means since the last reset, keyed as in Keras 3 (sorted alphabetically)."""
        return native.read_logs(self._native, self._log_layout())

    def _target_list(self, y):
        names = self._output_keys
        if isinstance(y, dict):
            return [y.get(name) for name in names]
        if isinstance(y, (list, tuple)) and len(names) > 1:
            if len(y) != len(names):
                raise ValueError(f"Model '{self.name}' has {len(names)} outputs but {len(y)} targets were given")
            return list(y)
        return [y]

    # --------------------------------------------------------------------------- data
    def _standardized_inputs(self, x):
        """x as data.standardize makes it; a DataFrame given to a model with several inputs
        feeds them by name (the names a dict of inputs is keyed by)."""
        names, dtype = None, self._dtype
        if self.inputs is not None:
            struct = getattr(self, "_input_struct", None)
            tensors = dict(struct) if isinstance(struct, dict) else dict(zip(self.input_names, self.inputs))
            # String and integer Inputs (fed to preprocessing layers) keep their own kind of data.
            dtypes = {name: t.dtype if t.dtype not in (None, "float32", "float64") else self._dtype
                      for name, t in tensors.items()}
            if len(self.inputs) > 1:
                names, dtype = sorted(struct) if isinstance(struct, dict) else self.input_names, dtypes
            else:
                dtype = next(iter(dtypes.values()))
        return data_utils.standardize(x, names, dtype, "input")

    def _training_data(self, x, y, sample_weight=None, class_weight=None):
        """(network, ArrayData) for arrays passed to fit/evaluate/train_on_batch."""
        if self._native_for_training and sample_weight is None and class_weight is None and \
                self._preprocessing_stage() is None:
            data = data_utils.ready_batch(x, y, self.inputs, self._output_infos, self._dtype)
            if data is not None:
                return self._native, data
        if y is None:
            raise ValueError("Targets y are required (or pass a generator yielding (x, y) batches)")
        x = self._standardized_inputs(x)
        y = data_utils.standardize(y, self._output_keys if self.outputs is not None else None, self._dtype, "target")
        sample_weight = data_utils.standardize(sample_weight, None, self._dtype, "sample_weight")
        self._ensure_built_for_data(x)
        inputs = self._engine_input_arrays(x)
        raw_targets = self._target_list(y)
        network = self._native_network(raw_targets)
        targets = data_utils.target_arrays(raw_targets, inputs[0].shape[0], self._output_infos, self._dtype)
        weights = data_utils.sample_weight_array(sample_weight, class_weight, targets, inputs[0].shape[0], self._dtype)
        return network, data_utils.ArrayData(inputs, targets, weights)

    def _build_from_first_batch(self, source, class_weight=None):
        """Builds the training network from the first batch of a generator or Sequence, before
        any callback runs (as Keras peeks at the data). Returns what to iterate: the Sequence,
        or the generator with that first batch put back in front."""
        if is_sequence(source):
            if len(source) == 0:
                raise ValueError("The Sequence/PyDataset has no batches")
            batch, remaining = source[0], source
        elif getattr(source, "reiterable", False):  # a Dataset/DataLoader: each pass starts anew
            batch = next(iter(source), None)
            if batch is None:
                raise ValueError("The dataset yielded no batches")
            remaining = source
        else:
            iterator = iter(source)
            try:
                batch = next(iterator)
            except StopIteration:
                raise ValueError("The generator yielded no batches") from None
            remaining = itertools.chain([batch], iterator)
        bx, by, bw = data_utils.unpack(batch)
        self._training_data(bx, by, bw, class_weight)
        return remaining

    def _ensure_built_for_data(self, x):
        if self.inputs is None and hasattr(self, "_ensure_built_for"):
            self._ensure_built_for(x)

    # ------------------------------------------------------------------------------- fit
    @serialized("steps")
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: Sequence[Callback] | None = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool | str = True, class_weight: dict[int, float] | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int | Sequence[int] = 1, **kwargs: Any) -> History:
        """Trains the model for `epochs` epochs (Keras's arguments and semantics); returns History."""
        _reject_unknown(kwargs, _KERAS2_FIT_ARGS, "fit")
        self._assert_compiled("fit")
        arguments.data("x", x)
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                arguments.data(name, value)
        epochs = arguments.integer("epochs", epochs)
        initial_epoch = arguments.integer("initial_epoch", initial_epoch)
        data_utils.check_class_weight(class_weight)
        verbose_param, verbose = verbose, arguments.verbosity(verbose)  # History.params keeps 'auto'
        arguments.callback_list(callbacks, callbacks_module.Callback)
        validation_split = arguments.fraction("validation_split", validation_split)
        if validation_data is not None:
            arguments.validation_data(validation_data)
        shuffle = arguments.shuffle_mode(shuffle)
        batch_size = arguments.optional_count("batch_size", batch_size)
        steps_per_epoch = arguments.optional_count("steps_per_epoch", steps_per_epoch)
        validation_steps = arguments.optional_count("validation_steps", validation_steps)
        validation_batch_size = arguments.optional_count("validation_batch_size", validation_batch_size)
        arguments.validation_frequency(validation_freq)
        x = foreign_data.as_batch_source(x)
        from_source = data_utils.is_batch_source(x)
        if not from_source:
            x = self._standardized_inputs(x)
            batch_size = _resolve_batch_size(batch_size, steps_per_epoch, x)
        if validation_batch_size is not None:
            validation_batch_size = _resolve_batch_size(validation_batch_size, None, None)
        if from_source:
            if y is not None or sample_weight is not None:
                raise ValueError("`y` and `sample_weight` cannot be passed with a generator or Sequence: "
                                 "yield them from it instead")
            x = self._build_from_first_batch(x, class_weight)
            train, val = BatchSourceEpochs(self, x, steps_per_epoch, shuffle, class_weight), None
        else:
            network, data = self._training_data(x, y, sample_weight, class_weight)
            if validation_split and validation_data is None:
                data, val = _split(data, validation_split)
                if class_weight is not None:  # class weights are for training only
                    val = data_utils.ArrayData(val.inputs, val.targets, None)
            else:
                val = None
            train = ArrayEpochs(self, data, batch_size, shuffle, steps_per_epoch)
        if validation_data is not None:
            val = self._validation_source(validation_data, validation_batch_size or batch_size)
        elif val is not None:
            val = ("arrays", val, validation_batch_size or batch_size)

        callback_list = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose_param, epochs=epochs,
            steps=train.steps_per_epoch)
        per_batch = callback_list.batch_hooks_needed("train")
        self.stop_training = False
        self._initial_epoch = None
        with _progress_line_ended_on_interrupt(callback_list):
            callback_list.on_train_begin()
            initial_epoch = self._initial_epoch or initial_epoch  # BackupAndRestore may resume later
            epoch_logs = {}
            for epoch in range(initial_epoch, epochs):
                if self._native is not None:  # a generator's first batch builds the network, with fresh metrics
                    self._native.reset_metrics()
                callback_list.on_epoch_begin(epoch)
                logs = {}
                for first_step, last_step, run in train.chunks(epoch, per_batch, verbose == 1):
                    if per_batch:
                        callback_list.on_train_batch_begin(first_step)
                    run()
                    logs = self._logs()
                    callback_list.on_train_batch_end(last_step, logs)
                    if self.stop_training:
                        break
                epoch_logs = dict(logs)
                if val is not None and _validation_due(epoch, validation_freq):
                    val_logs = self._run_evaluation(val, validation_steps, callback_list)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                callback_list.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
            callback_list.on_train_end(epoch_logs)
        return self.history

    def _validation_source(self, validation_data, batch_size):
        validation_data = foreign_data.as_batch_source(validation_data)
        if data_utils.is_batch_source(validation_data):
            return ("source", validation_data, None)
        vx, vy, vw = data_utils.unpack(validation_data)
        _, data = self._training_data(vx, vy, vw)
        return ("arrays", data, batch_size or 32)

    def _run_evaluation(self, source, steps, callback_list):
        kind, payload, batch_size = source
        network = self._native
        network.reset_metrics()
        callback_list.on_test_begin()
        if kind == "arrays":
            count = payload.rows if steps is None else min(payload.rows, steps * batch_size)
            if payload.sparse:
                data_utils.evaluate_by_chunks(network, payload, count, batch_size)
            else:
                network.evaluate(payload.inputs, payload.targets, payload.sample_weight, batch_size,
                                 None if count == payload.rows else np.arange(count, dtype=np.int64))
            callback_list.on_test_batch_end(math.ceil(count / batch_size) - 1, self._logs())
        else:
            for step, batch in enumerate(iterate_batches(payload, steps)):
                callback_list.on_test_batch_begin(step)
                bx, by, bw = data_utils.unpack(batch)
                _, data = self._training_data(bx, by, bw)
                network.evaluate(data.inputs, data.targets, data.sample_weight, data.rows)
                callback_list.on_test_batch_end(step, self._logs())
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs

    # -------------------------------------------------------------------------- evaluate
    @serialized("steps")
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Sequence[Callback] | None = None,
                 return_dict: bool = False, **kwargs: Any) -> Any:
        """Loss and metrics on the given data: a float, a list [loss, metrics...], or a dict."""
        _reject_unknown(kwargs, _KERAS2_FIT_ARGS, "evaluate")
        self._assert_compiled("evaluate")
        arguments.data("x", x)
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                arguments.data(name, value)
        batch_size = arguments.optional_count("batch_size", batch_size)
        verbose_param, verbose = verbose, arguments.verbosity(verbose)
        steps = arguments.optional_count("steps", steps)
        arguments.callback_list(callbacks, callbacks_module.Callback)
        arguments.boolean("return_dict", return_dict)
        x = foreign_data.as_batch_source(x)
        if data_utils.is_batch_source(x):
            n_steps = steps if steps is not None else source_length(x)
            source = ("source", self._build_from_first_batch(x), None)
        else:
            x = self._standardized_inputs(x)
            batch_size = _resolve_batch_size(batch_size, steps, x)
            _, data = self._training_data(x, y, sample_weight)
            source = ("arrays", data, batch_size)
            n_steps = math.ceil(data.rows / batch_size) if steps is None else steps
        callback_list = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                                      verbose=verbose_param, epochs=1, steps=n_steps)
        with _progress_line_ended_on_interrupt(callback_list):
            logs = self._run_evaluation(source, steps, callback_list)
        return self._format_results(logs, return_dict)

    def _format_results(self, logs, return_dict):
        """The logs as a dict, or as Keras's list: the values found under the names of Keras's
        `model.metrics` (LogLayout.keras_order), then the other keys sorted; a bare float when
        that list has one value."""
        if return_dict:
            return logs
        layout = self._log_layout()
        if logs.keys() == layout.key_set:
            values = [logs[n] for n in layout.list_order]
        else:
            names = layout.keras_order
            values = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values

    # --------------------------------------------------------------------------- predict
    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto", steps: int | None = None,
                callbacks: Sequence[Callback] | None = None, **kwargs: Any) -> Any:
        """Model outputs for the inputs x, as NumPy arrays (with Keras's progress bar by default)."""
        path = self._inference_path
        if path is not None and type(verbose) is int and verbose == 0 and steps is None and callbacks is None and \
                not kwargs and (batch_size is None or type(batch_size) is int and batch_size > 0):
            outputs = path.run(self, x, 32 if batch_size is None else batch_size)  # 32: _resolve_batch_size's
            if outputs is not None:
                return outputs
        _reject_unknown(kwargs, _KERAS2_FIT_ARGS, "predict")
        if not (type(verbose) is int and 0 <= verbose <= 2):  # the fast path skips the calls below
            verbose = arguments.verbosity(verbose)
        if steps is not None:
            steps = arguments.optional_count("steps", steps)
        if batch_size is not None and not (type(batch_size) is int and batch_size > 0):
            arguments.optional_count("batch_size", batch_size)
        if callbacks is not None:
            arguments.callback_list(callbacks, callbacks_module.Callback)
        if type(x) is not np.ndarray:  # the checks below cost ~1 us, a tenth of predicting one sample
            x = foreign_data.as_batch_source(arguments.data("x", x))
        from_source = data_utils.is_batch_source(x)
        if not from_source:
            if type(x) is not np.ndarray:
                x = self._standardized_inputs(x)
            batch_size = _resolve_batch_size(batch_size, steps, x)
        if verbose == 0 and callbacks is None and not from_source:
            return self._predict_arrays(x, batch_size=batch_size)  # the latency-critical path

        n_steps = source_length(x) if from_source else math.ceil(data_utils.row_count(x) / batch_size)
        callback_list = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                                      verbose=verbose, epochs=1, steps=steps or n_steps)
        with _progress_line_ended_on_interrupt(callback_list):
            callback_list.on_predict_begin()
            if from_source:
                results = []
                for step, batch in enumerate(iterate_batches(x, steps)):
                    callback_list.on_predict_batch_begin(step)
                    inputs = batch[0] if isinstance(batch, tuple) else batch  # (x,), (x, y) or x
                    results.append(self._predict_arrays(inputs, batch_size=None))
                    callback_list.on_predict_batch_end(step, {"outputs": results[-1]})
                outputs = _concatenate_structures(results)
            else:
                outputs = self._predict_arrays(x, batch_size=batch_size)
                callback_list.on_predict_batch_end(n_steps - 1, {"outputs": outputs})
            callback_list.on_predict_end()
        return outputs

    def _predict_arrays(self, x, batch_size=None, training=False):
        """predict's, predict_on_batch's and __call__'s checked path (batch_size None: all rows as
        one batch); it caches their fast path for the next calls (fast_path.py)."""
        if type(x) is not np.ndarray:
            x = self._standardized_inputs(x)
        self._ensure_built_for_data(x)
        inputs = self._engine_input_arrays(x, finite=False)
        rows = inputs[0].shape[0]
        try:
            network = self._native_network()
        except NotImplementedError:
            return self.call(x, training=training)
        if data_utils.has_sparse(inputs):
            outputs = data_utils.predict_by_chunks(network, inputs, batch_size)
        else:
            outputs = network.predict(inputs, batch_size or rows)
            path = self._inference_path
            if (path is None or path.network is not network) and InferencePath.applies_to(self):
                self._inference_path = InferencePath(self, network)
        shaped = [out.reshape((rows,) + tuple(t.shape[1:])) for out, t in zip(outputs, self.outputs)]
        return self._output_structure(shaped)

    # ------------------------------------------------------------------------- on_batch
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: dict[int, float] | None = None, return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the loss (and metrics) of that batch."""
        path = self._batch_path
        if path is not None and sample_weight is None and class_weight is None:
            results = path.train(self, x, y, return_dict)  # under the model's steps lock
            if results is not None:
                return results
        return self._checked_train_on_batch(x, y, sample_weight, class_weight, return_dict)

    @serialized("steps")
    def _checked_train_on_batch(self, x, y, sample_weight, class_weight, return_dict):
        self._assert_compiled("train_on_batch")
        _check_batch_arguments(x, y, sample_weight, return_dict)
        data_utils.check_class_weight(class_weight)
        network, data = self._training_data(x, y, sample_weight, class_weight)
        network.reset_metrics()
        rates = self.optimizer._learning_rates(None, 1)
        network.train(data.inputs, data.targets, data.sample_weight, None, data.rows, rates)  # None: rows in order
        self._cache_batch_path(network)
        return self._format_results(self._logs(), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """The loss (and metrics) of one batch, without updating the weights."""
        path = self._batch_path
        if path is not None and sample_weight is None:
            results = path.evaluate(self, x, y, return_dict)  # under the model's steps lock
            if results is not None:
                return results
        return self._checked_test_on_batch(x, y, sample_weight, return_dict)

    @serialized("steps")
    def _checked_test_on_batch(self, x, y, sample_weight, return_dict):
        self._assert_compiled("test_on_batch")
        _check_batch_arguments(x, y, sample_weight, return_dict)
        network, data = self._training_data(x, y, sample_weight)
        network.reset_metrics()
        network.evaluate(data.inputs, data.targets, data.sample_weight, data.rows)
        self._cache_batch_path(network)
        return self._format_results(self._logs(), return_dict)

    def _cache_batch_path(self, network):
        """After a checked train/test_on_batch: the fast path of the next ones (fast_path.py), when
        this model's calls can take it."""
        path = self._batch_path
        if path is None or path.network is not network:
            entries = BatchPath.entries_for(self, network)
            if entries is not None:
                self._batch_path = BatchPath(self, network, entries)

    def predict_on_batch(self, x: Any) -> Any:
        path = self._inference_path
        if path is not None:
            outputs = path.run(self, x, 0)
            if outputs is not None:
                return outputs
        if type(x) is not np.ndarray:
            arguments.data("x", x)
        return self._predict_arrays(x)

    # ------------------------------------------------------------------ Keras 2 spellings
    def fit_generator(self, generator: Any, *args: Any, **kwargs: Any) -> History:
        """Keras 2's fit_generator: fit() on a generator (or on arrays x, y)."""
        if args and not isinstance(args[0], (int, np.integer)):
            return self.fit(generator, *args, **kwargs)
        if args:
            kwargs["steps_per_epoch"] = args[0]
        return self.fit(generator, **_drop_keras2_only(kwargs))

    def evaluate_generator(self, generator: Any, steps: int | None = None, **kwargs: Any) -> Any:
        return self.evaluate(generator, steps=steps, **_drop_keras2_only(kwargs))

    def predict_generator(self, generator: Any, steps: int | None = None, **kwargs: Any) -> Any:
        return self.predict(generator, steps=steps, **_drop_keras2_only(kwargs))


@contextlib.contextmanager
def _progress_line_ended_on_interrupt(callback_list):
    """Ctrl-C (KeyboardInterrupt) stops a run in the middle of a progress bar's line: end that
    line before the exception propagates, so the traceback starts on a line of its own. The
    model stays usable: the engine is only ever interrupted between two native calls."""
    try:
        yield
    except KeyboardInterrupt:
        for callback in callback_list.callbacks:
            if isinstance(callback, callbacks_module.ProgbarLogger):
                callback.end_line()
        raise


def _split(data, fraction):
    split_at = int(math.floor(data.rows * (1.0 - fraction)))
    if split_at == 0 or split_at == data.rows:
        raise ValueError(f"validation_split={fraction} leaves no samples for training or validation "
                         f"with {data.rows} samples")
    return data.take(0, split_at), data.take(split_at, data.rows)


def _validation_due(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _check_batch_arguments(x, y, sample_weight, return_dict):
    """train_on_batch's and test_on_batch's arguments, in ~1 us for arrays (a latency-critical path)."""
    if type(x) is not np.ndarray:
        arguments.data("x", x)
    if y is not None and type(y) is not np.ndarray:
        arguments.data("y", y)
    if sample_weight is not None and type(sample_weight) is not np.ndarray:
        arguments.data("sample_weight", sample_weight)
    if type(return_dict) is not bool:
        arguments.boolean("return_dict", return_dict)


def _resolve_batch_size(batch_size, steps, x):
    if batch_size is None:
        if steps is not None and x is not None:
            return max(1, math.ceil(data_utils.row_count(x) / steps))
        return 32
    if type(batch_size) is int and batch_size > 0:
        return batch_size
    return arguments.optional_count("batch_size", batch_size)


def _reject_unknown(kwargs, allowed, method):
    for key in kwargs:
        if key not in allowed:
            raise TypeError(f"{method}() got an unexpected keyword argument '{key}'")


def _drop_keras2_only(kwargs):
    return {k: v for k, v in kwargs.items() if k not in _KERAS2_FIT_ARGS}


def _concatenate_structures(results):
    first = results[0]
    if isinstance(first, dict):
        return {k: np.concatenate([r[k] for r in results]) for k in first}
    if isinstance(first, list):
        return [np.concatenate([r[i] for r in results]) for i in range(len(first))]
    return np.concatenate(results)
