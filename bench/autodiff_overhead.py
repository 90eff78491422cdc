"""Overhead of fastdense.autodiff on a custom activation: scaled_tanh on a (128, 256) float32 batch.

Compares, per batch: plain NumPy forward; the same forward traced (vjp); traced forward plus the
backward pass; a hand-written NumPy forward + derivative; and the built-in native tanh
activation (forward + backward). Prints microseconds per call (best of several repeats).

    python bench/autodiff_overhead.py [--rows 128] [--cols 256]
"""

import argparse
import timeit

import numpy as np

from fastdense import _core, autodiff


def scaled_tanh(x):
    return 1.7159 * np.tanh(2.0 / 3.0 * x)


def hand_written(x, dy):
    t = np.tanh(2.0 / 3.0 * x)
    y = 1.7159 * t
    dx = dy * (1.7159 * 2.0 / 3.0) * (1.0 - t * t)
    return y, dx


def traced_forward(x):
    return autodiff.vjp(scaled_tanh, x)


def traced_forward_backward(x, dy):
    y, pullback = autodiff.vjp(scaled_tanh, x)
    return y, pullback(dy).inputs[0]


def native_tanh(x, dy, config={"name": "tanh"}):
    y = _core.activation_forward(config, x)
    return y, _core.activation_backward(config, x, y, dy)


def best_microseconds(variants, number=50, rounds=40):
    """Best time per call of each variant; the variants alternate so that load changes hit all alike."""
    best = {name: float("inf") for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            best[name] = min(best[name], timeit.timeit(fn, number=number) / number * 1e6)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--cols", type=int, default=256)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, args.cols)).astype(np.float32)
    dy = rng.normal(size=(args.rows, args.cols)).astype(np.float32)

    y, dx = traced_forward_backward(x, dy)
    y_ref, dx_ref = hand_written(x, dy)
    np.testing.assert_allclose(y, y_ref, rtol=1e-6)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-6)

    tiny, tiny_dy = x[:1, :1].copy(), dy[:1, :1].copy()
    variants = {
        "numpy forward": lambda: scaled_tanh(x),
        "traced forward (vjp)": lambda: traced_forward(x),
        "numpy forward + hand-written derivative": lambda: hand_written(x, dy),
        "traced forward + backward": lambda: traced_forward_backward(x, dy),
        "native tanh activation forward + backward": lambda: native_tanh(x, dy),
        "(1, 1) batch: numpy forward": lambda: scaled_tanh(tiny),
        "(1, 1) batch: traced forward + backward": lambda: traced_forward_backward(tiny, tiny_dy),
    }
    print(f"scaled_tanh on a ({args.rows}, {args.cols}) float32 batch, microseconds per batch "
          "(best of alternating runs)")
    results = best_microseconds(variants)
    for name, us in results.items():
        print(f"  {name:<44} {us:8.1f}")
    forward_ratio = results["traced forward (vjp)"] / results["numpy forward"]
    print(f"  traced / plain forward:                       {forward_ratio:.2f}x")
    ratio = results["traced forward + backward"] / results["numpy forward + hand-written derivative"]
    print(f"  traced / hand-written forward + backward:     {ratio:.2f}x")
    fixed = results["(1, 1) batch: traced forward + backward"] - results["(1, 1) batch: numpy forward"]
    print(f"  fixed Python cost of tracing (3 ops, forward + backward): {fixed:.1f} us")


if __name__ == "__main__":
    main()
