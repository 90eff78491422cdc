"""Throughput of concurrent predictions on one model (issue 12's concurrency contract).

With one compute thread per call (OMP_NUM_THREADS=1, set here before fastdense loads), two
Python threads each predict 1,000-row batches on the same model at once; the same calls made one
after another are the baseline. The ratio (serial time / concurrent time) is 2 for perfectly
parallel calls on two free cores and 1 for calls that serialize; the target is >= 1.4.
Also reports the latency of predicting one row (model.predict and the native call alone).

Usage: python bench/concurrent_predict.py [--repeats 5] [--calls 40]
"""

import argparse
import os
import statistics
import sys
import threading
import time

os.environ["OMP_NUM_THREADS"] = "1"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from fastdense import layers, models  # noqa: E402


def build_model():
    inputs = layers.Input((64,))
    h = layers.Dense(256, activation="relu")(inputs)
    h = layers.Dense(256, activation="relu")(h)
    outputs = layers.Dense(10, activation="softmax")(h)
    return models.Model(inputs, outputs)


def serial_seconds(model, batches):
    started = time.perf_counter()
    for x in batches:
        model.predict(x, verbose=0)
    return time.perf_counter() - started


def concurrent_seconds(model, batches, threads=2):
    shares = [batches[k::threads] for k in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def worker(share):
        barrier.wait()
        for x in share:
            model.predict(x, verbose=0)

    pool = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    return time.perf_counter() - started


def one_row_latency_us(fn, calls=2000):
    for _ in range(200):
        fn()
    times = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls // 5):
            fn()
        times.append((time.perf_counter() - started) / (calls // 5) * 1e6)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=40, help="1,000-row predictions per measurement")
    args = parser.parse_args()
    model = build_model()
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(1000, 64)).astype(np.float32) for _ in range(args.calls)]
    model.predict(batches[0], verbose=0)  # builds the network and a workspace
    ratios = []
    for r in range(args.repeats):
        serial = serial_seconds(model, batches)
        concurrent = concurrent_seconds(model, batches)
        ratios.append(serial / concurrent)
        print(f"repeat {r}: serial {serial * 1e3:.1f} ms, two threads {concurrent * 1e3:.1f} ms, "
              f"ratio {ratios[-1]:.2f}x")
    print(f"ratio: median {statistics.median(ratios):.2f}x, range {min(ratios):.2f}x - {max(ratios):.2f}x "
          f"(target >= 1.4x)")

    small = models.Sequential([layers.Input((10,)), layers.Dense(64, activation="relu"),
                               layers.Dense(64, activation="relu"), layers.Dense(1)])
    one = rng.normal(size=(1, 10)).astype(np.float32)
    small.predict(one, verbose=0)
    network = small._native
    print(f"one row, 10-64-64-1: model.predict {one_row_latency_us(lambda: small.predict(one, verbose=0)):.1f} us, "
          f"native Network.predict {one_row_latency_us(lambda: network.predict([one], 1)):.2f} us")


if __name__ == "__main__":
    main()
