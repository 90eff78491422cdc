"""fastdense.autodiff's op table: every primitive, ufunc, NumPy function and fastdense.ops function
against float64 central finite differences; coverage tests so that an op added without a test
fails; TensorFlow's conventions at ties and kinks; parity with keras.ops and tf.GradientTape."""

import math
from collections import namedtuple

import numpy as np
import pytest

from fastdense import activations, autodiff, ops
from fastdense.autodiff import dispatch
from fastdense.autodiff import gradients as P
from gradcheck import numerical_gradient, relative_error

TOLERANCE = 1e-6

rng = np.random.default_rng(20240611)


def uniform(shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, shape)


def away_from_zero(shape, low=0.2, high=2.0):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(low, high, shape)


# ------------------------------------------------------------------------------ the checker

def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check_gradients(fn, args, diff):
    """fn traced at args equals fn on plain arrays, and its vjp matches finite differences."""
    plain_out = _flat(fn(*args))
    out, pullback = autodiff.vjp(fn, *args, argnums=diff)
    traced_out = _flat(out)
    assert len(traced_out) == len(plain_out)
    for t, p in zip(traced_out, plain_out):
        assert type(t) is np.ndarray
        np.testing.assert_allclose(t, p, rtol=1e-13, atol=1e-15)  # composites may round differently
    seeds = [np.random.default_rng(7).standard_normal(np.shape(o)) for o in traced_out]
    analytic = pullback(seeds if isinstance(out, (tuple, list)) else seeds[0]).inputs

    for k, i in enumerate(diff):
        def weighted_output(xi, i=i):
            values = list(args)
            values[i] = xi
            return sum(float(np.sum(s * o)) for s, o in zip(seeds, _flat(fn(*values))))

        numeric = numerical_gradient(weighted_output, args[i])
        assert analytic[k].shape == np.shape(args[i])
        assert analytic[k].dtype == np.asarray(args[i]).dtype
        error = relative_error(analytic[k], numeric)
        assert error < TOLERANCE, f"argument {i}: relative error {error:.3g}\nanalytic {analytic[k]}\nnumeric {numeric}"


# A case: fn(*args), differentiated with respect to args[diff] (default: every float64 array).
Case = namedtuple("Case", "id fn args diff")


def case(id, fn, *args, diff=None):
    if diff is None:
        diff = tuple(i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype == np.float64)
    return Case(id, fn, args, tuple(diff))


# ------------------------------------------------------------------------------ NumPy ufuncs

UNARY_INPUTS = {
    "negative": lambda: uniform((3, 4)), "positive": lambda: uniform((3, 4)),
    "absolute": lambda: away_from_zero((3, 4)), "exp": lambda: uniform((3, 4)), "exp2": lambda: uniform((3, 4)),
    "expm1": lambda: uniform((3, 4)), "log": lambda: uniform((3, 4), 0.2, 3.0),
    "log2": lambda: uniform((3, 4), 0.2, 3.0), "log10": lambda: uniform((3, 4), 0.2, 3.0),
    "log1p": lambda: uniform((3, 4), -0.5, 2.0), "sqrt": lambda: uniform((3, 4), 0.2, 3.0),
    "cbrt": lambda: away_from_zero((3, 4)), "square": lambda: uniform((3, 4), -2, 2),
    "reciprocal": lambda: away_from_zero((3, 4)), "sin": lambda: uniform((3, 4), -3, 3),
    "cos": lambda: uniform((3, 4), -3, 3), "tan": lambda: uniform((3, 4), -1.2, 1.2),
    "arcsin": lambda: uniform((3, 4), -0.9, 0.9), "arccos": lambda: uniform((3, 4), -0.9, 0.9),
    "arctan": lambda: uniform((3, 4), -2, 2), "sinh": lambda: uniform((3, 4), -2, 2),
    "cosh": lambda: uniform((3, 4), -2, 2), "tanh": lambda: uniform((3, 4), -2, 2),
    "arcsinh": lambda: uniform((3, 4), -2, 2), "arccosh": lambda: uniform((3, 4), 1.2, 3.0),
    "arctanh": lambda: uniform((3, 4), -0.9, 0.9),
}

BINARY_INPUTS = {  # (x, y) with broadcasting; values keep away from ties and poles
    "add": lambda: (uniform((3, 4)), uniform((4,))),
    "subtract": lambda: (uniform((3, 1)), uniform((1, 4))),
    "multiply": lambda: (uniform((2, 3, 4)), uniform((3, 1))),
    "divide": lambda: (uniform((3, 4)), away_from_zero((3, 1))),
    "power": lambda: (uniform((3, 4), 0.5, 2.0), uniform((4,), -1.5, 1.5)),
    "maximum": lambda: (uniform((3, 4)), uniform((4,))),
    "minimum": lambda: (uniform((3, 4)), uniform((3, 1))),
    "arctan2": lambda: (uniform((3, 4)), away_from_zero((4,))),
    "hypot": lambda: (away_from_zero((3, 4)), uniform((4,))),
    "logaddexp": lambda: (uniform((3, 4), -3, 3), uniform((4,), -3, 3)),
}

MATMUL_SHAPES = [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (2, 4, 5)),
                 ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2))]


def ufunc_cases():
    cases = [case(f"np.{name}", getattr(np, name), make()) for name, make in UNARY_INPUTS.items()]
    cases += [case(f"np.{name}", getattr(np, name), *make()) for name, make in BINARY_INPUTS.items()]
    cases += [case(f"np.matmul[{a}@{b}]", np.matmul, uniform(a), uniform(b)) for a, b in MATMUL_SHAPES]
    cases += [
        case("np.power[x**2]", lambda x: x ** 2, uniform((3, 4))),
        case("np.power[x**3]", lambda x: x ** 3, uniform((3, 4))),
        case("np.power[2**x]", lambda x: 2.0 ** x, uniform((3, 4))),
        case("np.power[constant base]", lambda y, base=uniform((3, 4), 0.5, 2): np.power(base, y), uniform((4,))),
        case("operators", lambda x, y: (2.0 - x) * y / 3.0 + 1.0 / y - (-x) + abs(y) + ((+x) @ y.T) @ y,
             uniform((3, 4)), away_from_zero((3, 4))),
        case("operators[in place]", _in_place_operators, uniform((3, 4)), away_from_zero((3, 4))),
        case("np.add.reduce", lambda x: np.add.reduce(x, axis=1), uniform((3, 4))),
        case("np.multiply.reduce", lambda x: np.multiply.reduce(x), uniform((3, 4))),
        case("np.maximum.reduce", lambda x: np.maximum.reduce(x, axis=0, keepdims=True), uniform((3, 4))),
        case("np.minimum.reduce", lambda x: np.minimum.reduce(x, axis=1), uniform((3, 4))),
        case("np.multiply[float32 constant]", lambda x: x * np.float32(1.5) + np.ones(4, np.float32), uniform((3, 4))),
    ]
    return cases


def _in_place_operators(x, y):
    z = x * 1.0
    z += y
    z -= 0.5
    z *= y
    z /= 2.0
    z **= 2
    return z


# --------------------------------------------------------------------------- NumPy functions

def _getitem_cases():
    x = uniform((4, 5))
    return [
        case("getitem[int]", lambda x: x[1], x),
        case("getitem[slices]", lambda x: x[:, 1:4:2], x),
        case("getitem[newaxis, ellipsis, negative step]", lambda x: x[None, ..., ::-2], x),
        case("getitem[repeated int array]", lambda x: x[[0, 0, 2, 3, 0]], x),
        case("getitem[two int arrays]", lambda x: x[np.array([0, 2, 2]), np.array([1, 1, 4])], x),
        case("getitem[slice and int array]", lambda x: x[1:, [0, 0, 3]], x),
        case("getitem[boolean mask]", lambda x: x[x > 0], x),
        case("getitem[row mask]", lambda x: x[np.array([True, False, True, True])], x),
        case("getitem[iteration]", lambda x: sum(row * (i + 1) for i, row in enumerate(x)), x),
        case("setitem[slice]", _assign_slice, x, uniform((5,))),
        case("setitem[mask with constant]", _assign_mask, x),
        case("setitem[broadcast value]", _assign_broadcast, x, uniform(())),
    ]


def _assign_slice(x, v):
    y = x * 2.0
    y[1] = v
    y[2:, 1:3] = v[:2] * 3.0
    return y


def _assign_mask(x):
    y = np.copy(x)
    y[y > 0.5] = 0.0
    return y * x


def _assign_broadcast(x, v):
    y = x + 0.0
    y[:, 2] = v
    y[0, :2] = x[None, None, 1, 3:] * 2.0  # a (1, 1, 2) value into a (2,) selection
    return y


def _reduction_cases():
    x = uniform((2, 3, 4))
    cases = []
    for name in ("sum", "mean", "max", "min", "prod", "amax", "amin"):
        f = getattr(np, name)
        cases += [
            case(f"np.{name}[all]", lambda x, f=f: f(x), x),
            case(f"np.{name}[axis=1]", lambda x, f=f: f(x, axis=1), x),
            case(f"np.{name}[axis=(0, 2), keepdims]", lambda x, f=f: f(x, axis=(0, 2), keepdims=True), x),
        ]
    for name in ("sum", "mean", "max", "min", "prod"):
        cases.append(case(f"np.{name}[method]", lambda x, name=name: getattr(x, name)(axis=-1), x))
    with_zero = uniform((3, 4))
    with_zero[1, 2] = 0.0
    with_zero[2, 0] = with_zero[2, 3] = 0.0
    cases += [
        case("np.prod[one zero, two zeros]", lambda x: np.prod(x, axis=1), with_zero),
        case("np.prod[zero, all]", lambda x: np.prod(x[:2]), with_zero),
        case("np.sum[dtype]", lambda x: np.sum(x, dtype=np.longdouble), x),
        case("np.max[initial]", lambda x: np.max(x, axis=1, initial=0.5), uniform((3, 4), -1, 2)),
        case("np.var", lambda x: np.var(x, axis=1), x),
        case("np.var[ddof, all]", lambda x: x.var(ddof=1), x),
        case("np.std", lambda x: np.std(x, axis=(0, 2), keepdims=True), x),
        case("np.average", lambda x: np.average(x, axis=1), x),
        case("np.average[weights]", lambda x, w: np.average(x, axis=2, weights=w), x, uniform((4,), 0.5, 1.5)),
        case("np.average[full weights]", lambda x, w: np.average(x, weights=w), x, uniform((2, 3, 4), 0.5, 1.5)),
        case("np.cumsum", lambda x: np.cumsum(x, axis=1), x),
        case("np.cumsum[flat]", lambda x: x.cumsum(), x),
        case("logsumexp", lambda x: P.logsumexp(x, axis=1), uniform((3, 4), -3, 3)),
        case("logsumexp[all, keepdims]", lambda x: P.logsumexp(x, keepdims=True), uniform((3, 4), -3, 3)),
    ]
    return cases


def _norm_cases():
    m = away_from_zero((3, 4))
    return [
        case("np.linalg.norm", np.linalg.norm, m),
        case("np.linalg.norm[axis=1]", lambda x: np.linalg.norm(x, axis=1, keepdims=True), m),
        case("np.linalg.norm[ord=1 vector]", lambda x: np.linalg.norm(x, ord=1, axis=0), m),
        case("np.linalg.norm[ord=inf vector]", lambda x: np.linalg.norm(x[0], ord=np.inf), m),
        case("np.linalg.norm[ord=-inf vector]", lambda x: np.linalg.norm(x, ord=-np.inf, axis=1), m),
        case("np.linalg.norm[ord=3 vector]", lambda x: np.linalg.norm(x, ord=3, axis=-1), m),
        case("np.linalg.norm[ord=fro]", lambda x: np.linalg.norm(x, ord="fro"), m),
        case("np.linalg.norm[ord=1 matrix]", lambda x: np.linalg.norm(x, ord=1), m),
        case("np.linalg.norm[ord=-1 matrix]", lambda x: np.linalg.norm(x, ord=-1, axis=(0, 1)), m),
        case("np.linalg.norm[ord=inf matrix]", lambda x: np.linalg.norm(x, ord=np.inf), m),
        case("np.linalg.norm[ord=-inf matrix, batch]", lambda x: np.linalg.norm(
            x.reshape(2, 2, 3), ord=-np.inf, axis=(1, 2), keepdims=True), m),
    ]


def _shape_cases():
    x = uniform((2, 3, 4))
    return [
        case("np.reshape", lambda x: np.reshape(x, (4, -1)) * np.arange(6), x),
        case("np.reshape[method]", lambda x: x.reshape(6, 4)[:, 0], x),
        case("np.ravel", lambda x: np.ravel(x)[::3], x),
        case("np.transpose", lambda x: np.transpose(x) * np.arange(2), x),
        case("np.transpose[axes]", lambda x: x.transpose(1, 0, 2)[0], x),
        case("transpose[.T]", lambda x: x[0].T @ np.ones(3), x),
        case("np.moveaxis", lambda x: np.moveaxis(x, [0, 1], [-1, 0])[1], x),
        case("np.swapaxes", lambda x: np.swapaxes(x, 0, 2)[1], x),
        case("np.expand_dims", lambda x: np.expand_dims(x, (0, -1)) * np.arange(4)[:, None], x),
        case("np.squeeze", lambda x: np.squeeze(x[:, :1, None], axis=(1, 2)), x),
        case("np.atleast_1d", lambda x: np.atleast_1d(x[0, 0, 0]) * 2.0, x),
        case("np.atleast_2d", lambda x: np.atleast_2d(x[0, 0]).T, x),
        case("np.broadcast_to", lambda x: np.broadcast_to(x[:, :1], (5, 2, 3, 4)), x),
        case("np.broadcast_arrays", lambda x, y: np.broadcast_arrays(x, y), x, uniform((3, 1))),
        case("np.concatenate", lambda x, y: np.concatenate([x, y, np.ones((2, 1, 4))], axis=1), x, uniform((2, 2, 4))),
        case("np.concatenate[axis=None]", lambda x, y: np.concatenate((x, y), axis=None), x, uniform((5,))),
        case("np.stack", lambda x, y: np.stack([x, y, x], axis=-1), x, uniform((2, 3, 4))),
        case("np.hstack", lambda x, y: np.hstack([x[0], y]), x, uniform((3, 2))),
        case("np.hstack[1-D]", lambda x: np.hstack([x[0, 0], x[1, 1]]), x),
        case("np.vstack", lambda x, y: np.vstack([x[0], y, np.zeros(4)]), x, uniform((4,))),
        case("np.split", lambda x: np.split(x, 2, axis=2), x),
        case("np.array_split", lambda x: np.array_split(x, 2, axis=1), x),
        case("np.flip", lambda x: np.flip(x, axis=1) * np.arange(4), x),
        case("np.flip[all]", lambda x: np.flip(x) * np.arange(4), x),
        case("np.take", lambda x: np.take(x, [0, 5, 5, 23]), x),
        case("np.take[axis]", lambda x: np.take(x, np.array([2, 0, 2]), axis=1), x),
        case("np.take_along_axis", lambda x: np.take_along_axis(x, np.array([[[1], [0], [3]]]), axis=2), x),
        case("np.take_along_axis[axis=None]", lambda x: np.take_along_axis(x, np.array([3, 3, 7]), axis=None), x),
        case("np.sort", lambda x: np.sort(x) * np.arange(4), x),
        case("np.sort[axis=None]", lambda x: np.sort(x, axis=None)[::5], x),
        case("np.tile", lambda x: np.tile(x[0], (2, 1, 2)), x),
        case("np.tile[int]", lambda x: np.tile(x[0, 0], 3), x),
        case("np.repeat", lambda x: np.repeat(x, 2, axis=1), x),
        case("np.repeat[counts, flat]", lambda x: np.repeat(x[0, 0], [1, 0, 2, 3]), x),
        case("np.diff", lambda x: np.diff(x, n=2, axis=2), x),
        case("np.copy", lambda x: np.copy(x) * x, x),
        case("np.astype[longdouble]", lambda x: np.astype(x, np.longdouble) * 3, x),
        case("astype[method]", lambda x: x.astype(np.longdouble).astype(np.float64) ** 2, x),
    ]


def _selection_cases():
    x = uniform((3, 4))
    far = rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(0.6, 1.0, (3, 4))  # away from the bounds ±0.5
    return [
        case("np.where", lambda x, y: np.where(x > 0, x, y), x, uniform((4,))),
        case("np.where[constant]", lambda x: np.where(x > 0, x, 0.1 * x), x),
        case("np.clip", lambda x: np.clip(x, -0.5, 0.5), far),
        case("np.clip[traced bounds]", lambda x, lo, hi: np.clip(x, lo, hi), x, uniform((4,), -1.5, -0.9),
             uniform((3, 1), 0.2, 0.4)),
        case("np.clip[None bound, method]", lambda x: x.clip(max=0.5), far),
        case("np.clip[keyword bounds]", lambda x: np.clip(x, min=-0.5, max=None), far),
    ]


def _linear_algebra_cases():
    return [
        case("np.dot[2-D]", np.dot, uniform((3, 4)), uniform((4, 2))),
        case("np.dot[1-D]", np.dot, uniform((4,)), uniform((4,))),
        case("np.dot[scalar]", lambda x: np.dot(x, 2.5), uniform((3,))),
        case("np.dot[N-D, 2-D]", np.dot, uniform((2, 3, 4)), uniform((4, 5))),
        case("np.dot[N-D, N-D]", np.dot, uniform((2, 3, 4)), uniform((5, 4, 2))),
        case("np.dot[method]", lambda x, y: x.dot(y), uniform((3, 4)), uniform((4,))),
        case("np.tensordot", np.tensordot, uniform((2, 3, 4)), uniform((3, 4, 5))),
        case("np.tensordot[axes=1]", lambda x, y: np.tensordot(x, y, 1), uniform((2, 3)), uniform((3, 4))),
        case("np.tensordot[permuted axes]", lambda x, y: np.tensordot(x, y, ([1, 0], [0, 2])),
             uniform((3, 4, 5)), uniform((4, 6, 3))),
        case("np.inner", np.inner, uniform((2, 4)), uniform((3, 4))),
        case("np.outer", np.outer, uniform((3,)), uniform((2, 2))),
        case("np.einsum[matmul]", lambda x, y: np.einsum("ij,jk->ik", x, y), uniform((3, 4)), uniform((4, 2))),
        case("np.einsum[implicit output]", lambda x, y: np.einsum("ij,jk", x, y), uniform((3, 4)), uniform((4, 2))),
        case("np.einsum[batched]", lambda x, y: np.einsum("bij,bjk->bik", x, y),
             uniform((2, 3, 4)), uniform((2, 4, 2))),
        case("np.einsum[dot to scalar]", lambda x, y: np.einsum("i,i->", x, y), uniform((4,)), uniform((4,))),
        case("np.einsum[summed alone]", lambda x, y: np.einsum("ij,kl->ik", x, y), uniform((3, 4)), uniform((2, 5))),
        case("np.einsum[transpose]", lambda x: np.einsum("ijk->kji", x), uniform((2, 3, 4))),
        case("np.einsum[three operands]", lambda x, y, z: np.einsum("ij,jk,k->i", x, y, z),
             uniform((3, 4)), uniform((4, 2)), uniform((2,))),
    ]


# ---------------------------------------------------------------------------- native primitives

ACTIVATIONS = [  # (config, kwargs for fastdense.activations, input maker) away from the kinks
    ("linear", {}, lambda: uniform((3, 4), -3, 3)),
    ("relu", {}, lambda: away_from_zero((3, 4))),
    ("relu", {"alpha": 0.1, "max_value": 2.5, "threshold": 0.5},
     lambda: rng.choice([-1.0, 0.2, 1.0, 3.0], (3, 4)) + uniform((3, 4), -0.1, 0.1)),
    ("sigmoid", {}, lambda: uniform((3, 4), -4, 4)),
    ("tanh", {}, lambda: uniform((3, 4), -2, 2)),
    ("elu", {"alpha": 0.7}, lambda: away_from_zero((3, 4))),
    ("selu", {}, lambda: away_from_zero((3, 4))),
    ("softplus", {}, lambda: uniform((3, 4), -4, 4)),
    ("softsign", {}, lambda: away_from_zero((3, 4))),
    ("silu", {}, lambda: uniform((3, 4), -4, 4)),
    ("gelu", {}, lambda: uniform((3, 4), -3, 3)),
    ("gelu", {"approximate": True}, lambda: uniform((3, 4), -3, 3)),
    ("exponential", {}, lambda: uniform((3, 4), -2, 2)),
    ("hard_sigmoid", {}, lambda: uniform((3, 4), -2.5, 2.5)),
    ("hard_silu", {}, lambda: uniform((3, 4), -2.5, 2.5)),
    ("leaky_relu", {"negative_slope": 0.3}, lambda: away_from_zero((3, 4))),
    ("relu6", {}, lambda: uniform((3, 4), 0.2, 5.5)),
    ("mish", {}, lambda: uniform((3, 4), -3, 3)),
    ("softmax", {}, lambda: uniform((3, 4), -3, 3)),
    ("softmax", {"axis": 0}, lambda: uniform((3, 4), -3, 3)),
    ("softmax", {"axis": (0, 2)}, lambda: uniform((2, 3, 4), -3, 3)),
    ("log_softmax", {"axis": 1}, lambda: uniform((2, 3, 4), -3, 3)),
    ("log_softmax", {"axis": None}, lambda: uniform((2, 3), -3, 3)),
]


def _activation_cases():
    cases = []
    for name, kwargs, make in ACTIVATIONS:
        f = getattr(activations, name)
        cases.append(case(f"activation[{name} {kwargs}]", lambda x, f=f, kwargs=kwargs: f(x, **kwargs), make()))
    return cases


def _probabilities(shape):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


_HUBER_TARGET = uniform((4, 3))  # errors of ±0.1 and ±1.5 stay away from delta = 0.5

LOSSES = [  # (function name, kwargs, y_true, y_pred) away from kinks and clip bounds
    ("mean_squared_error", {}, uniform((4, 3)), uniform((4, 3))),
    ("mean_absolute_error", {}, uniform((4, 3)), uniform((4, 3)) + 3.0),
    ("mean_absolute_percentage_error", {}, away_from_zero((4, 3)), uniform((4, 3), 3, 4)),
    ("mean_squared_logarithmic_error", {}, uniform((4, 3), 0, 2), uniform((4, 3), 0.1, 2)),
    ("binary_crossentropy", {}, rng.integers(0, 2, (4, 3)).astype(float), uniform((4, 3), 0.05, 0.95)),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, rng.integers(0, 2, (4, 3)).astype(float),
     uniform((4, 3), -3, 3)),
    ("categorical_crossentropy", {}, np.eye(3)[[0, 2, 1, 1]], _probabilities((4, 3))),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.2}, np.eye(3)[[0, 2, 1, 1]],
     uniform((4, 3), -3, 3)),
    ("sparse_categorical_crossentropy", {}, np.array([0.0, 2, 1, 1]), _probabilities((4, 3))),
    ("sparse_categorical_crossentropy", {"from_logits": True}, np.array([[0.0], [2], [1], [1]]),
     uniform((4, 3), -3, 3)),
    ("huber", {"delta": 0.5}, _HUBER_TARGET, _HUBER_TARGET + rng.choice([-1.5, -0.1, 0.1, 1.5], (4, 3))),
    ("hinge", {}, rng.choice([-1.0, 1.0], (4, 3)), rng.choice([-1.0, 1.0], (4, 3)) * rng.choice([0.5, 2.0], (4, 3))),
    ("squared_hinge", {}, rng.choice([0.0, 1.0], (4, 3)),
     rng.choice([-1.0, 1.0], (4, 3)) * rng.choice([0.5, 2.0], (4, 3))),
    ("categorical_hinge", {}, np.eye(3)[[0, 2, 1, 1]], uniform((4, 3))),
    ("kl_divergence", {}, _probabilities((4, 3)), _probabilities((4, 3))),
    ("poisson", {}, uniform((4, 3), 0, 3), uniform((4, 3), 0.2, 3)),
    ("log_cosh", {}, uniform((4, 3)), uniform((4, 3), -2, 2)),
    ("cosine_similarity", {}, uniform((4, 3)), uniform((4, 3))),
    ("cosine_similarity", {"axis": 0}, uniform((4, 3)), uniform((4, 3))),
    ("binary_crossentropy", {"axis": 1}, rng.integers(0, 2, (2, 3, 4)).astype(float), uniform((2, 3, 4), 0.05, 0.95)),
    ("mean_squared_error", {}, uniform((4,)), uniform((4, 1))),  # rank alignment: (N,) vs (N, 1)
    ("mean_squared_error", {}, uniform((2, 3, 4)), uniform((3, 4))),  # y_pred broadcast to y_true
]


def _loss_cases():
    from fastdense import losses
    cases = []
    for name, kwargs, y_true, y_pred in LOSSES:
        f = getattr(losses, name)
        cases.append(case(f"loss[{name} {kwargs} {y_pred.shape}]",
                          lambda p, f=f, y=y_true, kwargs=kwargs: f(y, p, **kwargs), y_pred))
    return cases


def numpy_cases():
    return (ufunc_cases() + _getitem_cases() + _reduction_cases() + _norm_cases() + _shape_cases()
            + _selection_cases() + _linear_algebra_cases() + _activation_cases() + _loss_cases())


NUMPY_CASES = numpy_cases()


@pytest.mark.parametrize("c", NUMPY_CASES, ids=[c.id for c in NUMPY_CASES])
def test_gradient_matches_finite_differences(c):
    check_gradients(c.fn, c.args, c.diff)


# Functions of the values only: called on traced arrays they return what NumPy returns on the values.
CONSTANT_FUNCTION_CASES = {
    "np.shape": lambda x: np.shape(x), "np.ndim": lambda x: np.ndim(x), "np.size": lambda x: np.size(x),
    "np.argmax": lambda x: np.argmax(x, axis=1), "np.argmin": lambda x: np.argmin(x),
    "np.argsort": lambda x: np.argsort(x, axis=0), "np.nonzero": lambda x: np.nonzero(x > 0),
    "np.count_nonzero": lambda x: np.count_nonzero(x > 0), "np.any": lambda x: np.any(x > 0.9),
    "np.all": lambda x: np.all(x > -2), "np.isclose": lambda x: np.isclose(x, 0.5),
    "np.allclose": lambda x: np.allclose(x, x), "np.array_equal": lambda x: np.array_equal(x, x),
    "np.zeros_like": lambda x: np.zeros_like(x), "np.ones_like": lambda x: np.ones_like(x),
    "np.empty_like": lambda x: np.empty_like(x).shape, "np.full_like": lambda x: np.full_like(x, 3.0),
    "np.result_type": lambda x: np.result_type(x, np.float32),
    "np.may_share_memory": lambda x: np.may_share_memory(x, x),
    "np.shares_memory": lambda x: np.shares_memory(x, np.ones(2)), "np.iscomplexobj": lambda x: np.iscomplexobj(x),
    "np.isrealobj": lambda x: np.isrealobj(x), "np.searchsorted": lambda x: np.searchsorted(np.sort(x[0]), 0.0),
    "np.round": lambda x: np.round(x, 1), "np.around": lambda x: np.around(x),
}
CONSTANT_UFUNC_CASES = {  # ufunc name -> arguments after x
    "greater": (0.0,), "greater_equal": (0.0,), "less": (0.0,), "less_equal": (0.0,), "equal": (0.0,),
    "not_equal": (0.0,), "logical_and": (True,), "logical_or": (False,), "logical_xor": (True,),
    "logical_not": (), "isfinite": (), "isinf": (), "isnan": (), "signbit": (), "sign": (), "floor": (),
    "ceil": (), "rint": (), "trunc": (), "floor_divide": (0.3,),
}


def _assert_same(result, expected):
    assert not isinstance(result, autodiff.TracedArray)
    if isinstance(expected, tuple):
        assert isinstance(result, tuple) and len(result) == len(expected)
        for r, e in zip(result, expected):
            _assert_same(r, e)
    elif isinstance(expected, (np.ndarray, np.generic, int, float, bool)):
        np.testing.assert_array_equal(result, expected)
    else:
        assert result == expected


@pytest.mark.parametrize("name", sorted(CONSTANT_FUNCTION_CASES))
def test_value_only_function_returns_plain_result(name):
    x = uniform((3, 4))
    fn = CONSTANT_FUNCTION_CASES[name]
    with autodiff.GradientTape() as tape:
        result = fn(tape.watch(x))
    _assert_same(result, fn(x))


@pytest.mark.parametrize("name", sorted(CONSTANT_UFUNC_CASES))
def test_constant_ufunc_returns_plain_array(name):
    x = uniform((3, 4), -2, 2)
    ufunc = getattr(np, name)
    with autodiff.GradientTape() as tape:
        result = ufunc(tape.watch(x), *CONSTANT_UFUNC_CASES[name])
    assert type(result) is np.ndarray
    np.testing.assert_array_equal(result, ufunc(x, *CONSTANT_UFUNC_CASES[name]))


# ------------------------------------------------------------------------------------ coverage

def _case_names(cases):
    return {c.id.split("[")[0] for c in cases}


def test_every_ufunc_with_a_gradient_rule_has_a_case():
    missing = {f"np.{u.__name__}" for u in dispatch.UFUNC_PRIMITIVES} - _case_names(NUMPY_CASES)
    assert not missing, f"ufuncs without a gradient test: {sorted(missing)}"


def test_every_constant_ufunc_has_a_case():
    assert {u.__name__ for u in dispatch.CONSTANT_UFUNCS} == set(CONSTANT_UFUNC_CASES)


def test_every_handled_numpy_function_has_a_case():
    tested = _case_names(NUMPY_CASES) | set(CONSTANT_FUNCTION_CASES)
    missing = {dispatch.qualified_name(f) for f in dispatch.HANDLED_FUNCTIONS} - tested
    assert not missing, f"NumPy functions without a test: {sorted(missing)}"


def test_every_primitive_is_exercised_by_a_gradient_case():
    exercised = set()
    runs = [(c.fn, c.args, c.diff) for c in NUMPY_CASES]
    runs += [(lambda *args, c=c: c.fn(ops, *args), c.args, c.diff) for c in OPS_CASES]
    for fn, args, diff in runs:
        with autodiff.GradientTape() as tape:
            fn(*[tape.watch(a) if i in diff else a for i, a in enumerate(args)])
        exercised |= {node.primitive.name for node in tape._nodes if node.primitive is not None}
    missing = set(autodiff.PRIMITIVES) - exercised
    assert not missing, f"primitives without a gradient test: {sorted(missing)}"


# ------------------------------------------------------------------------------- fastdense.ops

# fn(ops_module, *args) runs the same call on fastdense.ops and on keras.ops.
# finite_differences=False: the function is not what finite differences see (stop_gradient).
# keras_rtol: Keras computes some constants in float32 even for float64 inputs (gelu's sqrt(2),
# leaky_relu's slope), so those agree with the exact float64 values to 1e-8 (gelu: 1e-6) only.
OpsCase = namedtuple("OpsCase", "id fn args diff keras finite_differences keras_rtol")


def ops_case(name, fn, *args, keras=True, diff=None, finite_differences=True, keras_rtol=1e-12):
    c = case(name, fn, *args, diff=diff)
    return OpsCase(name, c.fn, c.args, c.diff, keras, finite_differences, keras_rtol)


def _ops_cases():
    unary = {name: make for name, make in UNARY_INPUTS.items() if name not in ("positive",)}
    cases = [ops_case(name, lambda o, x, name=name: getattr(o, name)(x), make()) for name, make in unary.items()]
    cases += [ops_case(name, lambda o, x, y, name=name: getattr(o, name)(x, y), *make())
              for name, make in BINARY_INPUTS.items()]
    x, y = uniform((3, 4)), uniform((4, 2))
    cases += [
        ops_case("abs", lambda o, x: o.abs(x), away_from_zero((3, 4))),
        ops_case("true_divide", lambda o, x, y: o.true_divide(x, y), uniform((3, 4)), away_from_zero((4,))),
        ops_case("clip", lambda o, x: o.clip(x, -0.5, 0.5), rng.choice([-1, 1], (3, 4)) * uniform((3, 4), 0.6, 1)),
        ops_case("where", lambda o, x, y: o.where(x > 0, x, y), uniform((3, 4)), uniform((3, 4))),
        ops_case("matmul", lambda o, x, y: o.matmul(x, y), x, y),
        ops_case("dot", lambda o, x, y: o.dot(x, y), x, y),
        ops_case("tensordot", lambda o, x, y: o.tensordot(x, y, axes=1), x, y),
        ops_case("einsum", lambda o, x, y: o.einsum("ij,jk->ki", x, y), x, y),
        ops_case("outer", lambda o, x, y: o.outer(x, y), uniform((3,)), uniform((4,))),
        ops_case("inner", lambda o, x, y: o.inner(x, y), uniform((3, 4)), uniform((2, 4))),
        ops_case("norm", lambda o, x: o.norm(x, axis=-1), x),
        ops_case("sum", lambda o, x: o.sum(x, axis=1), x),
        ops_case("mean", lambda o, x: o.mean(x, axis=-1, keepdims=True), x),
        ops_case("max", lambda o, x: o.max(x, axis=0), x),
        ops_case("min", lambda o, x: o.min(x), x),
        ops_case("prod", lambda o, x: o.prod(x, axis=1), x),
        ops_case("var", lambda o, x: o.var(x, axis=0), x),
        ops_case("std", lambda o, x: o.std(x, axis=1), x),
        ops_case("average", lambda o, x, w: o.average(x, axis=1, weights=w), x, uniform((4,), 0.5, 1.5)),
        ops_case("cumsum", lambda o, x: o.cumsum(x, axis=1), x),
        ops_case("logsumexp", lambda o, x: o.logsumexp(x, axis=1), x),
        ops_case("reshape", lambda o, x: o.reshape(x, (2, 6)), x),
        ops_case("ravel", lambda o, x: o.ravel(x), x),
        ops_case("transpose", lambda o, x: o.transpose(x), x),
        ops_case("moveaxis", lambda o, x: o.moveaxis(x, 0, -1), uniform((2, 3, 4))),
        ops_case("swapaxes", lambda o, x: o.swapaxes(x, 0, 2), uniform((2, 3, 4))),
        ops_case("expand_dims", lambda o, x: o.expand_dims(x, 1), x),
        ops_case("squeeze", lambda o, x: o.squeeze(x, axis=1), uniform((3, 1, 4))),
        ops_case("broadcast_to", lambda o, x: o.broadcast_to(x, (2, 3, 4)), uniform((3, 1))),
        ops_case("concatenate", lambda o, x, y: o.concatenate([x, y], axis=1), x, uniform((3, 2))),
        ops_case("stack", lambda o, x, y: o.stack([x, y], axis=1), x, uniform((3, 4))),
        ops_case("hstack", lambda o, x, y: o.hstack([x, y]), x, uniform((3, 2))),
        ops_case("vstack", lambda o, x, y: o.vstack([x, y]), x, uniform((2, 4))),
        ops_case("split", lambda o, x: o.split(x, 2, axis=1), x),
        ops_case("flip", lambda o, x: o.flip(x, axis=0), x),
        ops_case("tile", lambda o, x: o.tile(x, (2, 1)), x),
        ops_case("repeat", lambda o, x: o.repeat(x, 2, axis=0), x),
        ops_case("take", lambda o, x: o.take(x, np.array([0, 0, 2]), axis=0), x),
        ops_case("take_along_axis", lambda o, x: o.take_along_axis(x, np.array([[1, 1], [0, 3], [2, 2]]), axis=1), x),
        ops_case("sort", lambda o, x: o.sort(x, axis=-1), x),
        ops_case("diff", lambda o, x: o.diff(x, axis=0), x),
        ops_case("relu", lambda o, x: o.relu(x), away_from_zero((3, 4))),
        ops_case("relu6", lambda o, x: o.relu6(x), uniform((3, 4), 0.2, 5.5)),
        ops_case("sigmoid", lambda o, x: o.sigmoid(x), x),
        ops_case("softplus", lambda o, x: o.softplus(x), x),
        ops_case("softsign", lambda o, x: o.softsign(x), away_from_zero((3, 4))),
        ops_case("silu", lambda o, x: o.silu(x), x),
        ops_case("swish", lambda o, x: o.swish(x), x),
        ops_case("gelu", lambda o, x: o.gelu(x), x, keras_rtol=1e-5),
        ops_case("gelu[exact]", lambda o, x: o.gelu(x, approximate=False), x, keras_rtol=1e-5),
        ops_case("elu", lambda o, x: o.elu(x, alpha=0.5), away_from_zero((3, 4))),
        ops_case("selu", lambda o, x: o.selu(x), away_from_zero((3, 4))),
        ops_case("leaky_relu", lambda o, x: o.leaky_relu(x), away_from_zero((3, 4)), keras_rtol=1e-7),
        ops_case("hard_sigmoid", lambda o, x: o.hard_sigmoid(x), uniform((3, 4), -2.5, 2.5)),
        ops_case("hard_silu", lambda o, x: o.hard_silu(x), uniform((3, 4), -2.5, 2.5)),
        ops_case("hard_swish", lambda o, x: o.hard_swish(x), uniform((3, 4), -2.5, 2.5)),
        ops_case("log_sigmoid", lambda o, x: o.log_sigmoid(x), uniform((3, 4), -4, 4)),
        ops_case("softmax", lambda o, x: o.softmax(x, axis=0), x),
        ops_case("log_softmax", lambda o, x: o.log_softmax(x), x),
        ops_case("cast", lambda o, x: o.cast(x, "float64") * 2.0, x),
        ops_case("copy", lambda o, x: o.copy(x) * x, x),
        ops_case("convert_to_tensor", lambda o, x: o.convert_to_tensor(x) * 3.0, x),
        ops_case("stop_gradient", lambda o, x: o.stop_gradient(x) * x, x, finite_differences=False),
    ]
    return cases


OPS_CASES = _ops_cases()

# Functions without a gradient: their value on plain input against NumPy (and keras.ops).
OPS_CONSTANT_CASES = {
    "sign": lambda o, x: o.sign(x), "floor": lambda o, x: o.floor(x), "ceil": lambda o, x: o.ceil(x),
    "round": lambda o, x: o.round(x), "argmax": lambda o, x: o.argmax(x, axis=1),
    "argmin": lambda o, x: o.argmin(x), "equal": lambda o, x: o.equal(x, x[0]),
    "not_equal": lambda o, x: o.not_equal(x, 0.5), "greater": lambda o, x: o.greater(x, 0.0),
    "greater_equal": lambda o, x: o.greater_equal(x, 0.0), "less": lambda o, x: o.less(x, 0.0),
    "less_equal": lambda o, x: o.less_equal(x, 0.0),
    "logical_and": lambda o, x: o.logical_and(x > 0, x < 0.5), "logical_or": lambda o, x: o.logical_or(x > 0, x < -0.5),
    "logical_not": lambda o, x: o.logical_not(x > 0), "isnan": lambda o, x: o.isnan(x),
    "isfinite": lambda o, x: o.isfinite(x), "shape": lambda o, x: tuple(o.shape(x)),
    "zeros": lambda o, x: o.zeros((2, 3)), "ones": lambda o, x: o.ones((2,)), "full": lambda o, x: o.full((2,), 3.0),
    "zeros_like": lambda o, x: o.zeros_like(x), "ones_like": lambda o, x: o.ones_like(x),
    "full_like": lambda o, x: o.full_like(x, 2.0), "one_hot": lambda o, x: o.one_hot(np.array([0, 2, 1]), 3),
    "convert_to_numpy": lambda o, x: o.convert_to_numpy(x),
}


FD_OPS_CASES = [c for c in OPS_CASES if c.finite_differences]


@pytest.mark.parametrize("c", FD_OPS_CASES, ids=[c.id for c in FD_OPS_CASES])
def test_ops_gradient_matches_finite_differences(c):
    check_gradients(lambda *args: c.fn(ops, *args), c.args, c.diff)


def test_stop_gradient_makes_a_constant():
    x = uniform((3, 4))
    out, pullback = autodiff.vjp(lambda x: ops.stop_gradient(x) * x + ops.stop_gradient(np.tanh(x)), x)
    np.testing.assert_array_equal(out, x * x + np.tanh(x))
    np.testing.assert_array_equal(pullback(np.ones_like(x)).inputs[0], x)  # d(c * x)/dx = c


def test_every_ops_function_has_a_case():
    tested = {c.id.split("[")[0] for c in OPS_CASES} | set(OPS_CONSTANT_CASES)
    missing = set(ops.__all__) - tested
    assert not missing, f"fastdense.ops functions without a test: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(OPS_CONSTANT_CASES))
def test_ops_without_gradient_return_plain_arrays(name):
    x = uniform((3, 4))
    result = OPS_CONSTANT_CASES[name](ops, x)
    assert isinstance(result, (np.ndarray, tuple)) and not isinstance(result, autodiff.TracedArray)
    with autodiff.GradientTape() as tape:
        traced_result = OPS_CONSTANT_CASES[name](ops, tape.watch(x))
    _assert_same(traced_result, result)


@pytest.mark.parametrize("c", OPS_CASES, ids=[c.id for c in OPS_CASES])
def test_ops_on_plain_arrays_return_ndarrays(c):
    for out in _flat(c.fn(ops, *c.args)):
        assert type(out) is np.ndarray


def test_ops_follow_keras_dtypes():
    assert ops.mean(np.arange(4)).dtype == np.float32
    assert ops.sqrt(np.arange(4)).dtype == np.float32
    assert ops.divide(np.arange(4), 2).dtype == np.float32
    assert ops.tanh([0.5, 1.0]).dtype == np.float32
    assert ops.add(np.ones(2), 1.0).dtype == np.float64
    assert ops.multiply(np.ones(2, np.float32), 2.5).dtype == np.float32
    assert ops.sum(np.ones((2, 2))).shape == ()


# ------------------------------------------------------------------- TensorFlow's conventions

# (fastdense function, keras function on K = keras.ops, inputs, expected gradients from the
# independent rule in the comment)
TIE_CASES = {
    # reduce_max splits the gradient evenly among ties
    "max ties": (lambda x: np.max(x, axis=1), lambda K, x: K.max(x, axis=1), [[[1.0, 3, 3], [2, 2, 2]]],
                 [[[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]]),
    "min ties": (lambda x: np.min(x), lambda K, x: K.min(x), [[1.0, 1, 3]], [[0.5, 0.5, 0]]),
    "amax ties with keepdims": (lambda x: np.amax(x, axis=0, keepdims=True),
                                lambda K, x: K.max(x, axis=0, keepdims=True),
                                [[[1.0, 2], [1, 0]]], [[[0.5, 1], [0.5, 0]]]),
    # maximum/minimum: a tie goes to the first argument
    "maximum ties": (np.maximum, lambda K, x, y: K.maximum(x, y), [[0.0, 1, 2], [0.0, 0, 3]],
                     [[1, 1, 0], [0, 0, 1]]),
    "minimum ties": (np.minimum, lambda K, x, y: K.minimum(x, y), [[0.0, 1, 2], [0.0, 0, 3]],
                     [[1, 0, 1], [0, 1, 0]]),
    "relu via maximum at 0": (lambda x: np.maximum(x, 0.0), lambda K, x: K.maximum(x, 0.0), [[0.0, 1, -1]],
                              [[1, 1, 0]]),
    "abs at 0": (np.abs, lambda K, x: K.abs(x), [[0.0, -2, 2]], [[0, -1, 1]]),
    "clip at the bounds": (lambda x: np.clip(x, 0.0, 1.0), lambda K, x: K.clip(x, 0.0, 1.0), [[0.0, 1, 2, -1, 0.5]],
                           [[1, 1, 0, 0, 1]]),
    "relu at 0": (ops.relu, lambda K, x: K.relu(x), [[0.0, 1, -1]], [[0, 1, 0]]),
    "relu6 at 6": (ops.relu6, lambda K, x: K.relu6(x), [[6.0, 0, 3]], [[0, 0, 1]]),
    "inf-norm ties": (lambda x: np.linalg.norm(x, ord=np.inf), lambda K, x: K.norm(x, ord=np.inf), [[2.0, 1, -2]],
                      [[0.5, 0, -0.5]]),
    "1-norm at 0": (lambda x: np.linalg.norm(x, ord=1), lambda K, x: K.norm(x, ord=1), [[0.0, 1, -2]], [[0, 1, -1]]),
    "sqrt at 0": (np.sqrt, lambda K, x: K.sqrt(x), [[0.0, 4]], [[np.inf, 0.25]]),
    "power exponent at x <= 0": (np.power, lambda K, x, y: K.power(x, y), [[0.0, -2, 2], [2.0, 2, 2]],
                                 [[0, -4, 4], [0, 0, 4 * math.log(2)]]),
    "prod with zeros": (np.prod, lambda K, x: K.prod(x), [[0.0, 2, 3]], [[6, 0, 0]]),
    "sign": (np.sign, lambda K, x: K.sign(x), [[1.0, -1, 0]], None),
}


@pytest.mark.filterwarnings("ignore:divide by zero")  # sqrt'(0) = inf is the expected answer
@pytest.mark.parametrize("name", sorted(TIE_CASES))
def test_ties_and_kinks_follow_tensorflow(name):
    fn, _, inputs, expected = TIE_CASES[name]
    args = [np.asarray(a, dtype=np.float64) for a in inputs]
    out, pullback = autodiff.vjp(fn, *args)
    if expected is None:  # piecewise constant: a plain array, no gradient at all
        assert type(out) is np.ndarray
        assert all(np.all(g == 0) for g in pullback(np.ones_like(out)).inputs)
        return
    grads = pullback(np.ones_like(out)).inputs
    for g, e in zip(grads, expected):
        np.testing.assert_array_equal(g, np.asarray(e, dtype=np.float64))


def _tf_gradients(tf, keras_fn, args, seeds):
    tensors = [tf.constant(a, dtype=tf.float64) for a in args]
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        out = keras_fn(*tensors)
    outs = _flat(out)
    grads = tape.gradient(outs, tensors, output_gradients=[tf.constant(s) for s in seeds])
    return [o.numpy() for o in outs], [None if g is None else g.numpy() for g in grads]


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("name", sorted(TIE_CASES))
def test_ties_and_kinks_match_tf_gradient_tape(tf, name):
    import keras
    fn, keras_fn, inputs, _ = TIE_CASES[name]
    args = [np.asarray(a, dtype=np.float64) for a in inputs]
    out, pullback = autodiff.vjp(fn, *args)
    _, tf_grads = _tf_gradients(tf, lambda *t: keras_fn(keras.ops, *t), args, [np.ones_like(out)])
    ours = pullback(np.ones_like(out)).inputs
    for g, t in zip(ours, tf_grads):
        np.testing.assert_allclose(g, np.zeros_like(g) if t is None else t, rtol=1e-12)


KERAS_CASES = [c for c in OPS_CASES if c.keras]


@pytest.mark.parametrize("c", KERAS_CASES, ids=[c.id for c in KERAS_CASES])
def test_ops_match_keras_ops_and_tf_gradient_tape(tf, c):
    import keras
    out, pullback = autodiff.vjp(lambda *args: c.fn(ops, *args), *c.args, argnums=c.diff)
    outs = _flat(out)
    seeds = [np.random.default_rng(3).standard_normal(np.shape(o)) for o in outs]
    ours = pullback(seeds if isinstance(out, (tuple, list)) else seeds[0]).inputs

    tensors = [tf.constant(a) if isinstance(a, np.ndarray) else a for a in c.args]
    with tf.GradientTape() as tape:
        for i in c.diff:
            tape.watch(tensors[i])
        keras_out = _flat(c.fn(keras.ops, *tensors))
    theirs = tape.gradient(keras_out, [tensors[i] for i in c.diff], output_gradients=[tf.constant(s) for s in seeds])
    for o, k in zip(outs, keras_out):
        np.testing.assert_allclose(o, np.asarray(k), rtol=c.keras_rtol, atol=1e-14)
    for g, t in zip(ours, theirs):
        expected = np.zeros_like(g) if t is None else tf.convert_to_tensor(t).numpy()  # IndexedSlices too
        np.testing.assert_allclose(g, expected, rtol=max(c.keras_rtol, 1e-10), atol=1e-12)
