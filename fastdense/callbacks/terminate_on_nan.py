"""`TerminateOnNaN`: stop as soon as the training loss stops being a finite number."""

from __future__ import annotations

import numpy as np

from fastdense.callbacks.base import Callback
from fastdense.utils.io_utils import print_msg


class TerminateOnNaN(Callback):
    """Checks `logs["loss"]` after every training batch; on NaN or Inf it prints
    "Batch b: Invalid loss, terminating training" and sets `model.stop_training`, or raises
    RuntimeError when `raise_error=True`. The epoch in progress still ends normally
    (validation and `on_epoch_end` run)."""

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print_msg(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
