"""Callbacks driven by a simulated fit loop on a fake model, and against keras.callbacks."""

import csv
import json
import math
import os

import numpy as np
import pytest

from fastdense.callbacks import (
    BackupAndRestore,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

# -- a fake model with the interface the callbacks use ----------------------------------------


class FakeOptimizer:
    """Stores the learning rate as float32, like a Keras optimizer variable."""

    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate

    @property
    def learning_rate(self):
        return float(self._learning_rate)

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = np.float32(value)


class FakeModel:
    DIRECTIONS = {"accuracy": "max", "auc": "max", "mae": "min", "mse": "min"}

    def __init__(self, learning_rate=0.01, with_direction_hook=True):
        self.stop_training = False
        self.built = True
        self.weights = [np.zeros((2, 1)), np.zeros(1)]
        self.optimizer = FakeOptimizer(learning_rate)
        self.saved = []  # (method, path) of every save
        self.loaded = []
        if with_direction_hook:
            self._metric_direction = lambda name: self.DIRECTIONS.get(name)

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w, copy=True) for w in weights]

    def _write(self, path, method):
        with open(path, "w") as f:
            json.dump([w.tolist() for w in self.weights], f)
        self.saved.append((method, path))

    def save(self, path, overwrite=True):
        assert overwrite
        self._write(path, "save")

    def save_weights(self, path, overwrite=True):
        assert overwrite
        self._write(path, "save_weights")

    def load_weights(self, path):
        with open(path) as f:
            self.weights = [np.array(w) for w in json.load(f)]
        self.loaded.append(path)


def set_epoch_weights(model, epoch):
    """Makes the model's weights identify the epoch that produced them."""
    model.weights = [np.full((2, 1), float(epoch)), np.full(1, float(epoch))]


def simulate_fit(model, callbacks, epoch_logs, steps=2, initial_epoch=0, val_every=1, verbose=0,
                 on_epoch_trained=None):
    """The fit loop of keras/src/backend/tensorflow/trainer.py (TensorFlowTrainer.fit), with canned logs.

    epoch_logs[e] holds the epoch's training logs and its `val_` entries (split off and reported
    through the test hooks when validation is due).
    """
    epochs = len(epoch_logs)
    cb = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                      verbose=verbose, epochs=epochs, steps=steps)
    model.stop_training = False
    cb.on_train_begin()
    start = getattr(model, "_initial_epoch", None) or initial_epoch
    training_logs = None
    for epoch in range(start, epochs):
        cb.on_epoch_begin(epoch)
        train = {k: v for k, v in epoch_logs[epoch].items() if not k.startswith("val_")}
        for step in range(steps):
            cb.on_train_batch_begin(step)
            cb.on_train_batch_end(step, train)
            if model.stop_training:
                break
        if on_epoch_trained:
            on_epoch_trained(model, epoch)
        logs = dict(train)
        val = {k[4:]: v for k, v in epoch_logs[epoch].items() if k.startswith("val_")}
        if val and (epoch + 1) % val_every == 0:
            cb.on_test_begin()
            cb.on_test_batch_begin(0)
            cb.on_test_batch_end(0, val)
            cb.on_test_end(val)
            logs.update({"val_" + k: v for k, v in val.items()})
        cb.on_epoch_end(epoch, logs)
        training_logs = logs
        if model.stop_training:
            break
    cb.on_train_end(training_logs)
    return model.history


def losses_logs(values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]


class Recorder(Callback):
    """Records every hook call (name, index or None, a copy of the logs)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name.startswith("on_") and callable(attr):
            def record(*args, **kwargs):
                logs = kwargs.get("logs", args[-1] if args and isinstance(args[-1], (dict, type(None))) else None)
                index = args[0] if args and isinstance(args[0], int) else None
                self.calls.append((name, index, dict(logs) if logs is not None else None))
                return attr(*args, **kwargs)
            return record
        return attr


# -- hook order, CallbackList ------------------------------------------------------------------


def test_hook_order_of_a_full_fit():
    recorder = Recorder()
    model = FakeModel()
    logs = [{"loss": 0.5, "mae": 0.4, "val_loss": 0.6, "val_mae": 0.5},
            {"loss": 0.3, "mae": 0.2, "val_loss": 0.4, "val_mae": 0.3}]
    simulate_fit(model, [recorder], logs, steps=2)
    epoch = lambda e, i: [
        ("on_epoch_begin", e, {}),
        ("on_train_batch_begin", 0, {}), ("on_batch_begin", 0, {}),
        ("on_train_batch_end", 0, {"loss": i["loss"], "mae": i["mae"]}),
        ("on_batch_end", 0, {"loss": i["loss"], "mae": i["mae"]}),
        ("on_train_batch_begin", 1, {}), ("on_batch_begin", 1, {}),
        ("on_train_batch_end", 1, {"loss": i["loss"], "mae": i["mae"]}),
        ("on_batch_end", 1, {"loss": i["loss"], "mae": i["mae"]}),
        ("on_test_begin", None, {}),
        ("on_test_batch_begin", 0, {}),
        ("on_test_batch_end", 0, {"loss": i["val_loss"], "mae": i["val_mae"]}),
        ("on_test_end", None, {"loss": i["val_loss"], "mae": i["val_mae"]}),
        ("on_epoch_end", e, i),
    ]
    expected = [("on_train_begin", None, {})] + epoch(0, logs[0]) + epoch(1, logs[1])
    expected.append(("on_train_end", None, logs[1]))
    assert recorder.calls == expected


def test_logs_are_sorted_floats_and_one_dict_is_shared():
    seen = []

    class Spy(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs)
            logs["added_by_spy"] = 1.0

    class Second(Spy):
        pass

    cb = CallbackList([Spy(), Second()], add_history=True, model=FakeModel())
    cb.on_epoch_end(0, {"val_loss": np.float32(0.25), "loss": np.float64(0.5), "nested": {"b": 2}})
    first, second = seen
    assert first is second
    assert list(first) == ["loss", "b", "val_loss", "added_by_spy"]
    assert all(type(v) is float for v in first.values())
    assert cb._history.history["added_by_spy"] == [1.0]


def test_predict_outputs_are_passed_through_unchanged():
    got = []
    cb = CallbackList([LambdaCallback(on_predict_batch_end=lambda b, logs: got.append(logs))])
    outputs = np.ones((1, 1))
    cb.on_predict_batch_end(0, {"outputs": outputs})
    assert got[0]["outputs"] is outputs


def test_history_and_progbar_are_appended_after_user_callbacks():
    user = Recorder()
    model = FakeModel()
    cb = CallbackList([[user]], add_history=True, add_progbar=True, model=model,
                      verbose=1, epochs=3, steps=5)
    assert [type(c) for c in cb.callbacks] == [Recorder, History, ProgbarLogger]
    assert model.history is cb.callbacks[1]
    assert all(c.model is model for c in cb.callbacks)
    assert all(c.params == {"verbose": 1, "epochs": 3, "steps": 5} for c in cb.callbacks)
    # Given ones are reused, not duplicated.
    history, progbar = History(), ProgbarLogger()
    cb = CallbackList([progbar, history], add_history=True, add_progbar=True)
    assert cb.callbacks == [progbar, history]


def test_history_records_epochs_params_and_model_attribute():
    model = FakeModel()
    logs = [{"loss": 0.5, "val_loss": 0.7}, {"loss": 0.4}, {"loss": 0.3, "val_loss": 0.5}]
    history = simulate_fit(model, [], logs, steps=3, initial_epoch=1)
    assert history.epoch == [1, 2]
    assert history.history == {"loss": [0.4, 0.3], "val_loss": [0.5]}
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 3}
    assert model.history is history


def test_default_train_batch_hooks_delegate_to_on_batch():
    calls = []

    class Old(Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch, logs["loss"]))

    cb = CallbackList([Old()])
    cb.on_train_batch_begin(3)
    cb.on_train_batch_end(3, {"loss": 1.5})
    cb.on_test_batch_end(3, {"loss": 9.0})  # not a training batch
    assert calls == [("begin", 3), ("end", 3, 1.5)]


def test_batch_hooks_needed():
    class Epochs(Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    class OldStyle(Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    class Tests(Callback):
        def on_test_batch_begin(self, batch, logs=None):
            pass

    def needed(*callbacks):
        cb = CallbackList(list(callbacks), add_history=True, add_progbar=True,
                          verbose=1, epochs=1, steps=1)
        return tuple(cb.batch_hooks_needed(mode) for mode in ("train", "test", "predict"))

    assert needed() == (False, False, False)  # History and ProgbarLogger alone
    assert needed(Epochs(), EarlyStopping(), ReduceLROnPlateau(), CSVLogger("x.csv")) == (False, False, False)
    assert needed(ModelCheckpoint("m.keras"), BackupAndRestore("d")) == (False, False, False)
    assert needed(ModelCheckpoint("m.keras", save_freq=3)) == (True, False, False)
    assert needed(BackupAndRestore("d", save_freq=3)) == (True, False, False)
    assert needed(OldStyle()) == (True, False, False)
    assert needed(TerminateOnNaN()) == (True, False, False)
    assert needed(Tests()) == (False, True, False)
    assert needed(LambdaCallback(on_epoch_end=print)) == (False, False, False)
    assert needed(LambdaCallback(on_train_batch_begin=print)) == (True, False, False)
    assert needed(LambdaCallback(on_predict_batch_end=print)) == (False, False, True)

    class BatchHistory(History):
        def on_batch_end(self, batch, logs=None):
            pass

    class Foreign:  # duck-typed, not a fastdense Callback: assumed to need every batch
        def set_model(self, model):
            pass

        def set_params(self, params):
            pass

    assert needed(BatchHistory()) == (True, False, False)
    assert needed(Foreign()) == (True, True, True)
    with pytest.raises(ValueError, match="mode"):
        CallbackList().batch_hooks_needed("validate")


# -- EarlyStopping -----------------------------------------------------------------------------


def stopped_after(callback, values, key="val_loss", model=None):
    model = model or FakeModel()
    history = simulate_fit(model, [callback], losses_logs(values, key))
    return len(history.epoch)


def test_early_stopping_patience():
    values = [1.0, 0.9, 0.95, 0.92, 0.91, 0.8, 0.7]
    # Best at epoch 1; epochs 2, 3, 4 do not improve.
    assert stopped_after(EarlyStopping(patience=0), values) == 3
    assert stopped_after(EarlyStopping(patience=2), values) == 4
    assert stopped_after(EarlyStopping(patience=3), values) == 5
    assert stopped_after(EarlyStopping(patience=4), values) == 7


def test_early_stopping_first_epoch_not_beating_baseline_stops_at_the_second():
    es = EarlyStopping(patience=0, baseline=0.5)
    assert stopped_after(es, [1.0, 1.0, 1.0]) == 2
    assert es.stopped_epoch == 1


def test_early_stopping_min_delta():
    values = [1.0, 0.95, 0.91, 0.89, 0.85]
    assert stopped_after(EarlyStopping(patience=1, min_delta=0.1), values) == 2
    assert stopped_after(EarlyStopping(patience=1, min_delta=0.03), values) == 4
    assert stopped_after(EarlyStopping(patience=1, min_delta=0.01), values) == 5
    # The sign of min_delta does not matter.
    assert stopped_after(EarlyStopping(patience=1, min_delta=-0.1), values) == 2


def test_early_stopping_baseline():
    # Improvements that do not beat the baseline do not reset the patience counter (but a
    # stop is only decided in an epoch without improvement).
    values = [1.0, 0.9, 0.95, 0.8, 0.7]
    assert stopped_after(EarlyStopping(patience=2), values) == 5
    assert stopped_after(EarlyStopping(patience=2, baseline=0.95), values) == 5
    assert stopped_after(EarlyStopping(patience=2, baseline=0.5), values) == 3


def test_early_stopping_start_from_epoch():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert stopped_after(EarlyStopping(patience=0), values) == 2
    assert stopped_after(EarlyStopping(patience=0, start_from_epoch=3), values) == 5


def test_early_stopping_mode_and_auto_direction():
    rising = [0.5, 0.6, 0.7, 0.65, 0.8]
    assert stopped_after(EarlyStopping("val_accuracy", patience=0), rising, "val_accuracy") == 4
    assert stopped_after(EarlyStopping("val_accuracy", patience=0, mode="min"), rising, "val_accuracy") == 2
    assert stopped_after(EarlyStopping("val_mae", patience=0), rising, "val_mae") == 2
    assert stopped_after(EarlyStopping("val_auc", patience=0, mode="max"), rising, "val_auc") == 4
    with pytest.warns(UserWarning, match="unknown"):
        es = EarlyStopping("val_accuracy", mode="upward")
    assert es.mode == "auto"


def test_auto_direction_unknown_to_the_model_is_an_error():
    with pytest.raises(ValueError, match="mode='max'"):
        stopped_after(EarlyStopping("val_custom"), [1.0, 2.0], "val_custom")


def test_auto_direction_without_the_model_hook_uses_the_keras2_name_rule():
    model = FakeModel(with_direction_hook=False)
    rising = [0.5, 0.6, 0.7, 0.65]
    assert stopped_after(EarlyStopping("val_my_acc", patience=0), rising, "val_my_acc", model) == 4
    model = FakeModel(with_direction_hook=False)
    assert stopped_after(EarlyStopping("val_custom", patience=0), rising, "val_custom", model) == 2


def test_early_stopping_missing_monitor_warns_and_continues():
    with pytest.warns(UserWarning, match="val_loss` which is not available"):
        assert stopped_after(EarlyStopping(patience=0), [1.0, 2.0, 3.0], key="loss_other") == 3


def record_weights_each_epoch(model, epoch):
    set_epoch_weights(model, epoch)


def test_restore_best_weights_when_stopping(capsys):
    model = FakeModel()
    es = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    simulate_fit(model, [es], losses_logs([1.0, 0.5, 0.7, 0.8, 0.4]),
                 on_epoch_trained=record_weights_each_epoch)
    assert model.stop_training and es.stopped_epoch == 3 and es.best_epoch == 1
    assert model.weights[0][0, 0] == 1.0
    assert capsys.readouterr().out == (
        "Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 2.\n"
    )


def test_restore_best_weights_at_train_end_even_without_stopping():
    model = FakeModel()
    es = EarlyStopping(patience=5, restore_best_weights=True)
    simulate_fit(model, [es], losses_logs([1.0, 0.3, 0.7, 0.8]),
                 on_epoch_trained=record_weights_each_epoch)
    assert not model.stop_training
    assert model.weights[0][0, 0] == 1.0


def test_restore_best_weights_with_baseline_never_beaten_restores_best_seen():
    model = FakeModel()
    es = EarlyStopping(patience=3, baseline=0.1, restore_best_weights=True)
    simulate_fit(model, [es], losses_logs([1.0, 0.6, 0.8, 0.9, 0.2]),
                 on_epoch_trained=record_weights_each_epoch)
    assert es.stopped_epoch == 2
    assert model.weights[0][0, 0] == 1.0


def test_early_stopping_instance_is_reusable():
    es = EarlyStopping(patience=0)
    assert stopped_after(es, [1.0, 2.0, 3.0]) == 2
    assert stopped_after(es, [5.0, 4.0, 3.0]) == 3


# -- ReduceLROnPlateau and LearningRateScheduler -----------------------------------------------


def test_reduce_lr_on_plateau_patience_cooldown_and_min_lr(capsys):
    model = FakeModel(learning_rate=1.0)
    reduce = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.2, verbose=1)
    history = simulate_fit(model, [reduce], losses_logs([1.0] * 8))
    # The rate is logged before that epoch's decision. Epoch 1 reduces 1 -> 0.5; epoch 2 is
    # cooldown; the cooldown counter reaches 0 in epoch 3, which counts again and reduces to
    # 0.25; epoch 5 clamps to min_lr; epoch 7 finds the rate at min_lr and leaves it.
    min_lr = float(np.float32(0.2))
    assert history.history["learning_rate"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, min_lr, min_lr]
    assert model.optimizer.learning_rate == pytest.approx(0.2)
    out = capsys.readouterr().out
    assert out.count("ReduceLROnPlateau reducing learning rate") == 3
    assert "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.5.\n" in out


def test_reduce_lr_on_plateau_min_delta_and_improvement_resets_wait():
    model = FakeModel(learning_rate=0.1)
    reduce = ReduceLROnPlateau(patience=2, min_delta=0.01)
    simulate_fit(model, [reduce], losses_logs([1.0, 0.995, 0.992, 0.95, 0.949, 0.948]))
    # 0.995, 0.992 (not < 1.0 - 0.01): reduction at epoch 2; 0.95 improves; 0.949, 0.948 don't.
    assert model.optimizer.learning_rate == pytest.approx(0.1 * 0.1 * 0.1, rel=1e-6)


def test_reduce_lr_on_plateau_rejects_factor_at_least_one():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)


def test_reduce_lr_on_plateau_max_mode():
    model = FakeModel(learning_rate=0.1)
    simulate_fit(model, [ReduceLROnPlateau("val_accuracy", patience=1)],
                 losses_logs([0.5, 0.6, 0.7], "val_accuracy"))
    assert model.optimizer.learning_rate == pytest.approx(0.1)


def test_learning_rate_scheduler_two_argument_schedule():
    model = FakeModel(learning_rate=0.1)
    seen = []

    def halve_after_first(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch == 0 else lr * 0.5

    history = simulate_fit(model, [LearningRateScheduler(halve_after_first)], losses_logs([1, 1, 1]))
    lr0 = float(np.float32(0.1))
    assert seen == [(0, lr0), (1, lr0), (2, float(np.float32(lr0 * 0.5)))]
    assert history.history["learning_rate"] == [lr0, float(np.float32(0.05)), float(np.float32(0.025))]


def test_learning_rate_scheduler_one_argument_schedule_and_verbose(capsys):
    model = FakeModel()
    scheduler = LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1), verbose=1)
    simulate_fit(model, [scheduler], losses_logs([1, 1]))
    assert model.optimizer.learning_rate == pytest.approx(0.05)
    out = capsys.readouterr().out
    assert out == (
        "\nEpoch 1: LearningRateScheduler setting learning rate to 0.1.\n"
        "\nEpoch 2: LearningRateScheduler setting learning rate to 0.05.\n"
    )


def test_learning_rate_scheduler_rejects_non_float():
    with pytest.raises(ValueError, match="should be a float"):
        simulate_fit(FakeModel(), [LearningRateScheduler(lambda epoch, lr: 1)], losses_logs([1]))


# -- CSVLogger ---------------------------------------------------------------------------------


def read_lines(path):
    with open(path, newline="") as f:
        return f.read().split("\r\n")


def test_csv_logger_contents_with_pre_added_val_columns(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5, "accuracy": 0.25}, {"loss": 0.25, "accuracy": 0.5, "val_loss": 0.75}]
    simulate_fit(FakeModel(), [CSVLogger(path)], logs)
    assert read_lines(path) == [
        "epoch,accuracy,loss,val_accuracy,val_loss",
        "0,0.25,0.5,NA,NA",
        "1,0.5,0.25,NA,0.75",
        "",
    ]


def test_csv_logger_append_and_separator(tmp_path):
    path = tmp_path / "log.csv"
    logs = [{"loss": 0.5, "val_loss": 0.625}]
    simulate_fit(FakeModel(), [CSVLogger(path, separator=";", append=True)], logs)
    simulate_fit(FakeModel(), [CSVLogger(path, separator=";", append=True)], logs)
    assert read_lines(path) == ["epoch;loss;val_loss", "0;0.5;0.625", "0;0.5;0.625", ""]
    simulate_fit(FakeModel(), [CSVLogger(path, separator=";")], logs)  # overwrite
    assert read_lines(path) == ["epoch;loss;val_loss", "0;0.5;0.625", ""]


def test_csv_logger_flushes_every_epoch_and_quotes_lists(tmp_path):
    path = tmp_path / "log.csv"
    rows_seen = []

    def peek(epoch, logs):
        rows_seen.append(len(read_lines(path)))

    logs = [{"loss": 0.5, "val_loss": 1.0, "sizes": [1, 2]}, {"loss": 0.25, "val_loss": 1.0, "sizes": [3]}]
    simulate_fit(FakeModel(), [CSVLogger(path), LambdaCallback(on_epoch_end=peek)], logs)
    assert rows_seen == [3, 4]
    assert read_lines(path)[1:3] == ['0,0.5,"""[1, 2]""",1.0', '1,0.25,"""[3]""",1.0']


# -- ModelCheckpoint ---------------------------------------------------------------------------


def test_model_checkpoint_templates_every_epoch(tmp_path):
    model = FakeModel()
    template = str(tmp_path / "ckpt" / "m.{epoch:02d}-{val_loss:.2f}.keras")
    simulate_fit(model, [ModelCheckpoint(template)], losses_logs([0.5, 0.25]))
    assert model.saved == [
        ("save", str(tmp_path / "ckpt" / "m.01-0.50.keras")),
        ("save", str(tmp_path / "ckpt" / "m.02-0.25.keras")),
    ]
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["m.01-0.50.keras", "m.02-0.25.keras"]


def test_model_checkpoint_best_only_and_messages(tmp_path, capsys):
    model = FakeModel()
    path = str(tmp_path / "best.weights.h5")
    cp = ModelCheckpoint(path, save_best_only=True, save_weights_only=True, verbose=1)
    simulate_fit(model, [cp], losses_logs([0.5, 0.6, 0.4, 0.4]))
    assert model.saved == [("save_weights", path)] * 2
    assert cp.best == 0.4
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from None to 0.50000, saving model to {path}\n"
        f"\nEpoch 1: finished saving model to {path}\n"
        "\nEpoch 2: val_loss did not improve from 0.50000\n"
        f"\nEpoch 3: val_loss improved from 0.50000 to 0.40000, saving model to {path}\n"
        f"\nEpoch 3: finished saving model to {path}\n"
        "\nEpoch 4: val_loss did not improve from 0.40000\n"
    )


def test_model_checkpoint_max_mode_and_initial_threshold(tmp_path):
    model = FakeModel()
    cp = ModelCheckpoint(str(tmp_path / "m{epoch}.h5"), monitor="val_accuracy", save_best_only=True,
                         initial_value_threshold=0.55)
    simulate_fit(model, [cp], losses_logs([0.5, 0.6, 0.58, 0.7], "val_accuracy"))
    assert [os.path.basename(p) for _, p in model.saved] == ["m2.h5", "m4.h5"]


def test_model_checkpoint_missing_monitor_saves_with_a_warning(tmp_path):
    model = FakeModel()
    cp = ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True)
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        simulate_fit(model, [cp], [{"loss": 1.0}])
    assert len(model.saved) == 1


def test_model_checkpoint_integer_save_freq_counts_batches(tmp_path):
    model = FakeModel()
    cp = ModelCheckpoint(str(tmp_path / "m-{epoch}-{batch}.keras"), save_freq=3)
    simulate_fit(model, [cp], losses_logs([1.0, 1.0]), steps=4)
    # Batches 3 (epoch 1), 6 (epoch 2, batch 2) - epoch and batch are 1-based in the name.
    assert [os.path.basename(p) for _, p in model.saved] == ["m-1-3.keras", "m-2-2.keras"]


def test_model_checkpoint_counts_skipped_batch_indices(tmp_path):
    model = FakeModel()
    cp = ModelCheckpoint(str(tmp_path / "m-{batch}.keras"), save_freq=4)
    cp.set_model(model)
    cp.on_epoch_begin(0)
    for step in (2, 5, 9):  # chunks of 3, 3, 4 batches: 6 >= 4 at index 5, then 4 at index 9
        cp.on_train_batch_end(step, {"loss": 1.0})
    assert [os.path.basename(p) for _, p in model.saved] == ["m-6.keras", "m-10.keras"]


def test_model_checkpoint_path_validation(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        ModelCheckpoint("model.ckpt")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.keras", save_freq="batch")
    ModelCheckpoint("m.h5")
    ModelCheckpoint(tmp_path / "m.keras")


def test_model_checkpoint_unknown_template_key():
    cp = ModelCheckpoint("m-{val_acc}.keras")
    cp.set_model(FakeModel())
    with pytest.raises(KeyError, match="Failed to format"):
        cp.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})


# -- TerminateOnNaN, LambdaCallback ------------------------------------------------------------


def test_terminate_on_nan_stops_after_the_batch(capsys):
    model = FakeModel()
    logs = [{"loss": 1.0, "val_loss": 1.0}, {"loss": math.nan, "val_loss": 1.0}, {"loss": 1.0}]
    history = simulate_fit(model, [TerminateOnNaN()], logs, steps=3)
    assert history.epoch == [0, 1]  # the epoch in progress still ends normally
    assert "val_loss" in history.history and len(history.history["val_loss"]) == 2
    assert capsys.readouterr().out == "Batch 0: Invalid loss, terminating training\n"


def test_terminate_on_nan_inf_and_raise_error():
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 0"):
        simulate_fit(FakeModel(), [TerminateOnNaN(raise_error=True)], [{"loss": math.inf}])


def test_lambda_callback_keras3_and_keras2_arguments():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {logs['loss']}"),
        on_batch_begin=lambda batch, logs: calls.append(f"batch_begin {batch}"),
        on_batch_end=lambda batch, logs: calls.append(f"batch_end {batch}"),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_end=lambda logs: calls.append(f"test_end {logs['loss']}"),
    )
    simulate_fit(FakeModel(), [cb], [{"loss": 0.5, "val_loss": 0.75}], steps=1)
    assert calls == ["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0",
                     "test_end 0.75", "epoch_end 0 0.5", "train_end"]

    calls.clear()
    cb = LambdaCallback(on_train_batch_end=lambda batch, logs: calls.append(batch), on_epoch_end=None)
    simulate_fit(FakeModel(), [cb], [{"loss": 0.5}], steps=2)
    assert calls == [0, 1]


# -- BackupAndRestore --------------------------------------------------------------------------


class Interrupted(Exception):
    pass


class Interrupt(Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise Interrupted


def test_backup_and_restore_resumes_at_the_interrupted_epoch(tmp_path):
    backup_dir = tmp_path / "backup"
    logs = losses_logs([1.0, 0.9, 0.8, 0.7, 0.6])
    model = FakeModel()
    with pytest.raises(Interrupted):
        simulate_fit(model, [BackupAndRestore(backup_dir), Interrupt(3)], logs,
                     on_epoch_trained=record_weights_each_epoch)
    assert json.loads((backup_dir / "training_metadata.json").read_text()) == {"epoch": 3, "batch": 0}

    fresh = FakeModel()
    resumed = BackupAndRestore(backup_dir)
    history = simulate_fit(fresh, [resumed], logs, on_epoch_trained=record_weights_each_epoch)
    assert fresh.loaded == [str(backup_dir / "latest.weights.h5")]
    assert history.epoch == [3, 4]
    assert fresh._initial_epoch is None
    assert not backup_dir.exists()  # delete_checkpoint


def test_backup_and_restore_restores_the_saved_weights(tmp_path):
    backup_dir = tmp_path / "backup"
    model = FakeModel()
    with pytest.raises(Interrupted):
        simulate_fit(model, [BackupAndRestore(backup_dir), Interrupt(2)], losses_logs([1, 1, 1]),
                     on_epoch_trained=record_weights_each_epoch)
    restored = FakeModel()
    callback = BackupAndRestore(backup_dir, delete_checkpoint=False)
    callback.set_model(restored)
    callback.on_train_begin()
    assert restored.weights[0][0, 0] == 1.0 and restored._initial_epoch == 2
    callback.on_train_end()
    assert backup_dir.exists()


def test_backup_and_restore_without_backup_starts_from_scratch(tmp_path):
    history = simulate_fit(FakeModel(), [BackupAndRestore(tmp_path / "none")], losses_logs([1, 1]),
                           initial_epoch=0)
    assert history.epoch == [0, 1]


def test_backup_and_restore_integer_save_freq(tmp_path):
    backup_dir = tmp_path / "backup"
    model = FakeModel()
    cb = BackupAndRestore(backup_dir, save_freq=3, delete_checkpoint=False)
    simulate_fit(model, [cb], losses_logs([1, 1]), steps=4)
    # The 6th batch overall is epoch 1's batch 1: a mid-epoch backup resumes at epoch 1.
    assert json.loads((backup_dir / "training_metadata.json").read_text()) == {"epoch": 1, "batch": 1}
    assert len(model.saved) == 2


def test_backup_and_restore_double_checkpoint_falls_back(tmp_path):
    backup_dir = tmp_path / "backup"
    model = FakeModel()
    cb = BackupAndRestore(backup_dir, double_checkpoint=True, delete_checkpoint=False)
    simulate_fit(model, [cb], losses_logs([1, 1, 1]), on_epoch_trained=record_weights_each_epoch)
    assert json.loads((backup_dir / "training_metadata.json.bkp").read_text())["epoch"] == 2

    class CorruptLatest(FakeModel):
        def load_weights(self, path):
            if path.endswith("latest.weights.h5") and not getattr(self, "_failed", False):
                self._failed = True
                raise OSError("unable to read")
            super().load_weights(path)

    restored = CorruptLatest()
    cb = BackupAndRestore(backup_dir, double_checkpoint=True, delete_checkpoint=False)
    cb.set_model(restored)
    cb.on_train_begin()
    assert restored._initial_epoch == 2 and restored.weights[0][0, 0] == 1.0


def test_backup_and_restore_argument_checks():
    with pytest.raises(ValueError, match="Empty"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore("dir", save_freq="batch")
    unbuilt = FakeModel()
    unbuilt.built = False
    cb = BackupAndRestore("dir")
    cb.set_model(unbuilt)
    with pytest.raises(ValueError, match="must be built"):
        cb.on_train_begin()


# -- parity with keras.callbacks ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_keras_model(keras):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["accuracy", "mae"])
    # One step builds the compiled metrics, which the monitor direction lookup needs.
    model.train_on_batch(np.zeros((2, 2)), np.zeros((2, 1)))
    return model


@pytest.fixture
def keras_model(shared_keras_model):
    """The shared model, reset: learning rate 0.1, not stopped."""
    shared_keras_model.optimizer.learning_rate = 0.1
    shared_keras_model.stop_training = False
    return shared_keras_model


def drive_epochs(callback, model, values, key, keys_to_compare, set_weights=None):
    """Calls the epoch hooks directly and records the callback state after each epoch."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin({})
    states = []
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch, {})
        if set_weights:
            set_weights(model, epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0, key: value})
        states.append(tuple(getattr(callback, k) for k in keys_to_compare) + (model.stop_training,))
        if model.stop_training:
            break
    callback.on_train_end({})
    return states


EARLY_STOPPING_CASES = [
    (dict(patience=2), "val_loss", [1.0, 0.9, 0.95, 0.92, 0.91, 0.8]),
    (dict(patience=1, min_delta=0.05), "val_loss", [1.0, 0.97, 0.9, 0.88, 0.86]),
    (dict(patience=2, baseline=0.85), "val_loss", [1.0, 0.9, 0.8, 0.82, 0.83, 0.84]),
    (dict(patience=0, start_from_epoch=2), "val_loss", [1.0, 2.0, 3.0, 4.0]),
    (dict(monitor="val_accuracy", patience=1), "val_accuracy", [0.5, 0.6, 0.55, 0.58, 0.7]),
    (dict(monitor="val_mae", patience=1, min_delta=-0.01), "val_mae", [0.5, 0.6, 0.45, 0.448, 0.2]),
    (dict(monitor="val_accuracy", mode="min", patience=1), "val_accuracy", [0.5, 0.6, 0.7]),
]


@pytest.mark.parametrize("kwargs, key, values", EARLY_STOPPING_CASES)
def test_early_stopping_matches_keras(keras, keras_model, kwargs, key, values):
    fields = ("wait", "best", "stopped_epoch")

    def weights_of_epoch(model, epoch):
        model.set_weights([np.full(w.shape, float(epoch), dtype="float32") for w in model.get_weights()])

    theirs_model = keras_model
    theirs = drive_epochs(keras.callbacks.EarlyStopping(restore_best_weights=True, **kwargs),
                          theirs_model, values, key, fields, weights_of_epoch)
    ours_model = FakeModel()
    ours = drive_epochs(EarlyStopping(restore_best_weights=True, **kwargs),
                        ours_model, values, key, fields, set_epoch_weights)
    assert ours == theirs
    assert ours_model.weights[0][0, 0] == theirs_model.get_weights()[0][0, 0]


REDUCE_LR_CASES = [
    (dict(factor=0.5, patience=1, cooldown=1, min_lr=0.01), "val_loss", [1.0] * 9),
    (dict(factor=0.2, patience=2, min_delta=0.05), "val_loss", [1.0, 0.97, 0.9, 0.88, 0.86, 0.8, 0.79, 0.785]),
    (dict(monitor="val_accuracy", factor=0.1, patience=0), "val_accuracy", [0.5, 0.6, 0.55, 0.58, 0.7]),
    (dict(factor=0.5, patience=0, min_lr=0.025), "val_loss", [1.0, 1.0, 1.0, 1.0, 1.0]),
]


@pytest.mark.parametrize("kwargs, key, values", REDUCE_LR_CASES)
def test_reduce_lr_on_plateau_matches_keras(keras, keras_model, kwargs, key, values):
    fields = ("wait", "best", "cooldown_counter")
    theirs_model = keras_model
    theirs_cb = keras.callbacks.ReduceLROnPlateau(**kwargs)
    theirs_lrs = []
    theirs = drive_epochs(theirs_cb, theirs_model, values, key, fields,
                          lambda m, e: theirs_lrs.append(float(m.optimizer.learning_rate)))
    ours_model = FakeModel(learning_rate=0.1)
    ours_lrs = []
    ours = drive_epochs(ReduceLROnPlateau(**kwargs), ours_model, values, key, fields,
                        lambda m, e: ours_lrs.append(m.optimizer.learning_rate))
    assert ours == theirs
    assert ours_lrs == theirs_lrs
    assert ours_model.optimizer.learning_rate == float(theirs_model.optimizer.learning_rate)


def test_csv_logger_matches_keras_byte_for_byte(keras, tmp_path):
    epochs = [{"loss": 0.5, "accuracy": np.float32(0.25)},
              {"loss": 0.125, "accuracy": 0.75, "val_loss": 0.3},
              {"loss": 1e-9, "accuracy": 1.0, "val_loss": 2.5, "val_accuracy": 0.5}]

    def write(csv_logger_class, path, callback_list_class):
        for _ in range(2):  # the second run appends
            cb = callback_list_class([csv_logger_class(str(path), append=True)], model=FakeModel())
            cb.on_train_begin()
            for epoch, logs in enumerate(epochs):
                cb.on_epoch_end(epoch, dict(logs))
            cb.on_train_end()
        return path.read_bytes()

    ours = write(CSVLogger, tmp_path / "ours.csv", CallbackList)
    theirs = write(keras.callbacks.CSVLogger, tmp_path / "theirs.csv", keras.callbacks.CallbackList)
    assert ours == theirs
    with open(tmp_path / "ours.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(rows) == 7


def test_history_matches_keras_callback_list(keras, keras_model):
    logs = [{"loss": np.float32(0.5), "val_loss": 0.25}, {"loss": 0.125, "val_loss": 0.5}]

    def run(callback_list_class, model):
        cb = callback_list_class(None, add_history=True, model=model, verbose=0, epochs=2, steps=4)
        cb.on_train_begin()
        for epoch, epoch_logs in enumerate(logs):
            cb.on_epoch_end(epoch, epoch_logs)
        cb.on_train_end()
        return model.history

    ours = run(CallbackList, FakeModel())
    theirs = run(keras.callbacks.CallbackList, keras_model)
    assert (ours.history, ours.epoch, ours.params) == (theirs.history, theirs.epoch, theirs.params)
