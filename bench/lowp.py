"""Reduced precision benchmark (issue 17): mixed_bfloat16 training and int8 prediction against
fastdense float32, PyTorch's bf16 autocast and onnxruntime's dynamic int8 quantization, in one
process with the configurations alternating, so every ratio compares timings of the same minutes
(the machine may be shared); onnxruntime alone runs in a process of its own (see ONNXRUNTIME_TIMER). Prints the CPU, its ISA flags and the paths fastdense took.

    python bench/lowp.py [--repeats 3] [--quick] [--json results.json] [--only wide,mnist,predict]

Each ratio is reported as median [min-max] over the repeats.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fastdense  # noqa: E402
from fastdense import backend, layers, mixed_precision, models, optimizers  # noqa: E402

from machine import cpu_model  # noqa: E402  (bench/ is the script's directory)

THREADS = fastdense.get_num_threads()


def data(samples, inputs, classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((samples, inputs)).astype(np.float32), rng.integers(0, classes, samples)


def fastdense_model(sizes, policy, seed=0):
    fastdense.utils.set_random_seed(seed)
    mixed_precision.set_global_policy(policy)
    try:
        stack = [layers.Input((sizes[0],))] + [layers.Dense(w, activation="relu") for w in sizes[1:-1]]
        return models.Sequential(stack + [layers.Dense(sizes[-1])])
    finally:
        mixed_precision.set_global_policy(None)


# ------------------------------------------------------------------------------- training
def fastdense_trainer(sizes, batch, policy):
    model = fastdense_model(sizes, policy)
    model.compile(optimizer=optimizers.Adam(1e-3), loss=fastdense.losses.SparseCategoricalCrossentropy(from_logits=True))

    def train(x, y):
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return train


def torch_trainer(sizes, batch, autocast):
    import torch

    torch.manual_seed(0)
    stack = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        stack += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*stack[:-1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()

    def train(x, y):
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        for start in range(0, len(x), batch):
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = loss_fn(model(xt[start:start + batch]), yt[start:start + batch])
            loss.backward()
            optimizer.step()
    return train


def time_training(trainers, sizes, batch, samples, repeats):
    """{name: [seconds per sample, one per repeat]}, the trainers alternating within each repeat."""
    x, y = data(samples, sizes[0], sizes[-1])
    warm = min(samples, 2 * batch)
    for train in trainers.values():
        train(x[:warm], y[:warm])
    times = {name: [] for name in trainers}
    for _ in range(repeats):
        for name, train in trainers.items():
            started = time.perf_counter()
            train(x, y)
            times[name].append((time.perf_counter() - started) / samples)
    return times


# ----------------------------------------------------------------------------- prediction
# onnxruntime is timed in a process of its own that has exited before fastdense is timed: its
# worker threads keep spinning after `session.run` returns and take the second core from whatever
# runs next in the same process (measured: fastdense's float32 predict 32 ms right after an
# onnxruntime call, 18 ms alone). Turning the spin off instead would slow onnxruntime itself.
ONNXRUNTIME_TIMER = """
import json, sys, time
import numpy as np
import onnxruntime as ort
path, x_path, batches, repeats, threads = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
x = np.load(x_path)
times = {}
for batch in batches:
    run = lambda: [session.run(None, {name: x[s:s + batch]}) for s in range(0, len(x), batch)]
    run()
    times[batch] = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times[batch].append((time.perf_counter() - started) / len(x))
print(json.dumps(times))
"""


def onnxruntime_int8_times(model, x, batches, repeats, workdir):
    """{batch: [seconds per sample]} of onnxruntime's dynamic int8 quantization of model's ONNX export."""
    import subprocess

    from onnxruntime.quantization import QuantType, quantize_dynamic

    float_path, int8_path = os.path.join(workdir, "model.onnx"), os.path.join(workdir, "model.int8.onnx")
    x_path = os.path.join(workdir, "x.npy")
    model.export(float_path, format="onnx")
    quantize_dynamic(float_path, int8_path, weight_type=QuantType.QInt8)
    np.save(x_path, x)
    done = subprocess.run([sys.executable, "-c", ONNXRUNTIME_TIMER, int8_path, x_path, json.dumps(list(batches)),
                           str(repeats), str(THREADS)], capture_output=True, text=True, timeout=1800, check=True)
    return {int(batch): times for batch, times in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def time_prediction(sizes, batches, samples, repeats, workdir):
    """{batch: {name: [seconds per sample]}} for float32, int8 (alternating, in this process) and
    onnxruntime's dynamic int8 (in its own process, first)."""
    float_model = fastdense_model(sizes, None)
    int8_model = fastdense_model(sizes, None)
    int8_model.set_weights(float_model.get_weights())
    x, _ = data(samples, sizes[0], sizes[-1], seed=1)
    onnxruntime_times = onnxruntime_int8_times(float_model, x, batches, repeats, workdir)
    int8_model.quantize("int8")
    results = {}
    for batch in batches:
        runners = {
            "float32": lambda: float_model.predict(x, batch_size=batch, verbose=0),
            "int8": lambda: int8_model.predict(x, batch_size=batch, verbose=0),
        }
        for run in runners.values():
            run()
        times = {name: [] for name in runners}
        for _ in range(repeats):
            for name, run in runners.items():
                started = time.perf_counter()
                run()
                times[name].append((time.perf_counter() - started) / samples)
        times["onnxruntime_int8"] = onnxruntime_times[batch]
        results[batch] = times
    return results


def ratio(slow, fast):
    """median [min-max] of slow/fast over the repeats (pairs taken in the same repeat)."""
    values = np.array(slow) / np.array(fast)
    return {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max())}


def show(label, r, target=None):
    goal = f"   (target {target})" if target else ""
    print(f"  {label:<58} {r['median']:6.2f}x  [{r['min']:.2f}-{r['max']:.2f}]{goal}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--only", default="wide,mnist,predict",
                        help="comma-separated cases: wide (1024-4096-4096-1024 training), mnist (784-256-256-10 "
                             "training), predict (int8 prediction); default all")
    args = parser.parse_args()
    cases = set(args.only.split(","))
    unknown = cases - {"wide", "mnist", "predict"}
    if unknown:
        parser.error(f"unknown case(s) for --only: {', '.join(sorted(unknown))}")
    scale = 8 if args.quick else 1
    info = backend.reduced_precision()
    report = {"cpu": cpu_model(), "threads": THREADS, "isa": info["isa"], "paths": {"bfloat16": info["bfloat16"],
              "int8": info["int8"]}, "repeats": args.repeats, "cases": sorted(cases), "ratios": {}}
    print(f"CPU: {report['cpu']}, {THREADS} threads")
    print("ISA: " + ", ".join(k for k, v in info["isa"].items() if v))
    print(f"paths taken: bfloat16 -> {info['bfloat16']}, int8 -> {info['int8']}")
    ratios = report["ratios"]
    # Issue 17's targets; on a path without the matrix units (emulated bfloat16, portable int8, or
    # forced with FASTDENSE_LOWP=emulated), the API must only cost at most 10% against float32.
    bf16_fallback, int8_fallback = info["bfloat16"] == "emulated", info["int8"] == "portable"
    fallback = ">= 0.9x (no bf16/int8 units: at most 10% slower)"

    if "wide" in cases:
        wide = [1024, 4096, 4096, 1024]
        trainers = {"float32": fastdense_trainer(wide, 512, None),
                    "mixed_bfloat16": fastdense_trainer(wide, 512, "mixed_bfloat16")}
        if not args.no_torch:
            import torch

            torch.set_num_threads(THREADS)
            trainers["torch_bf16_autocast"] = torch_trainer(wide, 512, True)
        times = time_training(trainers, wide, 512, 4096 // scale if args.quick else 4096, args.repeats)
        print("Training, 1024-4096-4096-1024, batch 512, Adam:")
        ratios["wide_bf16_vs_float32"] = ratio(times["float32"], times["mixed_bfloat16"])
        show("mixed_bfloat16 vs fastdense float32", ratios["wide_bf16_vs_float32"], fallback if bf16_fallback else ">= 3x")
        if "torch_bf16_autocast" in times:
            ratios["wide_bf16_vs_torch_autocast"] = ratio(times["torch_bf16_autocast"], times["mixed_bfloat16"])
            show("mixed_bfloat16 vs PyTorch bf16 autocast", ratios["wide_bf16_vs_torch_autocast"],
                 None if bf16_fallback else ">= 1.5x")
        report["wide_samples_per_s"] = {k: float(1 / np.median(v)) for k, v in times.items()}
        del trainers

    if "mnist" in cases:
        mnist = [784, 256, 256, 10]
        times = time_training({"float32": fastdense_trainer(mnist, 128, None),
                               "mixed_bfloat16": fastdense_trainer(mnist, 128, "mixed_bfloat16")},
                              mnist, 128, 15360 // scale, args.repeats)
        print("Training, 784-256-256-10, batch 128, Adam:")
        ratios["mnist_bf16_vs_float32"] = ratio(times["float32"], times["mixed_bfloat16"])
        show("mixed_bfloat16 vs fastdense float32", ratios["mnist_bf16_vs_float32"], fallback if bf16_fallback else ">= 1x")

    if "predict" in cases:
        with tempfile.TemporaryDirectory() as workdir:
            for sizes in ([256, 512, 512, 10], [1024, 4096, 4096, 1024]):
                name = "-".join(map(str, sizes))
                samples = (8192 if sizes[1] < 1024 else 2048) // scale
                results = time_prediction(sizes, (32, 256, 1024), samples, args.repeats, workdir)
                print(f"Prediction, {name}:")
                for batch, times in results.items():
                    key = f"predict_{name}_b{batch}"
                    ratios[key + "_int8_vs_float32"] = ratio(times["float32"], times["int8"])
                    ratios[key + "_int8_vs_onnxruntime"] = ratio(times["onnxruntime_int8"], times["int8"])
                    show(f"batch {batch}: int8 vs fastdense float32", ratios[key + "_int8_vs_float32"],
                         fallback if int8_fallback else ">= 3x")
                    show(f"batch {batch}: int8 vs onnxruntime quantize_dynamic", ratios[key + "_int8_vs_onnxruntime"],
                         None if int8_fallback else "> 1x")  # onnxruntime still takes this CPU's own units
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
