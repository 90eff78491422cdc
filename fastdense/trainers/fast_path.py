"""Cached fast paths for the latency-critical calls repeated with data of the same kind:
`predict` / `model(x)` / `predict_on_batch` (InferencePath) and `train_on_batch` /
`test_on_batch` (BatchPath).

A path is made after a call has gone the whole checked way (trainer.py) on one (samples,
features) array, for the native network that call used, and is taken while that network is still
the model's: everything that could change a result without changing the data replaces or drops
the model's network (compile, `model.trainable`, quantize, Sequential.add, ... all go through
`Trainer._invalidate_native`), and weights are only ever copied into the arrays the network reads
(set_weights, load_weights, training). What a call passes is checked by the native entry itself
(native/latency.py): anything but arrays of the model's widths, of the engine's dtype or of
integers, with finite values makes it run nothing and return None, and the caller then takes the checked path,
so bad input raises there exactly as before. A layer's `trainable` set after compile changes
nothing until the next compile on either path (as in tf.keras: its train function keeps the
variables it was traced with).
"""

from __future__ import annotations

from fastdense import native
from fastdense.trainers.model_locks import lock_of


class InferencePath:
    """A model's repeated predictions with one (samples, features) input array: one native call
    (`predict_array`), then the outputs in the model's structure."""

    __slots__ = ("network", "predict_array", "single_output", "output_shapes", "structure")

    def __init__(self, model, network):
        self.network = network
        self.predict_array = native.latency.predict_entry(network)
        self.output_shapes = [tuple(t.shape[1:]) for t in model.outputs]
        # A single (samples, units) output returned as it comes; else reshaped and structured.
        self.single_output = len(self.output_shapes) == 1 and len(self.output_shapes[0]) == 1 and \
            not isinstance(model._output_struct, (dict, list, tuple))
        self.structure = model._output_structure

    @staticmethod
    def applies_to(model):
        """Whether a model's predictions can take this path: one Input of rank 2 (a batch of
        vectors) fed straight to the engine, without a preprocessing stage."""
        return len(model.inputs) == 1 and len(model.inputs[0].shape) == 2 and model._preprocessing_stage() is None

    def run(self, model, x, batch_size):
        """The outputs for x (batch_size 0: all rows as one batch), or None when this path does
        not apply: the model's network changed, or x is not an array of the input's width (of
        the engine's dtype or of integers)."""
        if model._native is not self.network:
            return None
        outputs = self.predict_array(x, batch_size)
        if outputs is None:
            return None
        if self.single_output:
            return outputs[0]
        rows = outputs[0].shape[0]
        return self.structure([out.reshape((rows,) + shape) for out, shape in zip(outputs, self.output_shapes)])


class BatchPath:
    """A model's repeated train_on_batch / test_on_batch with one input and one target array,
    no sample or class weights: one native call (`train_batch` / `evaluate_batch`: reset the
    running means, run the batch, read them), then the results as `_format_results` makes them."""

    __slots__ = ("network", "steps_lock", "train_batch", "evaluate_batch", "sparse_classes", "output_losses",
                 "list_positions", "dict_positions", "identity_order")

    def __init__(self, model, network, entries):
        self.network = network
        self.steps_lock = lock_of(model, "steps")
        self.train_batch, self.evaluate_batch = entries
        self.sparse_classes = model._output_infos[0].sparse_classes or 0
        layout = model._log_layout()
        positions = layout.engine_positions
        self.output_losses = bool(layout.output_loss_names)  # logged per output with several outputs only
        self.list_positions = [positions[name] for name in layout.list_order]
        self.dict_positions = [(key, positions[key]) for key in layout.sorted_keys]
        self.identity_order = self.list_positions == list(range(len(positions)))

    @staticmethod
    def entries_for(model, network):
        """The native entries when train/test_on_batch on this model's network can take this
        path (one input of rank 2, one output, no preprocessing stage, native metrics); else None."""
        if len(model.inputs) != 1 or len(model.inputs[0].shape) != 2 or len(model.outputs) != 1 or \
                model._preprocessing_stage() is not None:
            return None
        return native.latency.batch_entries(network)

    def train(self, model, x, y, return_dict):
        """One optimizer step on (x, y); its loss and metrics, or None when this path does not
        apply (the caller then takes the checked path)."""
        with self.steps_lock:
            if model._native is not self.network or type(return_dict) is not bool:
                return None
            rates = model.optimizer._learning_rates(None, 1)
            results = self.train_batch(x, y, rates if type(rates) is float else float(rates[0]), self.sparse_classes)
        return None if results is None else self._format(results, return_dict)

    def evaluate(self, model, x, y, return_dict):
        """The loss and metrics of (x, y) as one batch, or None as for train."""
        with self.steps_lock:
            if model._native is not self.network or type(return_dict) is not bool:
                return None
            results = self.evaluate_batch(x, y, self.sparse_classes)
        return None if results is None else self._format(results, return_dict)

    def _format(self, results, return_dict):
        """What Trainer._format_results makes of read_logs(network): the engine gives floats."""
        loss, output_losses, metric_values = results
        values = [loss, *output_losses, *metric_values] if self.output_losses else [loss, *metric_values]
        if return_dict:
            return {key: values[i] for key, i in self.dict_positions}
        if not self.identity_order:
            values = [values[i] for i in self.list_positions]
        return values[0] if len(values) == 1 else values
