"""The engine's native MPI gradient averaging (`_core.MpiGradientAllreduce`, see
src/bindings/mpi_gradient_allreduce.h), for `Network.set_gradient_hook`. fastdense.horovod
decides when to use it; this module only builds it."""

from fastdense import _core


def gradient_allreduce(library, comm, float_type, double_type, sum_op, timeout):
    """A hook averaging the fused gradients over the MPICH communicator handle `comm`, with the
    MPI functions of the already loaded shared library `library` (handles from mpi4py's
    `MPI._handleof`), failing after `timeout` seconds."""
    return _core.MpiGradientAllreduce(library, comm, float_type, double_type, sum_op, timeout)
