"""Weight initializers shaped like `keras.initializers` (Keras 3), drawn with NumPy.

Seeding follows Keras 3: a random initializer owns a seed, either the one it was given or one
drawn from the global generator (`fastdense.random`) when it is created, and every call
restarts from that seed. So one instance returns the same values on each call (Keras 3 does the
same with its stateless RNG), two instances created one after the other differ, and
`fastdense.random.set_seed(s)` before creating them makes everything reproducible. The values
themselves cannot match Keras's (TensorFlow's Philox streams); only the distributions do.
"""

import inspect
import math
import numbers

import numpy as np

from fastdense import random as fd_random
from fastdense.object_registry import serialize_object, split_serialized, unknown_name_error
from fastdense.utils.naming import to_snake_case

# Standard deviation of a unit normal truncated to [-2, 2]: dividing by it keeps the variance
# of a truncated draw equal to the requested one.
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


def _dtype(dtype):
    dtype = np.dtype("float32" if dtype is None else dtype)
    if dtype.kind != "f":
        raise ValueError(f"Initializers produce floating-point arrays; got dtype={dtype}")
    return dtype


def _shape(shape):
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def compute_fans(shape):
    """(fan_in, fan_out) as Keras computes them: a 2-D kernel (in, out) gives (in, out); 1-D (n,)
    gives (n, n); higher ranks multiply by the receptive field (all dimensions but the last two)."""
    shape = _shape(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: __call__(shape, dtype=None) returns a numpy array (float32 by default)."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"Initializer {type(self).__name__} does not implement __call__().")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(_shape(shape), self.value, dtype=_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """gain * the identity matrix (2-D shapes only; rectangular ones get ones on the diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                f"Identity matrix initializer can only be used for 2D matrices. Received: shape={shape} of rank {len(shape)}."
            )
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self):
        # Keras 3 writes {} here and so loses the gain; keeping it still loads in Keras.
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    """Base of the random initializers: owns the seed every call restarts from."""

    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"`seed` argument should be a non-negative integer or None. Received: seed={seed!r}")
        self._init_seed = None if seed is None else int(seed)
        self.seed = self._init_seed if seed is not None else fd_random.make_default_seed()

    def _generator(self):
        return np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self._init_seed}


def _truncated_normal(rng, shape, mean, stddev):
    """Normal draws, with those beyond two standard deviations drawn again (as TensorFlow)."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return mean + stddev * values


class RandomNormal(RandomInitializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._generator().normal(self.mean, self.stddev, _shape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal(mean, stddev) restricted to mean ± 2*stddev by drawing again."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return _truncated_normal(self._generator(), _shape(shape), self.mean, self.stddev).astype(_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return self._generator().uniform(self.minval, self.maxval, _shape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(RandomInitializer):
    """Draws with variance scale / n, n = fan_in, fan_out or their mean (mode):
    truncated_normal: stddev sqrt(s)/0.8796..., truncated at ±2 stddev; untruncated_normal:
    stddev sqrt(s); uniform: U(-sqrt(3s), sqrt(3s))."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(
        self,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
    ):
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of {set(self._MODES)}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution}. Please use one of {set(self._DISTRIBUTIONS)}"
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def _fans(self, shape):
        if self.input_axes is not None and self.output_axes is not None:
            return math.prod(shape[a] for a in self.input_axes), math.prod(shape[a] for a in self.output_axes)
        return compute_fans(shape)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        fan_in, fan_out = self._fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._generator()
        if self.distribution == "truncated_normal":
            values = _truncated_normal(rng, shape, 0.0, math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling with a fixed scale, mode and distribution; configs hold only the seed."""

    _settings = None  # (scale, mode, distribution)

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._settings
        super().__init__(scale, mode, distribution, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self._init_seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    """U(±sqrt(6 / (fan_in + fan_out)))."""

    _settings = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / 0.8796..."""

    _settings = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """U(±sqrt(6 / fan_in))."""

    _settings = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(2 / fan_in) / 0.8796..."""

    _settings = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """U(±sqrt(3 / fan_in))."""

    _settings = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(1 / fan_in) / 0.8796..."""

    _settings = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """gain * an orthogonal matrix (rows or columns orthonormal, whichever fit), from the QR
    decomposition of a normal draw with the signs fixed so that the result is uniformly distributed.
    Shapes of rank > 2 are flattened to (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(
                f"The tensor to initialize must be at least two-dimensional. Received: shape={shape} of rank {len(shape)}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._generator().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


_CLASSES = (
    Initializer, Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal,
)
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({to_snake_case(cls.__name__): cls for cls in _CLASSES})
_BY_NAME.update(
    {
        "normal": RandomNormal,
        "uniform": RandomUniform,
        "zero": Zeros,
        "one": Ones,
        "IdentityInitializer": Identity,
        "OrthogonalInitializer": Orthogonal,
    }
)

# Function-style (snake_case) aliases of the classes, as keras.initializers exports them.
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal


def serialize(initializer):
    return serialize_object(initializer, "keras.initializers")


def deserialize(config, custom_objects=None):
    class_name, inner = split_serialized(config, "initializer")
    known = dict(_BY_NAME)
    known.update(custom_objects or {})
    if class_name not in known:
        raise unknown_name_error("initializer", class_name, [cls.__name__ for cls in _CLASSES[1:]])
    return known[class_name].from_config(inner)


def get(identifier):
    """An initializer from None, a name (class name, snake_case, or normal/uniform/zero/one), a
    serialized dict, a class, a numpy array (returned for its own shape), or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise unknown_name_error("initializer", identifier, [to_snake_case(c.__name__) for c in _CLASSES[1:]])
        return _BY_NAME[identifier]()
    if isinstance(identifier, (np.ndarray, np.generic)):
        return _from_array(np.asarray(identifier))
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def _from_array(array):
    def initialize(shape, dtype=None):
        if _shape(shape) != array.shape:
            raise ValueError(f"Expected `shape` to be {array.shape} for direct tensor as initializer. Received shape={shape}")
        return array.astype(_dtype(dtype))

    return initialize
