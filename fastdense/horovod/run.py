"""`horovodrun`-style launcher: `python -m fastdense.horovod.run -np 4 train.py [args]` runs
`mpiexec -n 4 <this python> train.py [args]` (MPICH's mpiexec from the mpich wheel, next to this
Python, else the first on PATH). -H host1:2,host2:2 / --hostfile pass hosts to mpiexec;
--timeout sets FASTDENSE_MPI_TIMEOUT for every rank.

On one machine the ranks are bound to cores (--bind-to auto): each rank to cores // np of the
cores this process may use, so that its engine (whose OpenMP team is as large as the cores a rank
may run on) and the other ranks never share a core. MPICH binds nothing by default; measured on a
2-core VM, 2 single-threaded ranks of 784-256-256-10 ran 1.77x one rank bound, 1.54x unbound (one
rank kept reaching each step's barrier late). --bind-to none turns it off, any other value is
passed to mpiexec's -bind-to (core, core:2, socket, ...)."""

import argparse
import os
import shutil
import sys


def mpiexec_path():
    beside_python = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(beside_python, os.X_OK):
        return beside_python
    found = shutil.which("mpiexec")
    if found is None:
        raise SystemExit("fastdense.horovod.run: mpiexec not found; pip install 'fastdense[mpi]'")
    return found


def physical_cores():
    """The physical cores among the CPUs this process may run on (Linux's topology files; the
    CPU count where they cannot be read)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    cores = set()
    for cpu in cpus:
        topology = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(topology + "physical_package_id") as package, open(topology + "core_id") as core:
                cores.add((package.read().strip(), core.read().strip()))
        except OSError:
            return len(cpus)
    return len(cores)


def automatic_binding(ranks, hosts_given, cores=None, omp_threads=None):
    """mpiexec's -bind-to value for --bind-to auto, or None: bind only on this machine (no hosts
    given), with at least a core per rank, and not below a thread count the user set."""
    if hosts_given:
        return None
    cores = physical_cores() if cores is None else cores
    per_rank = cores // ranks
    if per_rank < 1:
        return None
    if omp_threads is not None and omp_threads > per_rank:
        return None  # OMP_NUM_THREADS asks for more threads than a rank's cores: the user's layout
    return "core" if per_rank == 1 else f"core:{per_rank}"


def omp_num_threads():
    try:
        return int(os.environ["OMP_NUM_THREADS"].split(",")[0])
    except (KeyError, ValueError):
        return None


def command_line(argv):
    """The mpiexec command and the environment additions for these arguments."""
    parser = argparse.ArgumentParser(prog="python -m fastdense.horovod.run", description=__doc__)
    parser.add_argument("-np", "--num-proc", type=int, required=True, help="number of processes (ranks)")
    parser.add_argument("-H", "--hosts", help="host1:slots,host2:slots (Horovod's syntax)")
    parser.add_argument("--hostfile", help="an MPICH machine file")
    parser.add_argument("--timeout", type=float, help="seconds before a stalled collective fails (FASTDENSE_MPI_TIMEOUT)")
    parser.add_argument("--bind-to", default="auto",
                        help="auto (the default: on one machine, each rank to cores // np cores), none, or "
                             "mpiexec's -bind-to value (core, core:2, socket, ...)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the script (or program) and its arguments")
    args = parser.parse_args(argv)
    if args.num_proc < 1:
        parser.error("-np must be at least 1")
    if not args.command:
        parser.error("give the training script to run")
    command = list(args.command)
    if command[0].endswith(".py"):
        command = [sys.executable] + command
    binding = args.bind_to
    if binding == "auto":
        binding = automatic_binding(args.num_proc, bool(args.hosts or args.hostfile), omp_threads=omp_num_threads())
    elif binding == "none":
        binding = None
    launcher = [mpiexec_path()] + (["-bind-to", binding] if binding else []) + ["-n", str(args.num_proc)]
    if args.hosts:
        launcher += ["-hosts", args.hosts]
    if args.hostfile:
        launcher += ["-f", args.hostfile]
    env = {}
    if args.timeout is not None:
        if not args.timeout > 0:
            parser.error("--timeout must be positive")
        env["FASTDENSE_MPI_TIMEOUT"] = repr(args.timeout)
    return launcher + command, env


def main(argv=None):
    command, env = command_line(sys.argv[1:] if argv is None else argv)
    os.environ.update(env)
    os.execv(command[0], command)  # mpiexec replaces this process: signals and exit code are its own


if __name__ == "__main__":
    main()
