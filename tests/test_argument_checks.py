"""Every public argument of compile / fit / evaluate / predict / *_on_batch / save / save_weights /
load_model / load_weights, given a value of the wrong type or out of range, is refused with a
TypeError or ValueError naming the argument and what was given, before any work: the weights,
the optimizer's step count and the files on disk are as they were, and no callback has run.

The table has a row (usually several) for every parameter of each method's signature, in
fastdense and in Keras 3: a new argument without a row fails `test_the_table_covers_...`.
Where Keras raises too, the `keras` column holds the type of its exception, and
`test_keras_raises_the_same_exception_type` checks it; None where Keras accepts the value (and
trains, saves or validates with something nobody asked for) or fails in an unrelated way.
"""

import inspect
import os

import numpy as np
import pytest

import fastdense
from fastdense import layers
from misuse import HookRecorder, assert_nothing_ran

X = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(16, 1)).astype(np.float32)

METHODS = ("compile", "fit", "evaluate", "predict", "train_on_batch", "test_on_batch", "predict_on_batch", "save",
           "save_weights", "load_model", "load_weights")


class Row:
    """One wrong value for one argument: the exception expected from fastdense, the text the
    message shows for the value (its repr by default) and Keras 3's exception type, if any."""

    def __init__(self, method, argument, value, exception, shows=None, keras=None, names=None):
        self.method, self.argument, self.value, self.exception = method, argument, value, exception
        self.shows = repr(value) if shows is None else shows
        self.names = argument if names is None else names  # a file that cannot be read: the file
        self.keras = keras

    def __repr__(self):
        return f"{self.method}-{self.argument}={self.shows}"


def rows_for_data(method, argument, keras=ValueError):
    rows = [Row(method, argument, "abc", ValueError, keras=keras), Row(method, argument, 7, ValueError, keras=keras)]
    if argument == "x":  # the one that cannot be left out
        rows.append(Row(method, argument, None, ValueError))
    return rows


def rows_for_count(method, argument, negative=-3, keras_type=None, keras_value=None):
    """A step count or batch size: a positive integer or None."""
    return [Row(method, argument, "8", TypeError, keras=keras_type), Row(method, argument, 2.5, TypeError),
            Row(method, argument, negative, ValueError, shows=str(negative), keras=keras_value),
            Row(method, argument, 0, ValueError, shows="0")]


def rows_for_flag(method, argument):
    """True or False: 'no' is truthy, so a string is refused rather than read as True."""
    return [Row(method, argument, "no", TypeError), Row(method, argument, 1, TypeError)]


def rows_for_verbose(method):
    return [Row(method, "verbose", 7, ValueError, shows="7"), Row(method, "verbose", -1, ValueError, shows="-1"),
            Row(method, "verbose", "loud", ValueError), Row(method, "verbose", 1.5, TypeError)]


def rows_for_callbacks(method):
    return [Row(method, "callbacks", 5, TypeError), Row(method, "callbacks", [5], TypeError, shows="5"),
            Row(method, "callbacks", "progbar", TypeError)]


def rows_for_file_path(method, wrong_extension):
    return [Row(method, "filepath", 5, ValueError, keras=ValueError if method == "save" else None),
            Row(method, "filepath", wrong_extension, ValueError, shows=wrong_extension)]


TABLE = [
    # ------------------------------------------------------------------------------ compile
    Row("compile", "optimizer", 5, ValueError, shows="5", keras=ValueError),
    Row("compile", "optimizer", "sgdd", ValueError, keras=ValueError),
    Row("compile", "loss", 5, ValueError, shows="5"),  # Keras: a ValueError too, but from fit
    Row("compile", "loss", "msee", ValueError),
    Row("compile", "loss_weights", "heavy", ValueError, keras=ValueError),
    Row("compile", "metrics", "accuracy", ValueError, keras=ValueError),
    Row("compile", "metrics", 5, ValueError, keras=ValueError),
    Row("compile", "weighted_metrics", "mae", ValueError, keras=ValueError),
    Row("compile", "weighted_metrics", 5, ValueError, keras=ValueError),
    *rows_for_flag("compile", "run_eagerly"),
    Row("compile", "steps_per_execution", "2", TypeError), Row("compile", "steps_per_execution", 0, ValueError, "0"),
    Row("compile", "steps_per_execution", -1, ValueError, "-1"),
    Row("compile", "jit_compile", "xla", ValueError), Row("compile", "jit_compile", 5, TypeError),
    *rows_for_flag("compile", "auto_scale_loss"),
    # ---------------------------------------------------------------------------------- fit
    *rows_for_data("fit", "x"), *rows_for_data("fit", "y", keras=None),
    *rows_for_count("fit", "batch_size", keras_type=TypeError),
    Row("fit", "epochs", 1.5, TypeError, keras=TypeError), Row("fit", "epochs", "3", TypeError, keras=TypeError),
    Row("fit", "epochs", -1, ValueError, shows="-1"),
    *rows_for_verbose("fit"), *rows_for_callbacks("fit"),
    Row("fit", "validation_split", "0.2", TypeError), Row("fit", "validation_split", 1.5, ValueError, keras=None),
    Row("fit", "validation_split", 1.0, ValueError), Row("fit", "validation_split", -0.1, ValueError),
    Row("fit", "validation_data", 5, ValueError, keras=ValueError),
    Row("fit", "validation_data", "val", ValueError, keras=ValueError),
    Row("fit", "validation_data", (X,), ValueError, shows="tuple of 1 items"),
    Row("fit", "shuffle", "yes", ValueError), Row("fit", "shuffle", 2, TypeError),
    Row("fit", "class_weight", "balanced", TypeError), Row("fit", "class_weight", {0: "high"}, TypeError, "'high'"),
    *rows_for_data("fit", "sample_weight", keras=None),
    Row("fit", "sample_weight", np.ones(3), ValueError, shows="(3,)"),
    Row("fit", "initial_epoch", 0.5, TypeError), Row("fit", "initial_epoch", -1, ValueError, shows="-1"),
    *rows_for_count("fit", "steps_per_epoch", keras_type=TypeError, keras_value=ValueError),
    *rows_for_count("fit", "validation_steps"), *rows_for_count("fit", "validation_batch_size"),
    Row("fit", "validation_freq", "2", TypeError), Row("fit", "validation_freq", 0, ValueError, shows="0"),
    Row("fit", "validation_freq", [1, 0], ValueError, shows="0"), Row("fit", "validation_freq", 1.5, TypeError),
    # ----------------------------------------------------------------------------- evaluate
    *rows_for_data("evaluate", "x"), *rows_for_data("evaluate", "y", keras=None),
    *rows_for_count("evaluate", "batch_size"), *rows_for_verbose("evaluate"),
    *rows_for_data("evaluate", "sample_weight", keras=None),
    *rows_for_count("evaluate", "steps", keras_type=TypeError, keras_value=ValueError),
    *rows_for_callbacks("evaluate"), *rows_for_flag("evaluate", "return_dict"),
    # ------------------------------------------------------------------------------ predict
    *rows_for_data("predict", "x"), *rows_for_count("predict", "batch_size"), *rows_for_verbose("predict"),
    *rows_for_count("predict", "steps", keras_value=ValueError), *rows_for_callbacks("predict"),
    # ----------------------------------------------------------------------------- on_batch
    *rows_for_data("train_on_batch", "x"), *rows_for_data("train_on_batch", "y", keras=None),
    *rows_for_data("train_on_batch", "sample_weight", keras=None),
    Row("train_on_batch", "class_weight", "balanced", TypeError), *rows_for_flag("train_on_batch", "return_dict"),
    *rows_for_data("test_on_batch", "x"), *rows_for_data("test_on_batch", "y", keras=None),
    *rows_for_data("test_on_batch", "sample_weight", keras=None), *rows_for_flag("test_on_batch", "return_dict"),
    *rows_for_data("predict_on_batch", "x"),
    # ------------------------------------------------------------------------------- saving
    *rows_for_file_path("save", "model.txt"), *rows_for_flag("save", "overwrite"),
    *rows_for_flag("save", "include_optimizer"),
    Row("save", "zipped", "yes", TypeError), Row("save", "zipped", False, ValueError, shows="zipped=False"),
    Row("save", "save_format", "tf", ValueError),
    *rows_for_file_path("save_weights", "model.weights.txt"), *rows_for_flag("save_weights", "overwrite"),
    Row("save_weights", "max_shard_size", "1GB", ValueError, keras=ValueError),
    Row("save_weights", "max_shard_size", -1, ValueError, shows="-1", keras=ValueError),
    Row("save_weights", "max_shard_size", 0, ValueError, shows="0"),
    # ------------------------------------------------------------------------------ loading
    Row("load_model", "filepath", 5, ValueError),
    Row("load_model", "filepath", "notes.txt", ValueError, shows="not a Keras model file", names="notes.txt"),
    Row("load_model", "custom_objects", ["Dense"], TypeError), Row("load_model", "custom_objects", "x", TypeError),
    *rows_for_flag("load_model", "compile"), *rows_for_flag("load_model", "safe_mode"),
    Row("load_weights", "filepath", 5, ValueError),
    Row("load_weights", "filepath", "notes.txt", ValueError, shows="not a Keras weights file", names="notes.txt"),
    *rows_for_flag("load_weights", "skip_mismatch"), *rows_for_flag("load_weights", "by_name"),
]


def public_parameters(function):
    return {name for name, p in inspect.signature(function).parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def functions_of(module):
    """Each method of the table as `module` defines it (fastdense or keras)."""
    return {name: (module.saving.load_model if name == "load_model" else getattr(module.Model, name))
            for name in METHODS}


def table_arguments(method):
    return {row.argument for row in TABLE if row.method == method}


@pytest.mark.parametrize("method", METHODS)
def test_the_table_covers_every_parameter_of_fastdense(method):
    missing = public_parameters(functions_of(fastdense)[method]) - table_arguments(method)
    assert not missing, f"{method}: arguments without a row in TABLE: {sorted(missing)}"


@pytest.mark.parametrize("method", METHODS)
def test_the_table_covers_every_parameter_of_keras(keras, method):
    missing = public_parameters(functions_of(keras)[method]) - table_arguments(method)
    assert not missing, f"{method}: Keras {keras.__version__} arguments without a row in TABLE: {sorted(missing)}"


# ------------------------------------------------------------------------------------ calling
def new_model(lib, compiled=True):
    model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1)])
    if compiled:
        model.compile(optimizer="sgd", loss="mse")
    return model


def call(lib, model, method, argument, value, tmp_path, recorder=None):
    """model.method(...) (lib.saving.load_model for load_model) with valid values for every
    argument but `argument`."""
    if method == "compile":
        kwargs = {"optimizer": "sgd", "loss": "mse"}
    elif method in ("fit", "evaluate"):
        kwargs = {"x": X, "y": Y, "verbose": 0, "callbacks": [recorder] if recorder else None}
    elif method == "predict":
        kwargs = {"x": X, "verbose": 0, "callbacks": [recorder] if recorder else None}
    elif method in ("train_on_batch", "test_on_batch"):
        kwargs = {"x": X, "y": Y}
    elif method == "predict_on_batch":
        kwargs = {"x": X}
    elif method == "save":
        kwargs = {"filepath": str(tmp_path / "model.keras")}
    elif method == "save_weights":
        kwargs = {"filepath": str(tmp_path / "model.weights.h5")}
    else:
        kwargs = {"filepath": saved_file(lib, tmp_path, method)}
    if argument == "filepath" and isinstance(value, str):
        value = str(tmp_path / value)
        if value.endswith("notes.txt"):
            with open(value, "w") as f:
                f.write("not a model\n")
    kwargs[argument] = value
    if method == "load_model":
        return lib.saving.load_model(**kwargs)
    return getattr(model, method)(**kwargs)


def saved_file(lib, tmp_path, method):
    """A file for load_model / load_weights to read: another model's, so that loading it would
    change the weights of the model under test."""
    other = new_model(lib)
    other.set_weights([w + 1.0 for w in other.get_weights()])
    if method == "load_model":
        path = str(tmp_path / "other.keras")
        other.save(path)
    else:
        path = str(tmp_path / "other.weights.h5")
        other.save_weights(path)
    return path


@pytest.mark.parametrize("row", TABLE, ids=repr)
def test_a_wrong_argument_is_refused_naming_it_before_any_work(row, tmp_path):
    model = new_model(fastdense, compiled=row.method != "compile")
    before = [w.copy() for w in model.get_weights()]
    recorder = HookRecorder()
    files_before = sorted(os.listdir(tmp_path))
    with pytest.raises(row.exception) as raised:
        call(fastdense, model, row.method, row.argument, row.value, tmp_path,
             None if row.argument == "callbacks" else recorder)
    message = str(raised.value)
    assert row.names in message, f"the message does not name `{row.names}`: {message}"
    assert row.shows in message, f"the message does not show the value given ({row.shows}): {message}"
    assert_nothing_ran(model, before, recorder)
    if row.method in ("save", "save_weights"):
        assert sorted(os.listdir(tmp_path)) == files_before  # not even a temporary file left


@pytest.mark.parametrize("row", [row for row in TABLE if row.keras is not None], ids=repr)
def test_keras_raises_the_same_exception_type(keras, row, tmp_path):
    model = new_model(keras, compiled=row.method != "compile")
    with pytest.raises(row.keras):
        call(keras, model, row.method, row.argument, row.value, tmp_path)
    assert issubclass(row.exception, row.keras)


def test_valid_values_of_the_checked_arguments_are_accepted(tmp_path):
    """The other side of the table: the values the checks let through still work."""
    model = new_model(fastdense, compiled=False)
    model.compile(optimizer="sgd", loss="mse", loss_weights=0.5, metrics={"dense": ["mae"]}, weighted_metrics=[],
                  run_eagerly=np.bool_(False), steps_per_execution=np.int64(2), jit_compile=True, auto_scale_loss=False)
    history = model.fit(X, Y, batch_size=np.int32(4), epochs=np.int64(3), verbose=False, callbacks=[[HookRecorder()]],
                        validation_split=0.25, shuffle="batch", initial_epoch=1, steps_per_epoch=3,
                        validation_steps=1, validation_batch_size=4, validation_freq=range(1, 4))
    assert history.epoch == [1, 2] and "val_loss" in history.history
    assert model.fit(X, Y, validation_data=[X, Y, np.ones(16)], shuffle=np.bool_(True), verbose=0).epoch == [0]
    assert isinstance(model.evaluate(X, Y, batch_size=None, verbose=2, steps=None, return_dict=np.bool_(True)), dict)
    assert model.predict(X, batch_size=5, verbose=0, steps=2, callbacks=HookRecorder()).shape == (16, 1)
    model.save(tmp_path / "m.keras", overwrite=True, include_optimizer=False, zipped=True)
    model.save_weights(str(tmp_path / "m.weights.h5"), overwrite=np.bool_(True), max_shard_size=None)
    loaded = fastdense.saving.load_model(tmp_path / "m.keras", custom_objects={}, compile=False, safe_mode=True)
    loaded.load_weights(tmp_path / "m.weights.h5", skip_mismatch=False, by_name=False)
    np.testing.assert_array_equal(loaded.predict_on_batch(X), model.predict_on_batch(X))


def test_a_callback_of_another_class_with_keras_hooks_is_accepted(keras):
    """Callbacks are duck-typed as in Keras's CallbackList: a keras.callbacks.Callback works."""

    class Counter(keras.callbacks.Callback):
        epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            Counter.epochs += 1

    model = new_model(fastdense)
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[Counter()])
    assert Counter.epochs == 2
