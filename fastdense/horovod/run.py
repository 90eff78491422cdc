"""`horovodrun`-style launcher: `python -m fastdense.horovod.run -np 4 train.py [args]` runs
`mpiexec -n 4 <this python> train.py [args]` (MPICH's mpiexec from the mpich wheel, next to this
Python, else the first on PATH). -H host1:2,host2:2 / --hostfile pass hosts to mpiexec;
--timeout sets FASTDENSE_MPI_TIMEOUT for every rank."""

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


def command_line(argv):
    """The mpiexec command and the environment additions for these arguments."""
    parser = argparse.ArgumentParser(prog="python -m fastdense.horovod.run", description=__doc__)
    parser.add_argument("-np", "--num-proc", type=int, required=True, help="number of processes (ranks)")
    parser.add_argument("-H", "--hosts", help="host1:slots,host2:slots (Horovod's syntax)")
    parser.add_argument("--hostfile", help="an MPICH machine file")
    parser.add_argument("--timeout", type=float, help="seconds before a stalled collective fails (FASTDENSE_MPI_TIMEOUT)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the script (or program) and its arguments")
    args = parser.parse_args(argv)
    if args.num_proc < 1:
        parser.error("-np must be at least 1")
    if not args.command:
        parser.error("give the training script to run")
    command = list(args.command)
    if command[0].endswith(".py"):
        command = [sys.executable] + command
    launcher = [mpiexec_path(), "-n", str(args.num_proc)]
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
