"""init / rank / size: the process group of this job, created once by `init()`."""

import importlib.util

from fastdense.horovod import process_group

_group = None


def init(comm=None):
    """Joins the job's processes (MPI_COMM_WORLD under mpiexec, else this process alone).
    Calling it again is a no-op. `comm` other than None/COMM_WORLD is not supported."""
    global _group
    if comm is not None and not _is_comm_world(comm):
        raise NotImplementedError("fastdense.horovod.init: only MPI_COMM_WORLD (comm=None) is supported")
    if _group is None:
        _group = process_group.create()


def _is_comm_world(comm):
    try:
        from mpi4py import MPI
    except ImportError:
        return False
    return comm == MPI.COMM_WORLD or list(comm) == list(range(MPI.COMM_WORLD.Get_size()))


def shutdown():
    """Forgets the process group (MPI itself is finalized by mpi4py at exit)."""
    global _group
    _group = None


def group():
    if _group is None:
        raise ValueError("Horovod has not been initialized; use hvd.init().")
    return _group


def is_initialized():
    return _group is not None


def rank():
    return group().rank


def size():
    return group().size


def local_rank():
    return group().local_rank


def local_size():
    return group().local_size


def mpi_built():
    """Whether mpi4py is installed (Horovod: whether it was built with MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


def mpi_enabled():
    """Whether this job communicates through MPI (it runs under an MPI launcher)."""
    return group().mpi
