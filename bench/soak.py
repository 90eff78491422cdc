"""Soak test (issue 12): many calls in one process keep resident memory flat.

One model predicts 100,000 times (alternating one row and 32 rows) and fits 200 times (a few
epochs each, with a validation split, so History objects, callback lists, progress state and the
engine's workspaces are made and dropped again and again). Resident memory (VmRSS from
/proc/self/status) is sampled after a warm-up and at the end of each phase; the growth after
warm-up must stay under 5 MB. A benchmark script, not a timed test: it runs for a minute or two.

Then 20,000 rounds of train_on_batch + predict (+ evaluate every 10th) on batches of 1 to 64 rows.

Usage: python bench/soak.py [--predicts 100000] [--fits 200] [--varied 20000] [--limit-mb 5]
Exits with status 1 when memory grows by more than the limit.
"""

import argparse
import gc
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from fastdense import layers, models  # noqa: E402

from machine import cpu_model  # noqa: E402  (bench/ is the script's directory)


def resident_mb():
    """The process's resident memory (VmRSS), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line in /proc/self/status")


def build_model():
    inputs = layers.Input((20,))
    h = layers.Dense(64, activation="relu")(inputs)
    h = layers.Dense(64, activation="relu")(h)
    outputs = layers.Dense(3, activation="softmax")(h)
    model = models.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def predict_calls(model, rows_one, rows_batch, count):
    for i in range(count):
        model.predict(rows_one if i % 2 == 0 else rows_batch, verbose=0)


def varied_calls(model, x, y, count):
    """train_on_batch, evaluate and predict on batches of every size from 1 to 64 rows: caches or
    workspaces kept per batch shape would grow here."""
    for i in range(count):
        rows = 1 + i % 64
        model.train_on_batch(x[:rows], y[:rows])
        model.predict(x[:rows], verbose=0)
        if i % 10 == 0:
            model.evaluate(x[:rows], y[:rows], verbose=0)


def fit_calls(model, x, y, count):
    for _ in range(count):
        model.fit(x, y, batch_size=32, epochs=3, validation_split=0.2, verbose=0)


def run_phase(calls, total):
    """Runs calls(count) for `total` calls in ten chunks, sampling resident memory after each chunk.
    Returns (seconds, resident MB after a final collection, the samples)."""
    samples = []
    started = time.perf_counter()
    chunk = max(1, total // 10)
    for done in range(0, total, chunk):
        calls(min(chunk, total - done))
        samples.append(resident_mb())
    seconds = time.perf_counter() - started
    gc.collect()
    return seconds, resident_mb(), samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predicts", type=int, default=100_000)
    parser.add_argument("--fits", type=int, default=200)
    parser.add_argument("--varied", type=int, default=20_000)
    parser.add_argument("--limit-mb", type=float, default=5.0)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    rows_one = rng.normal(size=(1, 20)).astype(np.float32)
    rows_batch = rng.normal(size=(32, 20)).astype(np.float32)
    x = rng.normal(size=(512, 20)).astype(np.float32)
    y = rng.integers(0, 3, size=512)
    model = build_model()

    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs), OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, Python {platform.python_version()}")
    started_mb = resident_mb()
    # Warm-up: every path once and then some, so that lazily built things (the networks, their
    # workspaces, allocator arenas, caches keyed by shape) exist before the baseline is taken.
    predict_calls(model, rows_one, rows_batch, 2_000)
    fit_calls(model, x, y, 10)
    varied_calls(model, x, y, 640)
    gc.collect()
    baseline_mb = resident_mb()
    print(f"resident memory: {started_mb:.1f} MB at start, {baseline_mb:.1f} MB after warm-up")

    predict_seconds, after_predict_mb, samples = run_phase(
        lambda count: predict_calls(model, rows_one, rows_batch, count), args.predicts)
    print(f"{args.predicts:,} predict calls (1 and 32 rows) in {predict_seconds:.1f} s "
          f"({predict_seconds / args.predicts * 1e6:.1f} us per call): {after_predict_mb:.1f} MB "
          f"({after_predict_mb - baseline_mb:+.2f} MB); samples {', '.join(f'{s:.1f}' for s in samples)}")

    fit_seconds, end_mb, samples = run_phase(lambda count: fit_calls(model, x, y, count), args.fits)
    print(f"{args.fits} fit calls (3 epochs of 410 rows + validation) in {fit_seconds:.1f} s: {end_mb:.1f} MB "
          f"({end_mb - after_predict_mb:+.2f} MB); samples {', '.join(f'{s:.1f}' for s in samples)}")

    started = time.perf_counter()
    varied_calls(model, x, y, args.varied)
    varied_seconds = time.perf_counter() - started
    gc.collect()
    varied_mb = resident_mb()
    print(f"{args.varied:,} rounds of train_on_batch + predict on 1..64 rows in {varied_seconds:.1f} s: "
          f"{varied_mb:.1f} MB ({varied_mb - end_mb:+.2f} MB)")
    end_mb = varied_mb

    growth = end_mb - baseline_mb
    verdict = "OK" if growth < args.limit_mb else "FAIL"
    print(f"growth after warm-up: {growth:+.2f} MB (limit {args.limit_mb:g} MB): {verdict}")
    return 0 if growth < args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
