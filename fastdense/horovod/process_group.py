"""The processes that train together: MPI_COMM_WORLD through mpi4py under `mpiexec`, or this
process alone (size 1) when the script was started without a launcher.

Every collective is non-blocking with a deadline (`Ixxx` + `Test` until done, or until
`FASTDENSE_MPI_TIMEOUT` seconds pass): a rank that died or stalls makes the others raise
`CollectiveTimeout` instead of waiting forever, and the excepthook installed by `MpiGroup`
turns any uncaught exception into `MPI_Abort`, which ends every rank of the job (with plain
mpi4py an exception on one rank leaves the others blocked in their next collective).

mpi4py is imported only here, and only when the process runs under an MPI launcher.
"""

import atexit
import os
import pickle
import sys
import time
import traceback

import numpy as np

TIMEOUT_VARIABLE = "FASTDENSE_MPI_TIMEOUT"
DEFAULT_TIMEOUT = 600.0  # seconds; a step of a large model on one core takes seconds, never minutes
# "native" (default where possible: shared memory between the ranks of a node, MPI between
# nodes), "native-mpi" (one MPI_Iallreduce, also within a node) or "python"; "none" makes the
# ranks train independently (bench/scaling.py's control: what 2 processes reach on the machine
# without communicating).
HOOK_VARIABLE = "FASTDENSE_MPI_GRADIENT_HOOK"
HOOK_CHOICES = ("native", "native-mpi", "python", "none")

# Variables that MPI launchers set in every rank's environment (MPICH's Hydra: PMI_*; Open MPI:
# OMPI_*; PMIx-based launchers: PMIX_RANK).
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")


# Polling a request: spin, then yield the core, then sleep (as the native hook, see
# src/bindings/mpi_gradient_allreduce.h for the measurements behind the spin time).
_SPIN_SECONDS, _YIELD_SECONDS = 50e-6, 0.05
_ABORT_GRACE_SECONDS = 0.5


class CollectiveTimeout(RuntimeError):
    """A collective did not complete in time: another rank died, stalled or left the loop."""


def timeout_seconds():
    """The deadline of one collective, from FASTDENSE_MPI_TIMEOUT (seconds, > 0)."""
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None or text == "":
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{TIMEOUT_VARIABLE} must be a positive number of seconds, got {text!r}")
    return value


def under_mpi_launcher():
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def create():
    """The group this process belongs to."""
    if not under_mpi_launcher():
        return LocalGroup()
    try:
        from mpi4py import MPI  # noqa: F401
    except ImportError:
        raise ImportError("This script runs under an MPI launcher but mpi4py is not installed: "
                          "pip install 'fastdense[mpi]'") from None
    return MpiGroup()


def _reduce(values, op):
    return values.sum(axis=0) if op == "sum" else values.mean(axis=0)


class LocalGroup:
    """One process: every collective returns its input (a copy, as the MPI group does)."""

    rank = local_rank = 0
    size = local_size = 1
    mpi = False

    def allreduce(self, array, op):
        return np.array(array, copy=True)

    def allgather(self, array):
        return np.array(array, copy=True)

    def broadcast(self, array, root_rank):
        return np.array(array, copy=True)

    def broadcast_object(self, obj, root_rank):
        return obj

    def allgather_object(self, obj):
        payload = np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)
        sizes = self.allgather(np.array([payload.size], dtype=np.int64))
        gathered = self.allgather(payload)
        return [pickle.loads(part.tobytes()) for part in np.split(gathered, np.cumsum(sizes)[:-1])]

    def barrier(self):
        pass

    def gradient_hook(self):
        return None  # nothing to average


class MpiGroup:
    """MPI_COMM_WORLD (mpi4py), with deadline-bounded collectives and abort on exceptions."""

    mpi = True

    def __init__(self):
        from mpi4py import MPI

        self._MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = timeout_seconds()
        _install_abort_on_exception(self.comm, self.rank)
        self._node = split_by_node(self.comm)
        self.local_rank, self.local_size = self._node.Get_rank(), self._node.Get_size()
        self._cross = self._node_peers_elsewhere()
        self._native_hooks = {}
        # Runs before mpi4py's MPI_Finalize (atexit is last-in first-out), which would otherwise
        # wait forever for a stalled rank.
        atexit.register(self._leave)

    def _leave(self):
        try:
            self._wait(self.comm.Ibarrier(), "the barrier at exit")
        except CollectiveTimeout as error:
            sys.stderr.write(f"{error}\n")
            sys.stderr.flush()
            time.sleep(_ABORT_GRACE_SECONDS)
            self.comm.Abort(1)

    def _node_peers_elsewhere(self):
        """The ranks with this node rank on the other nodes (the hierarchical gradient
        allreduce's second level), or None when the job runs on one node, or when its nodes
        hold different numbers of ranks (then the gradients take one MPI allreduce instead)."""
        local_sizes = self.allgather(np.array([self.local_size], dtype=np.int64))
        if self.local_size == self.size or local_sizes.min() != local_sizes.max():
            return None
        return self.comm.Split(color=self.local_rank, key=self.rank)

    # ------------------------------------------------------------------ waiting
    def _wait(self, request, what):
        """Polls `request` until it completes; CollectiveTimeout after the deadline."""
        start = time.monotonic()
        deadline = start + self.timeout
        while not request.Test():
            now = time.monotonic()
            if now > deadline:
                raise CollectiveTimeout(
                    f"fastdense.horovod: {what} on rank {self.rank} did not complete within {self.timeout:g} s "
                    f"({TIMEOUT_VARIABLE}): another rank died, stalled or left the training loop")
            # Spin for the first 50 us (ranks that arrive together finish within them), then give
            # the core to a preempted peer or another job, then sleep.
            if now - start > _SPIN_SECONDS:
                time.sleep(0 if now - start < _YIELD_SECONDS else 0.0005)

    # ------------------------------------------------------------------ collectives
    def allreduce(self, array, op):
        send = np.ascontiguousarray(array)
        if send.dtype == object:
            raise TypeError("allreduce takes numeric arrays")
        received = np.empty_like(send)
        self._wait(self.comm.Iallreduce(send, received, op=self._MPI.SUM), "allreduce")
        if op == "average":
            if np.issubdtype(received.dtype, np.floating) or np.issubdtype(received.dtype, np.complexfloating):
                return (received / received.dtype.type(self.size)).astype(received.dtype)
            return received / self.size
        return received

    def allgather(self, array):
        send = np.ascontiguousarray(array)
        if send.ndim == 0:
            send = send.reshape(1)
        rows = np.empty(self.size, dtype=np.int64)
        self._wait(self.comm.Iallgather(np.array([send.shape[0]], dtype=np.int64), rows), "allgather (sizes)")
        received = np.empty((int(rows.sum()),) + send.shape[1:], dtype=send.dtype)
        per_row = int(np.prod(send.shape[1:], dtype=np.int64))
        counts = [int(r) * per_row for r in rows]
        self._wait(self.comm.Iallgatherv(send, [received, counts]), "allgather")
        return received

    def broadcast(self, array, root_rank):
        buffer = np.array(array, copy=True, order="C")
        self._wait(self.comm.Ibcast(buffer, root=root_rank), "broadcast")
        return buffer

    def broadcast_object(self, obj, root_rank):
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL) if self.rank == root_rank else b""
        length = np.array([len(payload)], dtype=np.int64)
        self._wait(self.comm.Ibcast(length, root=root_rank), "broadcast_object (size)")
        buffer = np.frombuffer(payload, dtype=np.uint8).copy() if self.rank == root_rank else \
            np.empty(int(length[0]), dtype=np.uint8)
        self._wait(self.comm.Ibcast(buffer, root=root_rank), "broadcast_object")
        return obj if self.rank == root_rank else pickle.loads(buffer.tobytes())

    def allgather_object(self, obj):
        payload = np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)
        return [pickle.loads(part.tobytes()) for part in self._split(self.allgather(payload), payload.size)]

    def _split(self, gathered, own_size):
        sizes = self.allgather(np.array([own_size], dtype=np.int64))
        return np.split(gathered, np.cumsum(sizes)[:-1])

    def barrier(self):
        self._wait(self.comm.Ibarrier(), "barrier")

    # ------------------------------------------------------------------ training step
    def gradient_hook(self):
        """What `Network.set_gradient_hook` gets: the native MPI hook with MPICH (no Python per
        step), else a Python function calling mpi4py (the GIL taken once per step)."""
        if self.size == 1:  # mpiexec -n 1: nothing to average
            return None
        choice = os.environ.get(HOOK_VARIABLE, "native")
        if choice not in HOOK_CHOICES:
            raise ValueError(f"{HOOK_VARIABLE} must be one of {', '.join(map(repr, HOOK_CHOICES))}, got {choice!r}")
        if choice == "none":
            return None
        library = _loaded_libmpi() if self._MPI.get_vendor()[0] == "MPICH" else None
        if choice == "python" or library is None:
            return self._python_gradient_hook
        if choice not in self._native_hooks:  # one per process: its shared-memory windows are reused
            self._native_hooks[choice] = self._native_gradient_hook(library, shared=choice == "native")
        return self._native_hooks[choice]

    def _native_gradient_hook(self, library, shared):
        """Shared memory between the ranks of a node when `shared` and the node holds more than
        one rank; with several nodes, MPI between them if every node holds as many ranks
        (hierarchical), else one MPI allreduce for all (see mpi_gradient_allreduce.h)."""
        from fastdense.native.mpi_allreduce import gradient_allreduce

        MPI = self._MPI
        node = cross = None
        if shared and self.local_size > 1 and (self.local_size == self.size or self._cross is not None):
            node = _int_handle(MPI, self._node)
            cross = None if self._cross is None else _int_handle(MPI, self._cross)
        return gradient_allreduce(library, _int_handle(MPI, self.comm), _int_handle(MPI, MPI.FLOAT),
                                  _int_handle(MPI, MPI.DOUBLE), _int_handle(MPI, MPI.SUM), self.timeout,
                                  node_comm=node, cross_comm=cross)

    def _python_gradient_hook(self, buffer):
        """The sample-weighted mean of the fused gradients (see mpi_gradient_allreduce.h): the
        buffer ends with this rank's batch size."""
        gradients = buffer[:-1]
        gradients *= buffer[-1]
        self._wait(self.comm.Iallreduce(self._MPI.IN_PLACE, buffer, op=self._MPI.SUM), "gradient allreduce")
        gradients *= buffer.dtype.type(1) / buffer[-1]


def split_by_node(comm):
    """The ranks of `comm` that share this rank's memory (its node), in rank order."""
    from mpi4py import MPI

    return comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.Get_rank())


def _int_handle(MPI, obj):  # noqa: N803
    """MPICH's handle of an mpi4py object as the C int it is (mpi4py reports it unsigned, so the
    handles of derived communicators, 0x84000000 and up, would not fit an int)."""
    value = MPI._handleof(obj) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _loaded_libmpi():
    """The path of the libmpi shared library mpi4py loaded into this process, or None."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rsplit(None, 1)[-1]
                if os.path.basename(path).startswith("libmpi.so"):
                    return path
    except OSError:
        pass
    return None


def _install_abort_on_exception(comm, rank):
    """An uncaught exception on any rank prints its traceback, then aborts the whole job, so
    the other ranks end within seconds instead of waiting in their next collective."""
    previous = sys.excepthook

    def abort_job(kind, value, tb):
        try:
            message = "".join(traceback.format_exception(kind, value, tb))
            sys.stderr.write(f"fastdense.horovod: rank {rank} failed, aborting all ranks:\n{message}")
            sys.stderr.flush()
            # mpiexec tears its output forwarding down as soon as it learns of the abort: give it
            # a moment to pass the message on first.
            time.sleep(_ABORT_GRACE_SECONDS)
        finally:
            if kind is KeyboardInterrupt:
                previous(kind, value, tb)
            comm.Abort(1)

    sys.excepthook = abort_job
