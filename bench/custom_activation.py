"""Cost of a custom activation inside fit: scaled_tanh (NumPy, run through fastdense.autodiff in a
Python node) against the built-in tanh (native), in a 784-256-256-10 model.

Both models have the same weights and data (batch 128, softmax + categorical crossentropy, Adam).
Prints seconds per epoch (best of alternating repeats) and the ratio custom / built-in.

    [OMP_NUM_THREADS=N] python bench/custom_activation.py [--samples 4096] [--epochs 2] [--repeats 5] [--json]
"""

import argparse
import json
import os
import time

import numpy as np


def scaled_tanh(x):
    return 1.7159 * np.tanh(2.0 / 3.0 * x)


def build(activation, weights):
    from fastdense import layers, models, optimizers

    model = models.Sequential([layers.Input((784,)), layers.Dense(256, activation=activation),
                               layers.Dense(256, activation=activation), layers.Dense(10, activation="softmax")])
    model.set_weights(weights)
    model.compile(optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model


def epoch_seconds(model, x, y, epochs):
    model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)  # builds the network, warms caches
    started = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=0, shuffle=False)
    return (time.perf_counter() - started) / epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = parser.parse_args()

    from fastdense import layers, models

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.samples, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.samples)]
    reference = models.Sequential([layers.Input((784,)), layers.Dense(256), layers.Dense(256), layers.Dense(10)])
    weights = reference.get_weights()

    builtin, custom = build("tanh", weights), build(scaled_tanh, weights)
    kinds = custom._native_network([(None, 10)]).layer_kinds
    best = {"tanh": float("inf"), "scaled_tanh": float("inf")}
    for _ in range(args.repeats):  # alternate so that load changes hit both alike
        best["tanh"] = min(best["tanh"], epoch_seconds(builtin, x, y, args.epochs))
        best["scaled_tanh"] = min(best["scaled_tanh"], epoch_seconds(custom, x, y, args.epochs))
    ratio = best["scaled_tanh"] / best["tanh"]
    steps = -(-args.samples // 128)
    result = {"samples": args.samples, "steps_per_epoch": steps, "tanh_s": best["tanh"],
              "scaled_tanh_s": best["scaled_tanh"], "ratio": ratio,
              "python_us_per_step": (best["scaled_tanh"] - best["tanh"]) / steps * 1e6,
              "threads": os.environ.get("OMP_NUM_THREADS", "default"), "custom_nodes": kinds}
    if args.json:
        print(json.dumps(result))
        return
    print(f"784-256-256-10, batch 128, {args.samples} samples ({steps} steps/epoch), best of {args.repeats}")
    print(f"  nodes of the custom model: {', '.join(kinds)}")
    print(f"  built-in tanh       {best['tanh']:.4f} s/epoch")
    print(f"  custom scaled_tanh  {best['scaled_tanh']:.4f} s/epoch")
    print(f"  ratio custom / built-in: {ratio:.2f}x "
          f"(+{result['python_us_per_step']:.0f} us per step for two Python activation nodes)")


if __name__ == "__main__":
    main()
