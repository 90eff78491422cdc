"""Horovod's Keras callbacks (`horovod.tensorflow.keras.callbacks`)."""


import numpy as np

from fastdense.callbacks import Callback
from fastdense.horovod import collectives, runtime


class BroadcastGlobalVariablesCallback(Callback):
    """Copies root_rank's model weights and optimizer state to every rank at the start of
    training, before the first update: every rank starts from the same point, and the first
    step's gradients are all taken at those weights. (Horovod's TF2 callback broadcasts after the
    first batch, so its first step mixes gradients taken at different weights.)"""

    def __init__(self, root_rank=0, device=""):
        super().__init__()
        self.root_rank = root_rank
        self.broadcast_done = False

    def on_train_begin(self, logs=None):
        if self.broadcast_done:
            return
        broadcast_model_state(self.model, self.root_rank)
        self.broadcast_done = True


def broadcast_model_state(model, root_rank=0):
    """root_rank's weights (and built optimizer's variables) on every rank."""
    model.set_weights([collectives.broadcast(w, root_rank) for w in model.get_weights()])
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        optimizer.set_weights([collectives.broadcast(w, root_rank) for w in optimizer.get_weights()])


class MetricAverageCallback(Callback):
    """Replaces each epoch's logs by their average over all ranks (put it before callbacks that
    read the logs, such as ModelCheckpoint or ReduceLROnPlateau)."""

    def __init__(self, device=""):
        super().__init__()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or runtime.size() == 1:
            return
        names = sorted(k for k, v in logs.items() if isinstance(v, (int, float, np.floating, np.integer)))
        values = collectives.allreduce(np.array([float(logs[k]) for k in names], dtype=np.float64),
                                       op=collectives.Average)
        for name, value in zip(names, values):
            logs[name] = float(value)


class LearningRateScheduleCallback(Callback):
    """Horovod's schedule callback: learning rate = initial_lr · multiplier(epoch) for epochs in
    [start_epoch, end_epoch); fractional epochs per batch unless staircase. A constant
    multiplier is an exponential decay: initial_lr · multiplier ** (epoch - start_epoch).

    momentum_correction (Goyal et al., as horovod/_keras/callbacks.py does it): when the rate
    changes from old_lr to new_lr, an optimizer with a `momentum` takes momentum · new_lr / old_lr
    for that batch's step and gets its own momentum back at the end of the batch. The corrected
    value may exceed 1: as in Keras, only the constructor limits SGD's momentum to [0, 1]. No
    correction is made from a rate of 0 (the ratio is undefined; Horovod's would be inf) or to a
    rate of 0 (a momentum of 0 would drop the engine's momentum slot)."""

    def __init__(self, initial_lr, multiplier, start_epoch=0, end_epoch=None, staircase=True,
                 momentum_correction=True, steps_per_epoch=None, verbose=0):
        super().__init__()
        self.initial_lr = initial_lr
        self.start_epoch, self.end_epoch = start_epoch, end_epoch
        self.staircase = staircase
        self.momentum_correction = momentum_correction
        self.steps_per_epoch = steps_per_epoch
        self.verbose = verbose
        self.current_epoch = None
        self.restore_momentum = None
        if callable(multiplier):
            self.multiplier = multiplier
        else:
            self.multiplier = lambda epoch: multiplier ** (epoch - start_epoch)

    def _adjust_learning_rate(self, epoch):
        optimizer = self.model.optimizer
        old_lr = float(optimizer.learning_rate)
        new_lr = self.initial_lr * self.multiplier(epoch)
        optimizer.learning_rate = new_lr
        if self.momentum_correction and hasattr(optimizer, "momentum"):
            self.restore_momentum = optimizer.momentum
            if old_lr != 0 and new_lr != 0:
                # Applied to the native optimizer in place (Optimizer.__setattr__): the next step uses it.
                optimizer.momentum = self.restore_momentum * new_lr / old_lr

    def _restore_momentum_if_needed(self):
        if self.restore_momentum:
            self.model.optimizer.momentum = self.restore_momentum
            self.restore_momentum = None

    def on_train_begin(self, logs=None):
        if self.initial_lr is None:
            self.initial_lr = self.model.optimizer.learning_rate
        if not self.staircase and not self.steps_per_epoch:
            steps = (self.params or {}).get("steps")
            if not steps:
                raise ValueError("Could not autodetect the number of steps per epoch: pass steps_per_epoch")
            self.steps_per_epoch = steps

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def _active(self):
        return self.current_epoch >= self.start_epoch and (self.end_epoch is None or self.current_epoch < self.end_epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if not self._active():
            return
        if self.staircase:
            if batch == 0:
                self._adjust_learning_rate(self.current_epoch)
        else:
            self._adjust_learning_rate(self.current_epoch + float(batch) / self.steps_per_epoch)

    def on_train_batch_end(self, batch, logs=None):
        self._restore_momentum_if_needed()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class LearningRateWarmupCallback(LearningRateScheduleCallback):
    """Horovod's warmup: over the first warmup_epochs epochs the learning rate grows from
    initial_lr / size to initial_lr (Goyal et al.), per batch."""

    def __init__(self, initial_lr, warmup_epochs=5, momentum_correction=True, steps_per_epoch=None, verbose=0):
        def multiplier(epoch):
            # Horovod shifts by one batch so that the last batch of the warmup reaches initial_lr.
            epoch += 1.0 / self.steps_per_epoch
            size = runtime.size()
            return 1.0 / size * (epoch * (size - 1) / warmup_epochs + 1)

        super().__init__(initial_lr, multiplier, start_epoch=0, end_epoch=warmup_epochs, staircase=False,
                         momentum_correction=momentum_correction, steps_per_epoch=steps_per_epoch, verbose=verbose)
        self.warmup_epochs = warmup_epochs

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if epoch == self.end_epoch - 1 and self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished gradual learning rate warmup to {self.model.optimizer.learning_rate:g}.")
