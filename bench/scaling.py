"""Data-parallel scaling of fastdense.horovod: samples/s of 2 ranks against 1, one compute
thread per rank (OMP_NUM_THREADS=1), on the 1024-4096-4096-1024 and 784-256-256-10 models.

    python bench/scaling.py [--repeats 3] [--hook native|python] [--quick]

Each measurement is its own `mpiexec -n R` job (1 and 2 ranks alternate within a repeat, so
machine noise hits both alike). A rank trains `steps` batches of `batch` rows of its own shard
in one fit call, after a warm-up call; the time is the slowest rank's, between two barriers.
The job also times the allreduce of the model's fused gradient buffer alone (the communication
term of docs/SCALING.md). Writes bench/results/scaling.json and scaling.md (min / median / max
over repeats, with the CPU model) and prints the table.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MODELS = {
    "1024-4096-4096-1024": {"sizes": [1024, 4096, 4096, 1024], "batch": 1024, "steps": 4, "target": 1.8},
    "784-256-256-10": {"sizes": [784, 256, 256, 10], "batch": 128, "steps": 300, "target": 1.6},
}


def worker(args):
    """One rank of a measurement job: prints a JSON line on rank 0."""
    import numpy as np

    import fastdense as fd
    import fastdense.horovod as hvd

    hvd.init()
    spec = MODELS[args.model]
    sizes, batch, steps = spec["sizes"], spec["batch"], args.steps or spec["steps"]
    fd.utils.set_random_seed(0)
    layers = [fd.Input((sizes[0],))]
    layers += [fd.layers.Dense(width, activation="relu") for width in sizes[1:-1]]
    classifier = sizes[-1] <= 10
    layers.append(fd.layers.Dense(sizes[-1], activation="softmax" if classifier else None))
    model = fd.Sequential(layers)
    model.compile(optimizer=hvd.DistributedOptimizer(fd.optimizers.SGD(0.001)),
                  loss="sparse_categorical_crossentropy" if classifier else "mse")
    rng = np.random.default_rng(hvd.rank())
    rows = batch * steps
    x = rng.normal(size=(rows, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], size=rows) if classifier else rng.normal(size=(rows, sizes[-1])).astype(np.float32)
    warmup = max(1, steps // 10)
    model.fit(x[:warmup * batch], y[:warmup * batch], batch_size=batch, shuffle=False, verbose=0,
              callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0)])
    hvd.barrier()
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, shuffle=False, verbose=0)
    seconds = time.perf_counter() - started
    seconds = float(hvd.allgather(np.array([seconds])).max())
    parameters = sum(w.size for w in model.trainable_weights)
    buffer = np.ones(parameters + 1, dtype=np.float32)
    allreduce_seconds = None
    if hvd.size() > 1:
        hvd.allreduce(buffer)
        hvd.barrier()
        started = time.perf_counter()
        for _ in range(5):
            hvd.allreduce(buffer)
        allreduce_seconds = (time.perf_counter() - started) / 5
    if hvd.rank() == 0:
        print(json.dumps({"model": args.model, "ranks": hvd.size(), "batch_per_rank": batch, "steps": steps,
                          "seconds": seconds, "samples_per_second": hvd.size() * rows / seconds,
                          "seconds_per_step": seconds / steps, "parameters": int(parameters),
                          "allreduce_seconds": allreduce_seconds}), flush=True)


def mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else "mpiexec"


def measure(model, ranks, hook, steps):
    env = dict(os.environ, OMP_NUM_THREADS="1", FASTDENSE_MPI_GRADIENT_HOOK=hook,
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    command = [mpiexec(), "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker", "--model", model]
    if steps:
        command += ["--steps", str(steps)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def spread(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hook", choices=("native", "python"), default="native")
    parser.add_argument("--quick", action="store_true", help="few steps (checks that it runs; numbers meaningless)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    runs = {name: {1: [], 2: []} for name in MODELS}
    for repeat in range(args.repeats):
        for name in MODELS:
            for ranks in (1, 2):
                run = measure(name, ranks, args.hook, 2 if args.quick else None)
                runs[name][ranks].append(run)
                print(f"repeat {repeat + 1}: {name} {ranks} rank(s): {run['samples_per_second']:.1f} samples/s",
                      flush=True)
    report = {"cpu": cpu_model(), "cores": os.cpu_count(), "hook": args.hook, "quick": args.quick,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "models": {}}
    lines = [f"Data-parallel scaling (bench/scaling.py, {args.hook} gradient hook, OMP_NUM_THREADS=1 per rank), "
             f"{report['cpu']}, {report['cores']} cores, {report['date']}, {args.repeats} repeat(s): min / median / max",
             "",
             "| model | batch/rank | 1 rank samples/s | 2 ranks samples/s | speedup | target | s/step (1 rank) | "
             "allreduce of the gradients (2 ranks) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, spec in MODELS.items():
        one = [r["samples_per_second"] for r in runs[name][1]]
        two = [r["samples_per_second"] for r in runs[name][2]]
        speedups = [b / a for a, b in zip(one, two)]  # each repeat's pair, measured back to back
        step = [r["seconds_per_step"] for r in runs[name][1]]
        comm = [r["allreduce_seconds"] for r in runs[name][2]]
        report["models"][name] = {"runs": runs[name], "speedup": spread(speedups), "one_rank": spread(one),
                                  "two_ranks": spread(two), "seconds_per_step": spread(step),
                                  "allreduce_seconds": spread(comm), "target": spec["target"],
                                  "parameters": runs[name][1][0]["parameters"]}

        def fmt(s, f):
            return " / ".join(f.format(s[k]) for k in ("min", "median", "max"))

        r = report["models"][name]
        lines.append(f"| {name} | {spec['batch']} | {fmt(r['one_rank'], '{:.0f}')} | {fmt(r['two_ranks'], '{:.0f}')} | "
                     f"{fmt(r['speedup'], '{:.2f}')}× | ≥ {spec['target']}× | {fmt(r['seconds_per_step'], '{:.4f}')} | "
                     f"{fmt(r['allreduce_seconds'], '{:.4f}')} s |")
    os.makedirs(args.out, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    with open(os.path.join(args.out, f"scaling{suffix}.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(args.out, f"scaling{suffix}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
