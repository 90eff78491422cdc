"""Epoch iteration for `fit` (as `keras/src/trainers/epoch_iterator.py` is for Keras): what one
epoch runs, handed to the fit loop as chunks of consecutive steps.

`chunks(epoch, per_batch, live_progress)` yields `(first step, last step, run)`: `run()` trains
those steps natively. Over arrays a chunk is many batches in one native call unless a callback
needs every batch (`per_batch`) or a progress bar is drawn (`live_progress`: chunks of about
`_CHUNK_SECONDS`). Over sparse inputs a chunk is also at most as many batches as
`ArrayData.rows_per_chunk` densifies at once. A generator, Sequence, tf.data Dataset or
DataLoader gives one chunk per yielded batch.
"""

import math
import time
import warnings

import numpy as np

from fastdense import random as fd_random
from fastdense.trainers import data as data_utils

# A progress bar is redrawn at most every 0.05 s, so native calls need not be shorter.
_CHUNK_SECONDS = 0.05


class ArrayEpochs:
    """Epochs over arrays: a permutation per epoch, trained in chunks of consecutive batches."""

    def __init__(self, model, data, batch_size, shuffle, steps_per_epoch):
        self.model, self.data, self.batch_size, self.shuffle = model, data, batch_size, shuffle
        self.batches_in_data = math.ceil(data.rows / batch_size)
        self._most_batches = data.rows_per_chunk(batch_size) // batch_size if data.sparse else None
        self.steps_per_epoch = steps_per_epoch or self.batches_in_data
        self._order, self._position = None, 0
        self._seconds_per_step = None

    def _new_pass(self):
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
            if self._most_batches is not None:
                count = min(count, self._most_batches)
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
            if data.sparse:  # this chunk's rows, densified, in the order they train
                part = data.rows_at(index)
                model._native.train(part.inputs, part.targets, part.sample_weight, None, self.batch_size, rates)
            else:
                model._native.train(data.inputs, data.targets, data.sample_weight, index, self.batch_size, rates)
            self._seconds_per_step = (time.perf_counter() - started) / count

        return run


class BatchSourceEpochs:
    """Epochs over a generator, Sequence, Dataset or DataLoader: one native call per yielded batch.

    A generator is read on from epoch to epoch. A Dataset or DataLoader (`reiterable`) starts a
    new pass each epoch, or, with steps_per_epoch given, when the previous pass ran out, as in
    `keras/src/trainers/epoch_iterator.py`."""

    def __init__(self, model, source, steps_per_epoch, shuffle, class_weight):
        self.model, self.source, self.shuffle, self.class_weight = model, source, shuffle, class_weight
        self._given_steps = steps_per_epoch
        self.steps_per_epoch = steps_per_epoch if steps_per_epoch is not None else source_length(source)
        self._iterator = None

    def chunks(self, epoch, per_batch, live_progress):
        sequence = is_sequence(self.source)
        if sequence:
            if hasattr(self.source, "on_epoch_begin"):
                self.source.on_epoch_begin()
            order = np.arange(len(self.source))
            if self.shuffle:
                fd_random.global_generator().shuffle(order)
            if self.steps_per_epoch is not None:
                order = order[:self.steps_per_epoch]
            batches = (self.source[int(i)] for i in order)
        else:
            reiterable = getattr(self.source, "reiterable", False)
            if self._iterator is None or (reiterable and self._given_steps is None):
                self._iterator, self._seen_in_pass = iter(self.source), 0
            batches = _take(self._iterator, self.steps_per_epoch)
            if reiterable:
                batches = self._renewed_when_exhausted(batches)
        for step, batch in enumerate(batches):
            yield step, step, self._runner(batch)
        if sequence and hasattr(self.source, "on_epoch_end"):
            self.source.on_epoch_end()

    def _renewed_when_exhausted(self, batches):
        """The batches of this epoch; the pass is over when it ran out or yielded all its batches."""
        count = 0
        for batch in batches:
            count += 1
            self._seen_in_pass += 1
            yield batch
        known = getattr(self.source, "num_batches", None)
        if count < (self.steps_per_epoch or 0) or self.steps_per_epoch is None or (
                known is not None and self._seen_in_pass >= known):
            self._iterator = None

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


def is_sequence(source):
    """True for a Sequence/PyDataset (indexable, with a length); False for a generator."""
    return hasattr(source, "__getitem__") and hasattr(source, "__len__")


def iterate_batches(source, steps):
    """The batches of a generator or Sequence, at most `steps` of them (None: all)."""
    if is_sequence(source):
        n = len(source) if steps is None else min(steps, len(source))
        return (source[i] for i in range(n))
    return _take(iter(source), steps)


def source_length(source):
    """Batches per epoch of a generator or Sequence, or None when it does not say."""
    if hasattr(source, "num_batches") and source.num_batches is not None:
        return source.num_batches
    if hasattr(source, "__len__"):
        return len(source)
    return None
