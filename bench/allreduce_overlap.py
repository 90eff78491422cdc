"""Would overlapping the gradient allreduce with the rest of the backward pass pay on this machine?

    python bench/allreduce_overlap.py [--repeats 5]

Horovod's early start sends the last layers' gradients while backward computes the first
layers'. That hides the allreduce only if the allreduce progresses while the rank computes. This
probe measures it on 2 ranks (`mpiexec -n 2`, one compute thread per rank, as bench/scaling.py
trains), with the sizes of the two benchmark models: the allreduce of the gradients backward has
produced before the first layer (the last layers' weights and biases) against the first layer's
weight-gradient product (x^T·delta, one thread), in five ways:

- sequential: product, then MPI_Allreduce (what fastdense does: one fused allreduce after backward);
- early start: MPI_Iallreduce, product, MPI_Wait (MPI progresses only inside MPI calls);
- early start + tests: the product in 32 row blocks with MPI_Test between them (progress calls);
- communication thread: a blocking MPI_Allreduce in a second thread during the product (Horovod's
  background thread);
- MPICH's progress thread (MPIR_CVAR_ASYNC_PROGRESS=1, its own job): early start as above.

Saving = sequential − the best overlapped way; at most min(allreduce, product) can be hidden. Writes
bench/results/allreduce_overlap.json and .md with the CPU model, ISA flags, the MPI library and
the load average.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from machine import cpu_description  # noqa: E402  (bench/ is the script's directory)

HERE = os.path.dirname(os.path.abspath(__file__))

# (gradients ready before the first layer's backward, first layer's x^T·delta product: k, m, n)
CASES = {
    "1024-4096-4096-1024": {"early_floats": 4096 * 4096 + 4096 + 4096 * 1024 + 1024, "product": (1024, 1024, 4096)},
    "784-256-256-10": {"early_floats": 256 * 256 + 256 + 256 * 10 + 10, "product": (784, 256, 256)},
}
MODES = ("sequential", "early_start", "early_start_tests", "communication_thread")


def worker(args):
    import numpy as np
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    case = CASES[args.case]
    buffer = np.ones(case["early_floats"], np.float32)
    k, m, n = case["product"]
    rng = np.random.default_rng(comm.rank)
    x_t, delta = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
    pieces = 32

    def product():
        return x_t @ delta

    def product_with_tests(request):
        rows = -(-m // pieces)
        for start in range(0, m, rows):
            x_t[start:start + rows] @ delta
            request.Test()

    def run(mode):
        comm.Barrier()
        started = time.perf_counter()
        if mode == "allreduce":
            comm.Allreduce(MPI.IN_PLACE, buffer)
        elif mode == "product":
            product()
        elif mode == "sequential":
            product()
            comm.Allreduce(MPI.IN_PLACE, buffer)
        elif mode == "early_start":
            request = comm.Iallreduce(MPI.IN_PLACE, buffer)
            product()
            request.Wait()
        elif mode == "early_start_tests":
            request = comm.Iallreduce(MPI.IN_PLACE, buffer)
            product_with_tests(request)
            request.Wait()
        elif mode == "communication_thread":
            thread = threading.Thread(target=comm.Allreduce, args=(MPI.IN_PLACE, buffer))
            thread.start()
            product()
            thread.join()
        seconds = time.perf_counter() - started
        return max(comm.allgather(seconds))

    modes = ("allreduce", "product") + (("early_start",) if args.async_progress else MODES)
    for mode in modes:  # warm-up
        run(mode)
    times = {mode: [] for mode in modes}
    for _ in range(args.repeats):
        for mode in modes:  # interleaved, so that load changes hit every mode alike
            times[mode].append(run(mode))
    if comm.rank == 0:
        print(json.dumps({"case": args.case, "async_progress": args.async_progress, "times": times,
                          "mpi": " ".join(MPI.Get_library_version().splitlines()[0].split()),
                          "thread_level": MPI.Query_thread()}), flush=True)


def mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else "mpiexec"


def measure(case, repeats, async_progress):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    if async_progress:
        env["MPIR_CVAR_ASYNC_PROGRESS"] = "1"
    command = [mpiexec(), "-n", "2", sys.executable, os.path.abspath(__file__), "--worker", "--case", case,
               "--repeats", str(repeats)] + (["--async-progress"] if async_progress else [])
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--async-progress", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    cpu, isa = cpu_description()
    load_before = os.getloadavg()
    results = []
    for case in CASES:
        for async_progress in (False, True):
            results.append(measure(case, args.repeats, async_progress))
    report = {"cpu": cpu, "isa": isa, "cores": os.cpu_count(), "mpi": results[0]["mpi"],
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "repeats": args.repeats,
              "load_average_before": load_before, "load_average_after": os.getloadavg(), "results": results}

    def median_ms(values):
        return 1e3 * statistics.median(values)

    lines = [f"Allreduce/backward overlap probe (bench/allreduce_overlap.py), 2 ranks, 1 compute thread each, "
             f"{cpu} ({', '.join(isa) or 'no AVX2'}), {os.cpu_count()} cores, {report['mpi']}, {report['date']}, "
             f"median of {args.repeats} (interleaved); load average {load_before[0]:.1f} before, "
             f"{report['load_average_after'][0]:.1f} after (shared machine)", "",
             "| model | MPI progress | allreduce of the early gradients | first layer's product | sequential | "
             "early start | early start + MPI_Test | communication thread | sequential − best overlapped |",
             "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        t = {mode: median_ms(values) for mode, values in result["times"].items()}
        sequential = t.get("sequential")
        overlapped = [t[mode] for mode in ("early_start", "early_start_tests", "communication_thread") if mode in t]
        cells = [f"{t[mode]:.2f} ms" if mode in t else "—" for mode in
                 ("allreduce", "product", "sequential", "early_start", "early_start_tests", "communication_thread")]
        if sequential is not None:
            saving = sequential - min(overlapped)
            saving_text = f"{saving:.2f} ms (at most {min(t['allreduce'], t['product']):.2f} ms could be hidden)"
        else:
            saving_text = "(against the sequential row above)"
        lines.append(f"| {result['case']} | {'MPICH progress thread' if result['async_progress'] else 'in MPI calls'} | "
                     + " | ".join(cells) + f" | {saving_text} |")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "allreduce_overlap.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(args.out, "allreduce_overlap.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
