"""Learning-rate schedules with the formulas of `keras.optimizers.schedules`.

A schedule maps the optimizer step (the number of completed steps, 0 on the first batch) to a
learning rate. Like Keras, which evaluates them with float32 tensors, the built-in schedules
compute in float32; they accept a step or an array of steps (NumPy-vectorized, so a model can
ask for the rates of a whole epoch at once).
"""

import numpy as np

from fastdense.object_registry import serialize_object, split_serialized, unknown_name_error

_f32 = np.float32


def _as_steps(step):
    return np.asarray(step, dtype=_f32)


def _result(values, step):
    """A float32 scalar for a scalar step, a float32 array for an array of steps."""
    values = np.asarray(values, dtype=_f32)
    return values[()] if np.ndim(step) == 0 else values


def _check_positive(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement __call__(step) and get_config()."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()`.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _values(self, steps):
        """Rates at an integer array of steps, as float32. Built-ins vectorize; others loop."""
        if type(self)._is_vectorized:
            return np.asarray(self(steps), dtype=_f32)
        return np.array([float(self(int(s))) for s in steps], dtype=_f32)

    _is_vectorized = False


class _StepRatioDecay(LearningRateSchedule):
    """Base of the schedules driven by step / decay_steps (floored with staircase)."""

    _is_vectorized = True

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _decay_periods(self, step):
        p = _as_steps(step) / _f32(self.decay_steps)
        return np.floor(p) if self.staircase else p

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_StepRatioDecay):
    """lr0 * decay_rate ** (step / decay_steps); the exponent is floored with staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        p = self._decay_periods(step)
        return _result(_f32(self.initial_learning_rate) * np.power(_f32(self.decay_rate), p), step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] for boundaries[i-1] < step <= boundaries[i],
    values[-1] after the last boundary (a boundary belongs to the interval before it)."""

    _is_vectorized = True

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        # Keras sums value * [step in interval]; done the same way it also matches Keras on
        # boundaries that are not increasing.
        steps = np.asarray(step, dtype=np.float64)
        bounds = [float(b) for b in self.boundaries]
        values = [_f32(v) for v in self.values]
        result = np.zeros(steps.shape, dtype=_f32)
        if not bounds:
            return _result(result + values[0], step)
        result += (steps <= bounds[0]) * values[0]
        result += (steps > bounds[-1]) * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            result += ((steps > low) & (steps <= high)) * value
        return _result(result, step)

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """(lr0 - end) * (1 - step/decay_steps) ** power + end, with step capped at decay_steps; with
    cycle, decay_steps is instead stretched to the first multiple of itself >= step."""

    _is_vectorized = True

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        steps = _as_steps(step)
        decay_steps = np.full(steps.shape, _f32(self.decay_steps))
        if self.cycle:
            multiplier = np.where(steps == 0, _f32(1), np.ceil(steps / _f32(self.decay_steps)))
            decay_steps = decay_steps * multiplier
        else:
            steps = np.minimum(steps, decay_steps)
        p = steps / decay_steps
        end = _f32(self.end_learning_rate)
        span = _f32(self.initial_learning_rate) - end
        return _result(span * np.power(_f32(1) - p, _f32(self.power)) + end, step)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_StepRatioDecay):
    """lr0 / (1 + decay_rate * step / decay_steps); the ratio is floored with staircase."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        p = self._decay_periods(step)
        return _result(_f32(self.initial_learning_rate) / (_f32(1) + _f32(self.decay_rate) * p), step)


def _cosine_decay(steps, decay_steps, start_lr, alpha):
    """start_lr * ((1 - alpha) * 0.5 * (1 + cos(pi * steps / decay_steps)) + alpha)."""
    fraction = steps / decay_steps
    cosine = _f32(0.5) * (_f32(1) + np.cos(_f32(np.pi) * fraction))
    return start_lr * (_f32(1 - alpha) * cosine + _f32(alpha))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from lr0 to alpha * lr0 over decay_steps. With warmup_target, first a linear
    ramp from lr0 to warmup_target over warmup_steps, then the cosine from warmup_target."""

    _is_vectorized = True

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        name="CosineDecay",
        warmup_target=None,
        warmup_steps=0,
    ):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def __call__(self, step):
        steps = _as_steps(step)
        lr0, decay_steps = _f32(self.initial_learning_rate), _f32(self.decay_steps)
        if self.warmup_target is None:
            return _result(_cosine_decay(np.minimum(steps, decay_steps), decay_steps, lr0, self.alpha), step)
        target, warmup_steps = _f32(self.warmup_target), _f32(self.warmup_steps)
        steps = np.minimum(steps, decay_steps + warmup_steps)
        with np.errstate(divide="ignore", invalid="ignore"):  # warmup_steps = 0 never takes the ramp
            ramp = (target - lr0) * (steps / warmup_steps) + lr0
        decay = _cosine_decay(steps - warmup_steps, decay_steps, target, self.alpha)
        return _result(np.where(steps < warmup_steps, ramp, decay), step)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decay periods, the i-th lasting first_decay_steps * t_mul**i steps and starting
    from lr0 * m_mul**i; each decays towards alpha times its start."""

    _is_vectorized = True

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        name="SGDRDecay",
    ):
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        fraction = _as_steps(step) / _f32(self.first_decay_steps)
        t_mul, m_mul, alpha = _f32(self._t_mul), _f32(self._m_mul), _f32(self.alpha)
        if t_mul == 1:
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:
            # Period i starts after (1 - t_mul**i) / (1 - t_mul) first periods (a geometric sum).
            restart = np.floor(np.log(_f32(1) - fraction * (_f32(1) - t_mul)) / np.log(t_mul))
            elapsed = (_f32(1) - np.power(t_mul, restart)) / (_f32(1) - t_mul)
            fraction = (fraction - elapsed) / np.power(t_mul, restart)
        cosine = _f32(0.5) * np.power(m_mul, restart) * (_f32(1) + np.cos(_f32(np.pi) * fraction))
        decayed = (_f32(1) - alpha) * cosine + alpha
        return _result(_f32(self.initial_learning_rate) * decayed, step)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_SCHEDULES = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(learning_rate_schedule):
    return serialize_object(learning_rate_schedule, "keras.optimizers.schedules")


def deserialize(config, custom_objects=None):
    class_name, inner = split_serialized(config, "learning rate schedule")
    known = dict(_SCHEDULES)
    known.update(custom_objects or {})
    if class_name not in known:
        raise unknown_name_error("learning rate schedule", class_name, known)
    return known[class_name].from_config(inner)
