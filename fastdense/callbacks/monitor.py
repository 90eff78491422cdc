"""`MonitorCallback`: the "is this value an improvement?" logic shared by EarlyStopping,
ModelCheckpoint and ReduceLROnPlateau."""

import operator
import warnings

from fastdense.callbacks.base import Callback

_K2_MAXIMIZED_SUFFIXES = ("acc", "accuracy", "auc")


class MonitorCallback(Callback):
    """Base class of callbacks that watch one logged quantity.

    Args:
        monitor: the log key to watch, e.g. "val_loss".
        mode: "min", "max" or "auto" (anything else warns and means "auto").
        baseline: the initial best value; None means the first value observed is the best.
        min_delta: a change smaller than |min_delta| is not an improvement.

    Direction in "auto" mode (decided at the first epoch end, when the model's metrics exist):
    the "val_" prefix is stripped; "loss" is minimized. Other names are resolved through the
    model hook ``model._metric_direction(name) -> "min" | "max" | None``, which answers from the
    compiled metrics (accuracy-like and AUC-like metrics "max", loss-like metrics "min"; a model
    should also answer "min" for per-output loss names) and None when it cannot tell, which is a
    ValueError as in Keras 3. A model without the hook gets the Keras 2 name rule: names ending
    in "acc", "accuracy" or "auc" are maximized, everything else minimized.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{self.__class__.__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        direction = self.mode if self.mode != "auto" else self._auto_direction()
        self.monitor_op = operator.lt if direction == "min" else operator.gt

    def _ensure_monitor_op(self):
        if self.monitor_op is None:
            self._set_monitor_op()

    def _auto_direction(self):
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        if name == "loss":
            return "min"
        lookup = getattr(self.model, "_metric_direction", None)
        if lookup is None:
            return "max" if name.endswith(_K2_MAXIMIZED_SUFFIXES) else "min"
        direction = lookup(name)
        if direction not in ("min", "max"):
            raise ValueError(
                f"{self.__class__.__name__} callback received monitor={self.monitor}, but "
                "fastdense isn't able to automatically determine whether that metric should be "
                "maximized or minimized. Pass `mode='max'` in order to monitor based on the "
                "highest metric value, or pass `mode='min'` in order to use the lowest value."
            )
        return direction

    def _is_improvement(self, value, reference):
        """`value` beats `reference` by more than min_delta (anything beats None)."""
        if reference is None:
            return True
        self._ensure_monitor_op()
        # Shifting the value against the direction of improvement makes small gains not count.
        shift = self.min_delta if self.monitor_op is operator.gt else -self.min_delta
        return bool(self.monitor_op(value - shift, reference))
