"""`Callback`: the base class of everything that hooks into `fit`, `evaluate` and `predict`."""

from __future__ import annotations


def default_hook(method):
    """Marks a hook as the do-nothing default, so a `CallbackList` can tell which are overridden."""
    method._is_default_hook = True
    return method


def is_default_hook(method):
    """Whether `method` (bound or not) is still a default, non-overridden hook."""
    return getattr(method, "_is_default_hook", False)


# The hooks that observe a mode's batches one by one.
BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback:
    """Base class for callbacks; override the hooks you need.

    Attributes:
        params: dict of run parameters, set by `set_params` (`verbose`, `epochs`, `steps`).
        model: the model being trained, set by `set_model`.

    Batch indices are 0-based within the epoch. When a model runs several batches in one native
    call (which it does only when no callback overrides the batch hooks of that mode), the batch
    hooks are called once per call, with the index of its last batch.
    """

    def __init__(self) -> None:
        self.params = None
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    def _uses_batch_hooks(self, mode):
        """Whether this callback needs to see every batch of `mode` ("train", "test", "predict").

        By default: whether it overrides one of that mode's batch hooks (for "train" this
        includes `on_batch_begin`/`on_batch_end`). Callbacks whose batch hook is conditional,
        like ModelCheckpoint with `save_freq="epoch"`, answer more precisely.
        """
        return any(not is_default_hook(getattr(self, hook)) for hook in BATCH_HOOKS[mode])

    @default_hook
    def on_batch_begin(self, batch, logs=None):
        """Backwards-compatible alias called by the default `on_train_batch_begin`."""

    @default_hook
    def on_batch_end(self, batch, logs=None):
        """Backwards-compatible alias called by the default `on_train_batch_end`."""

    @default_hook
    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (`fit` only); `logs` is empty."""

    @default_hook
    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with its results, `val_` keys included."""

    @default_hook
    def on_train_batch_begin(self, batch, logs=None):
        """Called before a training batch; delegates to `on_batch_begin` by default."""
        self.on_batch_begin(batch, logs=logs)

    @default_hook
    def on_train_batch_end(self, batch, logs=None):
        """Called after a training batch with the running means since the epoch began;
        delegates to `on_batch_end` by default."""
        self.on_batch_end(batch, logs=logs)

    @default_hook
    def on_test_batch_begin(self, batch, logs=None):
        """Called before a batch of `evaluate` (or of the validation inside `fit`)."""

    @default_hook
    def on_test_batch_end(self, batch, logs=None):
        """Called after a batch of `evaluate` with the running means so far."""

    @default_hook
    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a batch of `predict`."""

    @default_hook
    def on_predict_batch_end(self, batch, logs=None):
        """Called after a batch of `predict`; `logs` holds `{"outputs": ...}`."""

    @default_hook
    def on_train_begin(self, logs=None):
        """Called once at the start of `fit`."""

    @default_hook
    def on_train_end(self, logs=None):
        """Called once at the end of `fit` with the last epoch's logs."""

    @default_hook
    def on_test_begin(self, logs=None):
        """Called at the start of `evaluate` (or of each validation run inside `fit`)."""

    @default_hook
    def on_test_end(self, logs=None):
        """Called at the end of `evaluate` with its results."""

    @default_hook
    def on_predict_begin(self, logs=None):
        """Called at the start of `predict`."""

    @default_hook
    def on_predict_end(self, logs=None):
        """Called at the end of `predict`."""
