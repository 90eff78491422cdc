"""The Optimizer base class: Keras 3 hyper-parameters and state on top of the native engine.

An optimizer holds its hyper-parameters and learning rate (a float, a schedule or a callable)
and, once built for a list of variables, a `fastdense._core.Optimizer` that keeps the slots
(moments, accumulators) and the iteration count and applies the update rule in place.

Variables are numpy arrays, or objects whose `.value` is a numpy array; they are updated in
place, never rebound.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable

import numpy as np

from fastdense import _core
from fastdense.optimizers.schedules import LearningRateSchedule
from fastdense.optimizers.schedules import deserialize as deserialize_schedule
from fastdense.optimizers.schedules import serialize as serialize_schedule
from fastdense.utils.naming import auto_name

_f32 = np.float32

# Keys that Keras 2 optimizers write into their configs and that mean nothing here.
_KERAS2_ONLY_KEYS = ("is_legacy_optimizer", "jit_compile")


class _DefaultRate(float):
    """The default learning rate of a constructor. Its type tells the default apart from an
    explicit `learning_rate=`, so that the Keras 2 spelling `lr=` can be refused when both are given."""

    __slots__ = ()

    def __repr__(self):
        return float.__repr__(self)


def default_rate(value):
    return _DefaultRate(value)


def _real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"Argument `{name}` must be a finite float. Received: {name}={value!r}")
    return float(value)


def _optional_real(name, value):
    return None if value is None else _real(name, value)


def _array_of(variable, what):
    """The numpy array a variable stands for: itself, or its `.value`."""
    array = variable if isinstance(variable, np.ndarray) else getattr(variable, "value", None)
    if not isinstance(array, np.ndarray):
        raise ValueError(
            f"{what}: expected a numpy array or an object with a numpy `.value`, got {type(variable).__name__}"
        )
    return array


def _path_of(variable, index):
    """The name Keras uses in slot paths: variable.path with '/' replaced by '_'."""
    path = getattr(variable, "path", None) or getattr(variable, "name", None) or f"variable_{index}"
    return str(path).replace("/", "_")


class Optimizer:
    """Base class of the optimizers. Subclasses set `_native_name` and `_rule_config()`."""

    _native_name = None
    # Keras paths of the optimizer-level variables that follow the slots (Nadam's u_product).
    _scalar_paths = ()

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule | Callable[[], float],
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        learning_rate = self._resolve_lr_alias(learning_rate, kwargs)
        # Keras 2's inverse-time decay, lr / (1 + decay * iterations) (Keras 3 ignores `decay`).
        self.decay = _optional_real("decay", kwargs.pop("decay", None)) or 0.0
        if self.decay < 0:
            raise ValueError(f"Argument `decay` must be >= 0. Received: decay={self.decay}")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")

        clip_options = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(value is not None for value in clip_options.values()) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        if use_ema:
            raise NotImplementedError("fastdense optimizers do not support use_ema=True")
        if gradient_accumulation_steps is not None:
            raise NotImplementedError("fastdense optimizers do not support gradient_accumulation_steps")
        if loss_scale_factor is not None and _real("loss_scale_factor", loss_scale_factor) == 0:
            raise ValueError("Argument `loss_scale_factor` must not be 0.")

        self.name = auto_name(type(self).__name__) if name is None else name
        self.weight_decay = _optional_real("weight_decay", weight_decay)
        self.clipnorm = _optional_real("clipnorm", clipnorm)
        self.clipvalue = _optional_real("clipvalue", clipvalue)
        self.global_clipnorm = _optional_real("global_clipnorm", global_clipnorm)
        self.use_ema = False
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = None
        self._learning_rate = self._checked_rate(learning_rate)

        self.built = False
        self._native = None
        self._synced_config = None
        self._unbuilt_iterations = 0
        self._trainable_variables = []
        self._index_of = {}
        self._paths = []

    def __setattr__(self, name, value):
        """A hyper-parameter set on a built optimizer (opt.clipvalue = 1e-6) reaches the native one at
        once, so the next step uses it, whether `apply_gradients` or a model's `fit` takes it (the
        native network trains with this very native optimizer, reconfigured in place). A value
        the engine refuses leaves the attribute as it was."""
        missing = object()
        previous = self.__dict__.get(name, missing)
        super().__setattr__(name, value)
        if name.startswith("_") or name == "built" or self.__dict__.get("_native") is None:
            return
        try:
            self._sync_native()
        except Exception:
            if previous is missing:
                self.__dict__.pop(name, None)
            else:
                self.__dict__[name] = previous
            raise

    # ------------------------------------------------------------------ learning rate

    @staticmethod
    def _resolve_lr_alias(learning_rate, kwargs):
        if "lr" not in kwargs:
            return learning_rate
        if not isinstance(learning_rate, _DefaultRate):
            raise ValueError("Pass the learning rate as `learning_rate` or as `lr` (Keras 2), not both.")
        return kwargs.pop("lr")

    @staticmethod
    def _checked_rate(value):
        if isinstance(value, LearningRateSchedule) or callable(value):
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a callable "
                f"(that takes no arguments and returns the learning rate). Received instead: learning_rate={value!r}"
            )
        # Keras keeps the rate in a float32 variable: 0.001 reads back as 0.0010000000474974513.
        return float(_f32(value))

    def _has_rate_variable(self):
        return not callable(self._learning_rate)

    @property
    def learning_rate(self):
        """The rate of the next step: the schedule at `iterations`, or the value (before legacy decay)."""
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            return float(rate._values(np.array([self.iterations]))[0])
        if callable(rate):
            return float(_f32(rate()))
        return rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, LearningRateSchedule) and not callable(value):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                "constructor argument, hence its learning rate is not settable. If you need the learning rate "
                "to be settable, you should instantiate the optimizer with a float `learning_rate` argument."
            )
        self._learning_rate = self._checked_rate(value)

    # Keras 2 spelling.
    lr = learning_rate

    def _learning_rates(self, first_step, n_steps):
        """The learning rate of each of the next n_steps steps (float64 array of float32 values):
        the schedule evaluated at iterations first_step + i (None: from the current iterations),
        then the Keras 2 legacy decay. A constant rate comes back as one float (Network.train
        takes either)."""
        rate = self._learning_rate
        if isinstance(rate, float) and not self.decay:  # a constant, already rounded to float32
            return rate
        if first_step is None:
            first_step = self.iterations
        steps = np.arange(first_step, first_step + n_steps, dtype=np.int64)
        if isinstance(rate, LearningRateSchedule):
            rates = rate._values(steps)
        elif callable(rate):
            rates = np.full(n_steps, _f32(rate()), dtype=_f32)
        else:
            rates = np.full(n_steps, _f32(rate), dtype=_f32)
        if self.decay:
            rates = rates / (_f32(1) + _f32(self.decay) * steps.astype(_f32))
        return rates.astype(np.float64)

    def _current_learning_rate(self):
        """The learning rate of the next step, as a float."""
        rates = self._learning_rates(None, 1)
        return rates if isinstance(rates, float) else float(rates[0])

    # ------------------------------------------------------------------ native engine

    def _rule_config(self):
        """Hyper-parameters of the update rule, by their engine names."""
        return {}

    def _native_config(self):
        """The dict `fastdense._core.Optimizer` (and the native network) is configured with."""
        config = {
            "name": self._native_name,
            "learning_rate": self._current_learning_rate(),
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }
        config.update(self._rule_config())
        return config

    @staticmethod
    def _settings(config):
        """A native config without the (per-step) learning rate."""
        return {k: v for k, v in config.items() if k != "learning_rate"}

    def _sync_native(self):
        """Passes hyper-parameters changed since the last step (e.g. opt.clipnorm = 1.0) to the engine."""
        config = self._native_config()
        if self._settings(config) != self._synced_config:
            self._native.reconfigure(config)
            self._synced_config = self._settings(config)

    @property
    def iterations(self):
        """Number of optimizer steps taken (never reset by fit)."""
        return int(self._native.iterations) if self._native is not None else self._unbuilt_iterations

    @iterations.setter
    def iterations(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"iterations must be an integer >= 0, got {value!r}")
        if self._native is not None:
            self._native.iterations = int(value)
        else:
            self._unbuilt_iterations = int(value)

    def build(self, variables):
        """Creates the slots for these variables (all float32 or all float64). Building twice is a no-op."""
        if self.built:
            return
        variables = list(variables)
        arrays = [_array_of(v, f"variables[{i}]") for i, v in enumerate(variables)]
        dtypes = {a.dtype for a in arrays} or {np.dtype(np.float32)}
        if len(dtypes) > 1 or not dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}:
            raise ValueError(
                f"Optimizer.build: variables must all be float32 or all float64, got {sorted(map(str, dtypes))}"
            )
        config = self._native_config()
        native = _core.Optimizer(config, dtypes.pop().name)
        native.iterations = self.iterations
        native.build([a.shape for a in arrays])
        self._native = native
        self._synced_config = self._settings(config)
        self._trainable_variables = variables
        self._index_of = {id(v): i for i, v in enumerate(variables)}
        self._paths = [_path_of(v, i) for i, v in enumerate(variables)]
        self.built = True

    def _native_for(self, variables):
        """(native optimizer, the index of each of `variables` in it) for a model's trainable weights:
        built for them on first use. Later, the same weights or some of them (part of the model
        frozen since) are trained with the same slots, as Keras's apply does with a subset."""
        variables = list(variables)
        self.build(variables)
        missing = [v for v in variables if id(v) not in self._index_of]
        if missing:
            raise ValueError(
                "This optimizer was already used for other weights; give each model its own optimizer instance"
            )
        return self._native, [self._index_of[id(v)] for v in variables]

    # ------------------------------------------------------------------ applying gradients

    def apply_gradients(self, grads_and_vars):
        """Applies one step to (gradient, variable) pairs; returns the new iteration count."""
        pairs = list(grads_and_vars)
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        self.apply(grads, variables)
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """One optimizer step. Gradients equal to None are skipped (their variables and slots are
        left alone), as in Keras. The caller's gradient arrays are not modified."""
        grads = list(grads)
        if not grads:
            return
        variables = self._variables_for(grads, trainable_variables)
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if len(pairs) < len(grads):
            missing = [self._paths[self._index_of[id(v)]] for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.")

        dtype = np.dtype(self._native.dtype)
        which = [self._index_of[id(v)] for _, v in pairs]
        params = [_array_of(v, f"variable {self._paths[i]}") for (_, v), i in zip(pairs, which)]
        gradients = [self._gradient_array(g, dtype, i) for (g, _), i in zip(pairs, which)]
        if self.loss_scale_factor is not None:
            for g in gradients:
                g /= dtype.type(self.loss_scale_factor)

        self._sync_native()
        rate = self._current_learning_rate()
        everything = which == list(range(len(self._trainable_variables)))
        self._native.apply(params, gradients, rate, None if everything else which)
        self._apply_constraints(v for _, v in pairs)

    def _variables_for(self, grads, trainable_variables):
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built on a list of "
                    "variables. Call `optimizer.build(trainable_variables)` first."
                )
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    f"Received {len(grads)} gradients, but the optimizer is tracking "
                    f"{len(self._trainable_variables)} trainable variables."
                )
            return self._trainable_variables
        variables = list(trainable_variables)
        if len(variables) != len(grads):
            raise ValueError(f"Received {len(grads)} gradients for {len(variables)} variables.")
        self.build(variables)
        for v in variables:
            if id(v) not in self._index_of:
                raise ValueError(
                    f"Unknown variable: {type(v).__name__}. This optimizer can only be called for the variables "
                    "it was originally built with. When working with a new set of variables, you should "
                    "recreate a new optimizer instance."
                )
        return variables

    def _gradient_array(self, grad, dtype, index):
        try:
            # A private C-contiguous copy: the engine clips it in place.
            return np.array(grad, dtype=dtype, order="C", copy=True)
        except (TypeError, ValueError) as error:
            raise ValueError(f"gradient of {self._paths[index]}: cannot convert to {dtype}: {error}") from None

    @staticmethod
    def _apply_constraints(variables):
        for v in variables:
            constraint = getattr(v, "constraint", None)
            if constraint is not None:
                array = _array_of(v, "variable")
                np.copyto(array, np.asarray(constraint(array), dtype=array.dtype))

    # ------------------------------------------------------------------ state

    @property
    def variables(self):
        """The state as Keras lists it in `optimizer.variables` (copies, numpy): iteration (int64),
        learning_rate (float32; absent with a schedule or callable), then the slots (group by
        group, variable by variable, see `_core.Optimizer.slot_groups`), then Nadam's u_product."""
        values = [np.array(self.iterations, dtype=np.int64)]
        if self._has_rate_variable():
            values.append(np.array(self._learning_rate, dtype=_f32))
        if self.built:
            values.extend(self._slots_in_keras_order())
            dtype = np.dtype(self._native.dtype)
            values.extend(np.array(s, dtype=dtype) for s in self._native.get_scalars())
        return values

    def _slot_positions(self):
        """(parameter, slot index) of each slot variable, in Keras order."""
        names = self._native.slot_names()
        return [
            (p, names.index(name))
            for group in self._native.slot_groups()
            for p in range(len(self._trainable_variables))
            for name in group
        ]

    def _slots_in_keras_order(self):
        slots = self._native.get_slots()
        return [slots[p][k] for p, k in self._slot_positions()]

    def _variable_paths(self):
        """Keras's paths of `variables`, e.g. 'adam/iteration', 'adam/dense_kernel_momentum'."""
        paths = [f"{self.name}/iteration"]
        if self._has_rate_variable():
            paths.append(f"{self.name}/learning_rate")
        if self.built:
            names = self._native.slot_names()
            paths.extend(f"{self.name}/{self._paths[p]}_{names[k]}" for p, k in self._slot_positions())
            paths.extend(f"{self.name}/{name}" for name in self._scalar_paths)
        return paths

    def get_weights(self):
        return self.variables

    def set_weights(self, weights):
        """Restores the state from a list shaped like `variables` (count and shapes checked)."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. Please call "
                "`optimizer.build(trainable_variables)` to create the optimizer weights before calling `set_weights()`."
            )
        current = self.variables
        weights = [np.asarray(w) for w in weights]
        if len(weights) != len(current):
            raise ValueError(f"Optimizer.set_weights: expected {len(current)} arrays, got {len(weights)}")
        for i, (old, new) in enumerate(zip(current, weights)):
            if old.shape != new.shape:
                raise ValueError(
                    f"Optimizer variable {i} has shape {old.shape} not compatible with provided weight shape {new.shape}."
                )
        dtype = np.dtype(self._native.dtype)
        weights = iter(weights)
        iterations = int(next(weights))
        rate = float(next(weights)) if self._has_rate_variable() else None
        slots = [[None] * len(self._native.slot_names()) for _ in self._trainable_variables]
        for p, k in self._slot_positions():
            slots[p][k] = np.ascontiguousarray(next(weights), dtype=dtype)
        scalars = [float(s) for s in weights]
        self._native.set_slots(slots)
        self._native.set_scalars(scalars)
        self.iterations = iterations
        if rate is not None:
            self._learning_rate = self._checked_rate(rate)

    def save_own_variables(self, store):
        """Writes `variables` into a dict-like store under keys '0', '1', ... (Keras's layout)."""
        for i, value in enumerate(self.variables):
            store[str(i)] = value

    def load_own_variables(self, store):
        """Reads what save_own_variables wrote; warns and skips on a count mismatch, as Keras does."""
        count = len(self.variables)
        if len(store.keys()) != count:
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has {count} variables whereas "
                f"the saved optimizer has {len(store.keys())} variables.",
                stacklevel=2,
            )
            return
        self.set_weights([np.asarray(store[str(i)]) for i in range(count)])

    # ------------------------------------------------------------------ config

    def get_config(self):
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            rate = serialize_schedule(rate)
        elif callable(rate):
            rate = self.learning_rate  # a plain callable cannot be written; its current value can
        config = {
            "name": self.name,
            "learning_rate": rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in _KERAS2_ONLY_KEYS:
            config.pop(key, None)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize_schedule(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate!r}>"

    # ------------------------------------------------------------------ pickling
    # The native optimizer cannot be pickled: a copy (pickle or copy.deepcopy) carries the state
    # (`variables`) instead, and builds a native optimizer of its own for its copies of the
    # variables. Keras pickles optimizers through the .keras format and a built one comes back
    # without its slots; this one continues exactly where the original stands.
    def __getstate__(self):
        state = dict(self.__dict__)
        if state.get("_native") is not None:
            state.update(_native=None, _synced_config=None, _pickled_variables=self.variables)
        return state

    def __setstate__(self, state):
        values = state.pop("_pickled_variables", None)
        self.__dict__.update(state)
        if values is not None:
            self.__dict__["built"] = False
            self.build(self._trainable_variables)
            self.set_weights(values)
