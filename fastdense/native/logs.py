"""The engine's results as Keras logs: which name each running mean gets, and in which order."""

import numpy as np


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
        # Where each name's value sits in [loss, *output losses (if named), *metric results]
        # (Network.results() flattened); a later metric of the same name wins, as in read_logs.
        self.engine_positions = {name: i for i, name in enumerate(["loss"] + output_loss_names + metric_names)}
        self.list_order = [n for n in keras_order if n in self.key_set] + \
            [k for k in self.sorted_keys if k not in keras_order]

    @classmethod
    def of(cls, outputs):
        """The layout of compiled outputs (compile_utils.CompiledOutput, one per model output)."""
        output_loss_names = [f"{o.name}_loss" for o in outputs] if len(outputs) > 1 else []
        metric_names = [m.name for o in outputs for m in o.metrics]
        own_names = [m.own_name for weighted in (False, True) for o in outputs for m in o.metrics
                     if m.weighted == weighted]
        return cls(outputs, output_loss_names, metric_names, ["loss"] + own_names + output_loss_names)


def read_logs(network, layout):
    """The network's running means since its last reset_metrics(), keyed as in Keras 3 (sorted
    alphabetically); a metric with several values (e.g. Precision at 2 thresholds) is an array."""
    loss, output_losses, metric_values = network.results()
    logs = {"loss": float(loss)}
    for name, value in zip(layout.output_loss_names, output_losses):
        logs[name] = float(value)
    for name, value in zip(layout.metric_names, metric_values):
        scalar = isinstance(value, float) or np.size(value) == 1
        logs[name] = float(value) if scalar else np.asarray(value)
    return {key: logs[key] for key in layout.sorted_keys}
