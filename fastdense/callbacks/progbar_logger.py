"""`ProgbarLogger`: the progress bar of `fit`, `evaluate` and `predict`."""

from __future__ import annotations

from fastdense.callbacks.base import Callback
from fastdense.utils.io_utils import print_msg
from fastdense.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Prints a progress bar with the logs it receives (added by `fit` unless `verbose=0`).

    It reads `params["verbose"]` ("auto" means 1), `params["epochs"]` and `params["steps"]`
    (None when the number of batches is not known in advance; the final line then shows the
    count of batches seen). "Epoch e/E" is printed at each epoch start only when E > 1. The bar
    moves on `on_*_batch_end(batch, logs)`; it copes with batch indices that skip ahead (a model
    that runs several batches per native call reports only the last one). The final line, drawn
    at `on_epoch_end`, shows the epoch logs including the `val_` keys. The validation run inside
    `fit` draws nothing; a standalone `evaluate` or `predict` gets its own bar, and `predict`
    shows no values.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params["verbose"]
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params["epochs"]
        self.target = params["steps"]

    def _uses_batch_hooks(self, mode):
        return False  # the bar only needs the last batch index of each chunk

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._start_bar()

    def on_predict_begin(self, logs=None):
        self._start_bar()

    def on_epoch_begin(self, epoch, logs=None):
        self._start_bar()
        if self.verbose and self.epochs > 1:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._advance(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch, None)  # the outputs are not values to display

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finish(logs)

    def on_predict_end(self, logs=None):
        self._finish(logs)

    def end_line(self):
        """Ends the current bar's line if the run stopped in the middle of it (fit, evaluate and
        predict call this when interrupted by Ctrl-C, before re-raising)."""
        if self.progbar is not None:
            self.progbar.end_line()

    def _start_bar(self):
        self.seen = 0
        self.progbar = None
        self._ensure_bar()

    def _ensure_bar(self):
        if self.progbar is None:
            # The logs are already running means: show them as given, never re-average.
            self.progbar = Progbar(
                target=self.target, verbose=self.verbose, unit_name="step", stateless_metrics=set()
            )

    def _advance(self, batch, logs):
        self._ensure_bar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finish(self, logs):
        self._ensure_bar()
        if self.target is None:
            # An unknown step count is learned from the first epoch and kept for the next ones.
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)
