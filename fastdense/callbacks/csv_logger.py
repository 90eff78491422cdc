"""`CSVLogger`: one CSV row per epoch."""

from __future__ import annotations

import collections.abc
import csv
import os

import numpy as np

from fastdense.callbacks.base import Callback


class CSVLogger(Callback):
    """Streams the epoch logs to a CSV file.

    The columns are fixed at the first epoch end: "epoch" (0-based), then the sorted log keys;
    if no "val_" key is present yet, a "val_<key>" column is added for every key, so that
    validation results of later epochs have a place. Missing values are written as "NA",
    list-like values as a quoted "[a, b]". Rows use the csv module's excel dialect (so lines end
    in "\\r\\n", as in Keras). The file is flushed after every row.

    Args:
        filename: the CSV file.
        separator: the field delimiter.
        append: append to an existing file (writing the header only if the file is empty)
            instead of overwriting it.
    """

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        self._close()
        self.csv_file = open(self.filename, mode)
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = _columns(logs)
        if self.writer is None:
            self.writer = self._make_writer()
        row = {"epoch": epoch}
        row.update((key, _cell(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()
        self.writer = None

    def _make_writer(self):
        dialect = type("CSVLoggerDialect", (csv.excel,), {"delimiter": self.sep})
        writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=dialect)
        if self.append_header:
            writer.writeheader()
        return writer

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()


def _columns(logs):
    keys = sorted(logs)
    if keys and not any(key.startswith("val_") for key in keys):
        keys += [f"val_{key}" for key in keys]
    return keys


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return f'"[{", ".join(map(str, value))}]"'
    return value
