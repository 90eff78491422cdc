"""compile / fit / evaluate / predict for models, running through one native Network.

How data flows through fit:
    user arrays ──(data.py: convert once)──▶ ArrayData ──▶ per epoch an index permutation
    ──▶ Network.train(index slice) runs many batches natively ──▶ running loss/metric means
    ──▶ logs ──▶ callbacks (History, progress bar, the user's).
Batches go to the engine one at a time only when a callback needs per-batch control, or when
the data comes from a generator/Sequence.
"""

import itertools
import math
import time
import warnings

import numpy as np

from fastdense import _core
from fastdense import optimizers as optimizers_module
from fastdense.trainers import compile_utils, data as data_utils, python_metrics
from fastdense.trainers.model_locks import serialized

_KERAS2_FIT_ARGS = ("max_queue_size", "workers", "use_multiprocessing")
# A progress bar is redrawn at most every 0.05 s, so native calls need not be shorter.
_CHUNK_SECONDS = 0.05


class OutputInfo:
    """What the data conversion needs to know about one output."""

    def __init__(self, name, shape, target_cols, sparse_classes):
        self.name = name
        self.shape = shape
        self.target_cols = target_cols
        self.sparse_classes = sparse_classes


class LogLayout:
    """Names of the logs for one set of compiled outputs: the per-output losses (several outputs
    only) and metrics in the engine's order, every key sorted as Keras 3 orders logs, and the
    order of Keras's `model.metrics` that list-valued results follow (loss, each metric's own
    unprefixed name — unweighted ones first, a name may repeat — then the per-output losses)."""

    def __init__(self, outputs, output_loss_names, metric_names, keras_order):
        self.outputs = outputs
        self.output_loss_names = output_loss_names
        self.metric_names = metric_names
        self.sorted_keys = sorted(["loss"] + output_loss_names + metric_names)
        self.keras_order = keras_order
        # The list-valued results of exactly these logs: keras_order's names, then the rest sorted.
        self.key_set = set(self.sorted_keys)
        self.list_order = [n for n in keras_order if n in self.key_set] + \
            [k for k in self.sorted_keys if k not in keras_order]

    @classmethod
    def of(cls, outputs):
        output_loss_names = [f"{o.name}_loss" for o in outputs] if len(outputs) > 1 else []
        metric_names = [m.name for o in outputs for m in o.metrics]
        own_names = [m.own_name for weighted in (False, True) for o in outputs for m in o.metrics
                     if m.weighted == weighted]
        return cls(outputs, output_loss_names, metric_names, ["loss"] + own_names + output_loss_names)


class Trainer:
    """Training methods shared by Model and Sequential."""

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
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configures the model for training: optimizer, loss(es), metrics.

        Each argument takes what Keras takes: names ('rmsprop', 'mse', 'mae', 'accuracy'),
        classes' instances (`losses.MeanSquaredError()`), functions (`losses.mean_squared_error`),
        and, for several outputs, lists or dicts keyed by output name.
        """
        for key in kwargs:
            if key not in ("sample_weight_mode", "target_tensors", "distribute"):
                raise TypeError(f"compile() got an unexpected keyword argument '{key}'")
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

    # ----------------------------------------------------------------------- native network
    @property
    def _dtype(self):
        return self.inputs[0].dtype if self.inputs else "float32"

    def _resolve_outputs(self, y_true_shapes):
        """Per-output loss and metrics, resolved against the shapes of the first targets seen."""
        names = self._output_keys
        args = self._compile_args
        losses = compile_utils.per_output(args["loss"], names, "loss")
        weights = compile_utils.per_output(args["loss_weights"], names, "loss_weights")
        metric_lists = _metrics_per_output(args["metrics"], names)
        weighted_lists = _metrics_per_output(args["weighted_metrics"], names)
        outputs, taken = [], set()
        for o, name in enumerate(names):
            y_pred_shape = self.outputs[o].shape
            y_true_shape = y_true_shapes[o]
            prefix = f"{name}_" if len(names) > 1 else ""
            compiled = []
            for identifiers, weighted in ((metric_lists[o], False), (weighted_lists[o], True)):
                for identifier in identifiers or []:
                    own_name, spec, direction, python = compile_utils.resolve_metric(
                        identifier, y_true_shape, y_pred_shape, weighted)
                    metric_name = prefix + own_name
                    if weighted and metric_name in taken:
                        metric_name = prefix + "weighted_" + metric_name[len(prefix):]
                    metric_name = _unique(metric_name, taken)
                    compiled.append(compile_utils.CompiledMetric(metric_name, spec, direction, python, weighted,
                                                                 own_name=own_name))
            loss = compile_utils.resolve_loss(losses[o], y_true_shape, y_pred_shape)
            weight = 1.0 if weights[o] is None else float(weights[o])
            outputs.append(compile_utils.CompiledOutput(name, loss, weight, compiled))
        return outputs

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
        y_true_shapes = [(None,) + tuple(np.shape(t)[1:]) if t is not None else None
                         for t in targets] if training else None
        network = _core.Network(self._dtype)
        from fastdense import random as fd_random

        network.seed(int(fd_random.global_generator().integers(0, 2**63 - 1)))
        input_ids = [t._keras_history[0]._lower(network, []) for t in self.inputs]
        output_ids = self._lower_graph(network, input_ids)
        self._output_infos = []
        if training:
            if self._compiled_outputs is None:
                self._compiled_outputs = self._resolve_outputs(y_true_shapes)
            for o, native_id in enumerate(output_ids):
                compiled = self._compiled_outputs[o]
                loss, target_cols = compile_utils.network_loss(compiled.loss, self.outputs[o].shape, y_true_shapes[o],
                                                               self._dtype)
                network.add_output(native_id, loss, compiled.loss_weight, target_cols)
                for metric in compiled.metrics:
                    if metric.native is not None:
                        network.add_metric(o, metric.native)
            variables = self.trainable_weights
            native_optimizer, indices = self.optimizer._native_for(variables)
            network.set_optimizer(native_optimizer, [v.value for v in variables], indices)
        else:
            for native_id in output_ids:
                network.add_output(native_id)
        for o, tensor in enumerate(self.outputs):
            width = int(np.prod(tensor.shape[1:]))
            sparse = None
            if training and (compile_utils.native_loss_config(self._compiled_outputs[o].loss) or {}).get("name") == \
                    "sparse_categorical_crossentropy":
                sparse = width
            target_cols = network.target_cols(o) if training else width
            self._output_infos.append(OutputInfo(self._output_keys[o], tensor.shape, target_cols, sparse))
        if training:  # metrics the engine lacks run in Python on each batch's predictions
            network = python_metrics.attach(network, self._compiled_outputs, [t.shape for t in self.outputs],
                                            y_true_shapes)
        self._native = network
        self._native_for_training = training
        return network

    def _metric_names(self):
        return self._log_layout().metric_names

    def _log_layout(self):
        """How the engine's results become logs, worked out once per set of compiled outputs
        (train_on_batch formats them on every call)."""
        layout = self._cached_log_layout
        if layout is None or layout.outputs is not self._compiled_outputs:
            layout = LogLayout.of(self._compiled_outputs)
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
        layout = self._log_layout()
        loss, output_losses, metric_values = self._native.results()
        logs = {"loss": float(loss)}
        for name, value in zip(layout.output_loss_names, output_losses):
            logs[name] = float(value)
        for name, value in zip(layout.metric_names, metric_values):
            scalar = isinstance(value, float) or np.size(value) == 1
            logs[name] = float(value) if scalar else np.asarray(value)  # e.g. Precision at 2 thresholds
        return {key: logs[key] for key in layout.sorted_keys}

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
    def _training_data(self, x, y, sample_weight=None, class_weight=None):
        """(network, ArrayData) for arrays passed to fit/evaluate/train_on_batch."""
        if self._native_for_training and sample_weight is None and class_weight is None:
            data = data_utils.ready_batch(x, y, self.inputs, self._output_infos, self._dtype)
            if data is not None:
                return self._native, data
        if y is None:
            raise ValueError("Targets y are required (or pass a generator yielding (x, y) batches)")
        self._ensure_built_for_data(x)
        inputs = data_utils.input_arrays(self, x, self._dtype)
        raw_targets = self._target_list(y)
        network = self._native_network(raw_targets)
        targets = data_utils.target_arrays(raw_targets, inputs[0].shape[0], self._output_infos, self._dtype)
        weights = data_utils.sample_weight_array(sample_weight, class_weight, targets, inputs[0].shape[0], self._dtype)
        return network, data_utils.ArrayData(inputs, targets, weights)

    def _build_from_first_batch(self, source, class_weight=None):
        """Builds the training network from the first batch of a generator or Sequence, before
        any callback runs (as Keras peeks at the data). Returns what to iterate: the Sequence,
        or the generator with that first batch put back in front."""
        if _is_sequence(source):
            if len(source) == 0:
                raise ValueError("The Sequence/PyDataset has no batches")
            batch, remaining = source[0], source
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
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1, **kwargs):
        """Trains the model for `epochs` epochs (Keras's arguments and semantics); returns History."""
        _reject_unknown(kwargs, _KERAS2_FIT_ARGS, "fit")
        self._assert_compiled("fit")
        verbose_param, verbose = verbose, _resolve_verbose(verbose)  # History.params keeps 'auto'
        from_source = data_utils.is_batch_source(x)
        if not from_source:
            batch_size = _resolve_batch_size(batch_size, steps_per_epoch, x)
        if validation_batch_size is not None:
            validation_batch_size = _resolve_batch_size(validation_batch_size, None, None)
        if from_source:
            if y is not None or sample_weight is not None:
                raise ValueError("`y` and `sample_weight` cannot be passed with a generator or Sequence: "
                                 "yield them from it instead")
            x = self._build_from_first_batch(x, class_weight)
            train, val = _BatchSourceEpochs(self, x, steps_per_epoch, shuffle, class_weight), None
        else:
            network, data = self._training_data(x, y, sample_weight, class_weight)
            if validation_split and validation_data is None:
                data, val = _split(data, validation_split)
                if class_weight is not None:  # class weights are for training only
                    val = data_utils.ArrayData(val.inputs, val.targets, None)
            else:
                val = None
            train = _ArrayEpochs(self, data, batch_size, shuffle, steps_per_epoch)
        if validation_data is not None:
            val = self._validation_source(validation_data, validation_batch_size or batch_size)
        elif val is not None:
            val = ("arrays", val, validation_batch_size or batch_size)

        from fastdense import callbacks as callbacks_module

        callback_list = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose_param, epochs=epochs,
            steps=train.steps_per_epoch)
        per_batch = callback_list.batch_hooks_needed("train")
        self.stop_training = False
        self._initial_epoch = None
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
            network.evaluate(payload.inputs, payload.targets, payload.sample_weight, batch_size,
                             None if count == payload.rows else np.arange(count, dtype=np.int64))
            callback_list.on_test_batch_end(math.ceil(count / batch_size) - 1, self._logs())
        else:
            for step, batch in enumerate(_iterate_source(payload, steps)):
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
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on the given data: a float, a list [loss, metrics...], or a dict."""
        _reject_unknown(kwargs, _KERAS2_FIT_ARGS, "evaluate")
        self._assert_compiled("evaluate")
        verbose_param, verbose = verbose, _resolve_verbose(verbose)
        from fastdense import callbacks as callbacks_module

        if data_utils.is_batch_source(x):
            n_steps = steps if steps is not None else _source_length(x)
            source = ("source", self._build_from_first_batch(x), None)
        else:
            batch_size = _resolve_batch_size(batch_size, steps, x)
            _, data = self._training_data(x, y, sample_weight)
            source = ("arrays", data, batch_size)
            n_steps = math.ceil(data.rows / batch_size) if steps is None else steps
        callback_list = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                                      verbose=verbose_param, epochs=1, steps=n_steps)
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
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """Model outputs for the inputs x, as NumPy arrays (with Keras's progress bar by default)."""
        _reject_unknown(kwargs, _KERAS2_FIT_ARGS, "predict")
        verbose = _resolve_verbose(verbose)
        from_source = data_utils.is_batch_source(x)
        if not from_source:
            batch_size = _resolve_batch_size(batch_size, steps, x)
        if verbose == 0 and callbacks is None and not from_source:
            return self._predict_arrays(x, batch_size=batch_size)  # the latency-critical path

        from fastdense import callbacks as callbacks_module

        n_steps = _source_length(x) if from_source else math.ceil(len(_first_array(x)) / batch_size)
        callback_list = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                                      verbose=verbose, epochs=1, steps=steps or n_steps)
        callback_list.on_predict_begin()
        if from_source:
            results = []
            for step, batch in enumerate(_iterate_source(x, steps)):
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
        self._ensure_built_for_data(x)
        inputs = data_utils.input_arrays(self, x, self._dtype, finite=False)
        rows = inputs[0].shape[0]
        try:
            network = self._native_network()
        except NotImplementedError:
            return self.call(x, training=training)
        outputs = network.predict(inputs, batch_size or rows)
        shaped = [out.reshape((rows,) + tuple(t.shape[1:])) for out, t in zip(outputs, self.outputs)]
        return self._output_structure(shaped)

    # ------------------------------------------------------------------------- on_batch
    @serialized("steps")
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics) of that batch."""
        self._assert_compiled("train_on_batch")
        network, data = self._training_data(x, y, sample_weight, class_weight)
        network.reset_metrics()
        rates = self.optimizer._learning_rates(None, 1)
        network.train(data.inputs, data.targets, data.sample_weight, None, data.rows, rates)  # None: rows in order
        return self._format_results(self._logs(), return_dict)

    @serialized("steps")
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        network, data = self._training_data(x, y, sample_weight)
        network.reset_metrics()
        network.evaluate(data.inputs, data.targets, data.sample_weight, data.rows)
        return self._format_results(self._logs(), return_dict)

    def predict_on_batch(self, x):
        return self._predict_arrays(x)

    # ------------------------------------------------------------------ Keras 2 spellings
    def fit_generator(self, generator, *args, **kwargs):
        """Keras 2's fit_generator: fit() on a generator (or on arrays x, y)."""
        if args and not isinstance(args[0], (int, np.integer)):
            return self.fit(generator, *args, **kwargs)
        if args:
            kwargs["steps_per_epoch"] = args[0]
        return self.fit(generator, **_drop_keras2_only(kwargs))

    def evaluate_generator(self, generator, steps=None, **kwargs):
        return self.evaluate(generator, steps=steps, **_drop_keras2_only(kwargs))

    def predict_generator(self, generator, steps=None, **kwargs):
        return self.predict(generator, steps=steps, **_drop_keras2_only(kwargs))


class _ArrayEpochs:
    """Epochs over arrays: a permutation per epoch, trained in chunks of consecutive batches."""

    def __init__(self, model, data, batch_size, shuffle, steps_per_epoch):
        self.model, self.data, self.batch_size, self.shuffle = model, data, batch_size, shuffle
        self.batches_in_data = math.ceil(data.rows / batch_size)
        self.steps_per_epoch = steps_per_epoch or self.batches_in_data
        self._order, self._position = None, 0
        self._seconds_per_step = None

    def _new_pass(self):
        from fastdense import random as fd_random

        rows = self.data.rows
        if self.shuffle == "batch":
            order = np.arange(rows, dtype=np.int64)
            for start in range(0, rows, self.batch_size):
                fd_random.global_generator().shuffle(order[start:start + self.batch_size])
        elif self.shuffle:
            order = fd_random.global_generator().permutation(rows).astype(np.int64)
        else:
            order = np.arange(rows, dtype=np.int64)
        self._order, self._position = order, 0

    def chunks(self, epoch, per_batch, live_progress):
        """Yields (first step, last step, run) for this epoch's work."""
        step = 0
        if self._order is None or self._position >= self.batches_in_data or self.steps_per_epoch == self.batches_in_data:
            self._new_pass()
        while step < self.steps_per_epoch:
            if self._position >= self.batches_in_data:
                warnings.warn("Your input ran out of data; interrupting the epoch. Make sure steps_per_epoch is at "
                              "most the number of batches in the data.")
                return
            count = 1 if per_batch else self._chunk_length(live_progress)
            count = min(count, self.steps_per_epoch - step, self.batches_in_data - self._position)
            yield step, step + count - 1, self._runner(self._position, count)
            step += count
            self._position += count

    def _chunk_length(self, live_progress):
        if not live_progress:
            return self.steps_per_epoch
        if self._seconds_per_step is None:
            return 1
        return max(1, int(_CHUNK_SECONDS / max(self._seconds_per_step, 1e-9)))

    def _runner(self, first_batch, count):
        def run():
            data, model = self.data, self.model
            index = self._order[first_batch * self.batch_size:(first_batch + count) * self.batch_size]
            rates = model.optimizer._learning_rates(None, count)
            started = time.perf_counter()
            model._native.train(data.inputs, data.targets, data.sample_weight, index, self.batch_size, rates)
            self._seconds_per_step = (time.perf_counter() - started) / count

        return run


class _BatchSourceEpochs:
    """Epochs over a generator or Sequence: one native call per yielded batch."""

    def __init__(self, model, source, steps_per_epoch, shuffle, class_weight):
        self.model, self.source, self.shuffle, self.class_weight = model, source, shuffle, class_weight
        self.steps_per_epoch = steps_per_epoch if steps_per_epoch is not None else _source_length(source)
        self._iterator = None

    def chunks(self, epoch, per_batch, live_progress):
        is_sequence = _is_sequence(self.source)
        if is_sequence:
            if hasattr(self.source, "on_epoch_begin"):
                self.source.on_epoch_begin()
            order = np.arange(len(self.source))
            if self.shuffle:
                from fastdense import random as fd_random

                fd_random.global_generator().shuffle(order)
            if self.steps_per_epoch is not None:
                order = order[:self.steps_per_epoch]
            batches = (self.source[int(i)] for i in order)
        else:
            if self._iterator is None:
                self._iterator = iter(self.source)
            batches = _take(self._iterator, self.steps_per_epoch)
        for step, batch in enumerate(batches):
            yield step, step, self._runner(batch)
        if is_sequence and hasattr(self.source, "on_epoch_end"):
            self.source.on_epoch_end()

    def _runner(self, batch):
        def run():
            model = self.model
            bx, by, bw = data_utils.unpack(batch)
            network, data = model._training_data(bx, by, bw, self.class_weight)
            rates = model.optimizer._learning_rates(None, 1)
            network.train(data.inputs, data.targets, data.sample_weight, None, data.rows, rates)

        return run


def _take(iterator, steps):
    count = 0
    while steps is None or count < steps:
        try:
            yield next(iterator)
        except StopIteration:
            return
        count += 1


def _is_sequence(source):
    return hasattr(source, "__getitem__") and hasattr(source, "__len__")


def _iterate_source(source, steps):
    if _is_sequence(source):
        n = len(source) if steps is None else min(steps, len(source))
        return (source[i] for i in range(n))
    return _take(iter(source), steps)


def _source_length(source):
    if hasattr(source, "num_batches") and source.num_batches is not None:
        return source.num_batches
    if hasattr(source, "__len__"):
        return len(source)
    return None


def _split(data, fraction):
    if not 0 < fraction < 1:
        raise ValueError(f"validation_split must be in (0, 1), got {fraction}")
    split_at = int(math.floor(data.rows * (1.0 - fraction)))
    if split_at == 0 or split_at == data.rows:
        raise ValueError(f"validation_split={fraction} leaves no samples for training or validation "
                         f"with {data.rows} samples")
    return data.take(0, split_at), data.take(split_at, data.rows)


def _validation_due(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _resolve_verbose(verbose):
    return 1 if verbose == "auto" else int(verbose)


def _first_array(x):
    if isinstance(x, dict):
        return next(iter(x.values()))
    return x[0] if isinstance(x, (list, tuple)) else x


def _resolve_batch_size(batch_size, steps, x):
    if batch_size is None:
        if steps is not None and x is not None:
            first = _first_array(x)
            return max(1, math.ceil(len(first) / steps))
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def _reject_unknown(kwargs, allowed, method):
    for key in kwargs:
        if key not in allowed:
            raise TypeError(f"{method}() got an unexpected keyword argument '{key}'")


def _drop_keras2_only(kwargs):
    return {k: v for k, v in kwargs.items() if k not in _KERAS2_FIT_ARGS}


def _metrics_per_output(metrics, names):
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, dict):
        return [_as_list(metrics.get(name)) for name in names]
    # A list of lists has one list per output (a single output too: metrics=[["mae"]]).
    if isinstance(metrics, (list, tuple)) and metrics and (len(names) > 1 or len(metrics) == 1) and \
            all(isinstance(m, (list, tuple)) or m is None for m in metrics):
        return [_as_list(m) for m in metrics]
    return [_as_list(metrics) for _ in names]


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _unique(name, taken):
    candidate, suffix = name, 1
    while candidate in taken:
        candidate = f"{name}_{suffix}"
        suffix += 1
    taken.add(candidate)
    return candidate


def _concatenate_structures(results):
    first = results[0]
    if isinstance(first, dict):
        return {k: np.concatenate([r[k] for r in results]) for k in first}
    if isinstance(first, list):
        return [np.concatenate([r[i] for r in results]) for i in range(len(first))]
    return np.concatenate(results)
