"""`PyDataset` (alias `Sequence`): a dataset of batches indexed by position, as in Keras 3."""

import itertools
import warnings


class PyDataset:
    """Base class for datasets that return one batch per index.

    Subclass it, call `super().__init__(**kwargs)` in your constructor, and implement
    `__getitem__(index)` returning a batch (`x`, `(x, y)` or `(x, y, sample_weight)`) and
    either `__len__` or the `num_batches` property (None for an infinite dataset).
    `on_epoch_begin`/`on_epoch_end` are called by `fit` around every epoch, e.g. to reshuffle.

    Args:
        workers: number of threads or processes that prepare batches in parallel.
        use_multiprocessing: use processes instead of threads for the workers.
        max_queue_size: the number of prepared batches to keep ahead of training.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self):
        missing = False
        for attribute, default in (
            ("_workers", 1),
            ("_use_multiprocessing", False),
            ("_max_queue_size", 10),
        ):
            if not hasattr(self, attribute):
                setattr(self, attribute, default)
                missing = True
        if missing:
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be "
                "ignored.",
                stacklevel=3,
            )

    @property
    def workers(self):
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """Returns the batch at position `index`."""
        raise NotImplementedError

    @property
    def num_batches(self):
        """The number of batches, or None if the dataset is infinite. Defaults to `len(self)`."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            "You need to implement the `num_batches` property:\n\n"
            "@property\ndef num_batches(self):\n  return ..."
        )

    def __iter__(self):
        try:
            count = self.num_batches
        except NotImplementedError:
            count = None
        indices = itertools.count() if count is None else range(count)
        for index in indices:
            yield self[index]

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


Sequence = PyDataset
