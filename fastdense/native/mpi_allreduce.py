"""The engine's native MPI gradient averaging (`_core.MpiGradientAllreduce`, see
src/bindings/mpi_gradient_allreduce.h), for `Network.set_gradient_hook`. fastdense.horovod
decides when to use it; this module only builds it."""

from fastdense import _core


def gradient_allreduce(library, comm, float_type, double_type, sum_op, timeout, node_comm=None, cross_comm=None):
    """A hook averaging the fused gradients over the MPICH communicator handle `comm`, with the
    MPI functions of the already loaded shared library `library` (handles from mpi4py's
    `MPI._handleof`), failing after `timeout` seconds. With `node_comm` (the ranks of this node)
    through shared memory, and with `cross_comm` (this node rank on the other nodes) MPI between
    nodes."""
    return _core.MpiGradientAllreduce(library, comm, float_type, double_type, sum_op, timeout,
                                      node_comm=node_comm, cross_comm=cross_comm)
