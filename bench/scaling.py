"""Data-parallel scaling of fastdense.horovod: samples/s of 2 ranks against 1, one compute
thread per rank (OMP_NUM_THREADS=1), on the 1024-4096-4096-1024 and 784-256-256-10 models.

    python bench/scaling.py [--repeats 3] [--hook native|native-mpi|python] [--models NAME ...] [--bind-to core] [--quick]

Each measurement is its own `mpiexec -n R` job (1 and 2 ranks alternate within a repeat, so
machine noise hits both alike). A control job runs 2 ranks that never average their gradients:
its speedup is the most this machine allowed at that moment (on a shared machine, far below 2). A rank trains `steps` batches of `batch` rows of its own shard
in one fit call, after a warm-up call; the time is the slowest rank's, between two barriers.
The job also times the gradient hook alone on a buffer of the model's fused size (the communication
term of docs/SCALING.md). Writes bench/results/scaling.json and scaling.md (min / median / max
over repeats, with the CPU model and ISA flags, the engine build and gradient hook the ranks
ran, and the load average before each job) and prints the table. bench/allreduce_overlap.py
measures whether an early-started allreduce would overlap with backward on this machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from machine import cpu_description  # noqa: E402  (bench/ is the script's directory)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MODELS = {
    "1024-4096-4096-1024": {"sizes": [1024, 4096, 4096, 1024], "batch": 1024, "steps": 4, "target": 1.8},
    "784-256-256-10": {"sizes": [784, 256, 256, 10], "batch": 256, "steps": 200, "target": 1.6},
}


def worker(args):
    """One rank of a measurement job: prints a JSON line on rank 0."""
    import numpy as np

    import fastdense as fd
    import fastdense.horovod as hvd
    from fastdense.horovod import runtime

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
    # The exchange as a step runs it: the gradient hook on a buffer of the model's fused size.
    hook = runtime.group().gradient_hook()
    native = isinstance(hook, fd._core.MpiGradientAllreduce)
    hook_path = "none" if hook is None else (f"native-{hook.path}" if native else "python")
    allreduce_seconds = None
    if hook is not None:
        allreduce_seconds = statistics.median(time_exchange(hook, parameters + 1, batch, 6)[2:])
    if hvd.rank() == 0:
        print(json.dumps({"model": args.model, "ranks": hvd.size(), "batch_per_rank": batch, "steps": steps,
                          "engine_build": fd.core_isa, "engine_threads": fd.get_num_threads(), "hook_path": hook_path,
                          "seconds": seconds, "samples_per_second": hvd.size() * rows / seconds,
                          "seconds_per_step": seconds / steps, "parameters": int(parameters),
                          "allreduce_seconds": allreduce_seconds}), flush=True)


def time_exchange(hook, size, batch, repeats):
    """Seconds of each of `repeats` gradient exchanges of `size` float32 values, as a training
    step runs them: packed into the hook's buffer (the shared segment on the shared-memory path),
    then averaged. The first two touch the (two) buffers."""
    import numpy as np

    import fastdense as fd
    import fastdense.horovod as hvd

    native = isinstance(hook, fd._core.MpiGradientAllreduce)
    times = []
    for _ in range(repeats):
        buffer = hook.gradient_buffer(size, np.dtype(np.float32)) if native else np.empty(size, np.float32)
        buffer.fill(1.0)  # the pack (outside the timing: a step packs on every path)
        buffer[-1] = batch
        hvd.barrier()
        started = time.perf_counter()
        (hook.average if native else hook)(buffer)
        times.append(time.perf_counter() - started)
    return times


def exchange_worker(args):
    """--exchange: the gradient exchange alone on 2+ ranks, the hooks alternating in one job
    (so machine noise hits them alike); prints one JSON line on rank 0."""
    import numpy as np

    import fastdense.horovod as hvd
    from fastdense.horovod import process_group, runtime

    hvd.init()
    sizes = MODELS[args.model]["sizes"]
    size = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + 1
    hooks = {}
    for choice in ("native", "native-mpi", "python"):
        os.environ[process_group.HOOK_VARIABLE] = choice
        hooks[choice] = runtime.group().gradient_hook()
    hooks["native (copying in)"] = hooks["native"].average  # the same hook, given a buffer of its own
    times = {name: [] for name in hooks}
    for _ in range(args.exchange_repeats):
        for name, hook in hooks.items():
            times[name] += time_exchange(hook, size, MODELS[args.model]["batch"], 3)[2:]
    if hvd.rank() == 0:
        print(json.dumps({"model": args.model, "values": size, "ranks": hvd.size(), "paths": hooks["native"].path,
                          "milliseconds": {name: spread([t * 1e3 for t in ts]) for name, ts in times.items()}}),
              flush=True)


# The ring-allreduce cost model of docs/SCALING.md.
LINKS_GBIT = (10, 25, 100)
RANKS = (8, 64)
LATENCY_SECONDS = 20e-6  # per message on TCP over Ethernet (about 2e-6 with RDMA)
MEMORY_BYTES_PER_SECOND = 10e9  # one core packing and scaling the fused buffer (3 passes)


def expected_efficiency(step_seconds, parameters, ranks, link_gbit, latency=LATENCY_SECONDS):
    """T_step / (T_step + T_allreduce + T_pack), with T_allreduce = 2(N-1)/N · bytes / bandwidth
    + 2(N-1) · latency (ring: reduce-scatter then allgather, N-1 messages each) and T_pack = 3 ·
    bytes / memory bandwidth; no overlap of communication with the backward pass."""
    nbytes = 4 * (parameters + 1)
    allreduce = 2 * (ranks - 1) / ranks * nbytes / (link_gbit * 1e9 / 8) + 2 * (ranks - 1) * latency
    pack = 3 * nbytes / MEMORY_BYTES_PER_SECOND
    return step_seconds / (step_seconds + allreduce + pack), allreduce, pack


def cost_model_lines(report):
    lines = ["| model | parameters | batch/rank | T_step (1 rank, median) | link | T_allreduce N=8 | efficiency N=8 | "
             "T_allreduce N=64 | efficiency N=64 |", "|---|---|---|---|---|---|---|---|---|"]
    for name, result in report["models"].items():
        step = result["seconds_per_step"]["median"]
        for link in LINKS_GBIT:
            cells = []
            for ranks in RANKS:
                efficiency, allreduce, _ = expected_efficiency(step, result["parameters"], ranks, link)
                cells += [f"{allreduce * 1e3:.2f} ms", f"{efficiency:.0%}"]
            lines.append(f"| {name} | {result['parameters']:,} | {MODELS[name]['batch']} | {step * 1e3:.1f} ms | "
                         f"{link} Gbit/s | " + " | ".join(cells) + " |")
    return lines


def mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else "mpiexec"


def measure(model, ranks, hook, steps, bind_to=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", FASTDENSE_MPI_GRADIENT_HOOK=hook,
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    binding = ["-bind-to", bind_to] if bind_to else []
    command = [mpiexec(), *binding, "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker",
               "--model", model]
    if steps:
        command += ["--steps", str(steps)]
    load_before = os.getloadavg()[0]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]), load_average_before=load_before)


def exchange(args):
    cpu, isa = cpu_description()
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    for name in args.models:
        command = [mpiexec(), "-n", "2", sys.executable, os.path.abspath(__file__), "--exchange-worker",
                   "--model", name, "--exchange-repeats", str(args.exchange_repeats)]
        load_before = os.getloadavg()[0]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{cpu} ({', '.join(isa)}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
              f"before {load_before:.1f}: gradient exchange of {name} ({report['values']:,} float32), 2 ranks, "
              f"{args.exchange_repeats} alternating repeats, ms min / median / max:")
        for hook, ms in report["milliseconds"].items():
            print(f"  {hook:20s} {ms['min']:8.1f} {ms['median']:8.1f} {ms['max']:8.1f}")


def spread(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def summarize(runs, hook, quick, repeats):
    cpu, isa = cpu_description()
    every_run = [r for name in runs for kind in runs[name].values() for r in kind]
    loads = [r["load_average_before"] for r in every_run]
    report = {"cpu": cpu, "isa": isa, "cores": os.cpu_count(), "hook": hook, "quick": quick, "repeats": repeats,
              "engine_build": every_run[0]["engine_build"],
              "hook_paths": sorted({r["hook_path"] for r in every_run}),
              "load_average_before_jobs": spread(loads), "load_average_after": os.getloadavg(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "models": {}}
    for name in runs:
        spec = MODELS[name]
        one = [r["samples_per_second"] for r in runs[name][1]]
        two = [r["samples_per_second"] for r in runs[name][2]]
        speedups = [b / a for a, b in zip(one, two)]  # each repeat's pair, measured back to back
        # The control: 2 ranks that never communicate. Its ratio to 1 rank is what the machine
        # allowed at that moment; two / independent is the cost of the gradient averaging.
        independent = [r["samples_per_second"] for r in runs[name]["independent"]]
        report["models"][name] = {
            "independent_speedup": spread([c / a for a, c in zip(one, independent)]),
            "relative_to_independent": spread([b / c for b, c in zip(two, independent)]),
            "runs": runs[name], "speedup": spread(speedups), "one_rank": spread(one), "two_ranks": spread(two),
            "seconds_per_step": spread([r["seconds_per_step"] for r in runs[name][1]]),
            "allreduce_seconds": spread([r["allreduce_seconds"] for r in runs[name][2]]),
            "batch_per_rank": spec["batch"], "target": spec["target"], "parameters": runs[name][1][0]["parameters"]}
    return report


def report_lines(report):
    def fmt(s, f):  # s is None in reports written before the control column existed
        return "n/a" if s is None else " / ".join(f.format(s[k]) for k in ("min", "median", "max"))

    load = report.get("load_average_before_jobs")  # absent in reports written before it was recorded
    load_text = (f"load average before the jobs {fmt(load, '{:.1f}')}" if load else
                 f"load average afterwards {report['load_average_after'][0]:.1f}")
    isa = report.get("isa")
    machine = report["cpu"] + (f" ({', '.join(isa) or 'no AVX2'})" if isa is not None else "")
    paths = (f"; engine build {report['engine_build']}, hook paths run {'/'.join(report['hook_paths'])}"
             if "hook_paths" in report else "")
    binding = f", mpiexec -bind-to {report['bind_to']}" if report.get("bind_to") else ""
    lines = [f"Data-parallel scaling (bench/scaling.py, {report['hook']} gradient hook, OMP_NUM_THREADS=1 per rank{binding}), "
             f"{machine}, {report['cores']} cores, {report['date']}, {report['repeats']} repeat(s): "
             f"min / median / max; {load_text} (shared machine){paths}",
             "",
             "| model | batch/rank | 1 rank samples/s | 2 ranks samples/s | speedup | target | "
             "2 independent ranks (no averaging) vs 1 | 2 ranks vs 2 independent | s/step (1 rank) | "
             "allreduce of the gradients (2 ranks) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["models"].items():
        lines.append(f"| {name} | {r['batch_per_rank']} | {fmt(r['one_rank'], '{:.0f}')} | "
                     f"{fmt(r['two_ranks'], '{:.0f}')} | {fmt(r['speedup'], '{:.2f}')}× | ≥ {r['target']}× | "
                     f"{fmt(r.get('independent_speedup'), '{:.2f}')}× | {fmt(r.get('relative_to_independent'), '{:.0%}')} | "
                     f"{fmt(r['seconds_per_step'], '{:.4f}')} | {fmt(r['allreduce_seconds'], '{:.4f}')} s |")
    lines += ["", "Expected efficiency beyond this machine (docs/SCALING.md's cost model, latency "
              f"{LATENCY_SECONDS * 1e6:g} µs per message, packing at {MEMORY_BYTES_PER_SECOND / 1e9:g} GB/s):", ""]
    return lines + cost_model_lines(report)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hook", choices=("native", "native-mpi", "python"), default="native",
                        help="native: shared memory within the node (the default); native-mpi: one MPI_Iallreduce")
    parser.add_argument("--models", nargs="+", choices=tuple(MODELS), default=tuple(MODELS),
                        help="measure only these models")
    parser.add_argument("--quick", action="store_true", help="few steps (checks that it runs; numbers meaningless)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--from-json", help="rewrite the Markdown table of an earlier run's JSON file")
    parser.add_argument("--exchange", action="store_true",
                        help="time only the gradient exchange on 2 ranks, every hook alternating in one job")
    parser.add_argument("--exchange-repeats", type=int, default=10)
    parser.add_argument("--bind-to", choices=("core", "hwthread", "socket"),
                        help="mpiexec -bind-to for every job, the 1-rank one too (MPICH binds nothing by default)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--exchange-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.exchange_worker:
        return exchange_worker(args)
    if args.exchange:
        return exchange(args)

    if args.from_json:
        with open(args.from_json) as f:
            report = json.load(f)
    else:
        runs = {name: {1: [], 2: [], "independent": []} for name in args.models}
        for repeat in range(args.repeats):
            for name in args.models:
                for ranks, hook in ((1, args.hook), (2, args.hook), (2, "none")):
                    run = measure(name, ranks, hook, 2 if args.quick else None, args.bind_to)
                    runs[name][ranks if hook != "none" else "independent"].append(run)
                    print(f"repeat {repeat + 1}: {name} {ranks} rank(s), {hook} hook: "
                          f"{run['samples_per_second']:.1f} samples/s", flush=True)
        report = summarize(runs, args.hook, args.quick, args.repeats)
        report["bind_to"] = args.bind_to
    lines = report_lines(report)
    os.makedirs(args.out, exist_ok=True)
    suffix = "-quick" if report["quick"] else ("" if report["hook"] == "native" else "-" + report["hook"])
    suffix += f"-bind-{report['bind_to']}" if report.get("bind_to") else ""
    with open(os.path.join(args.out, f"scaling{suffix}.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(args.out, f"scaling{suffix}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
