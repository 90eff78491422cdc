"""Horovod's collectives on NumPy arrays: allreduce, allgather, broadcast (and the object
versions), each bounded by FASTDENSE_MPI_TIMEOUT."""

import numpy as np

from fastdense.horovod import runtime

# Horovod's reduction ops (hvd.Average, hvd.Sum).
Average = "average"
Sum = "sum"


class Compression:
    """Horovod's gradient compression choices: only `none` (gradients travel at full precision)."""

    none = None

    class fp16:  # noqa: N801 (Horovod's name)
        def __init__(self, *args, **kwargs):
            raise NotImplementedError("fastdense.horovod: fp16 compression is not supported; use Compression.none")


def allreduce(tensor, average=None, name=None, op=None, prescale_factor=1.0, postscale_factor=1.0):
    """The element-wise average (default) or sum of `tensor` over all ranks, as a NumPy array."""
    if average is not None:  # Horovod's deprecated spelling
        if op is not None:
            raise ValueError("allreduce: pass `op` or `average`, not both")
        op = Average if average else Sum
    op = Average if op is None else op
    if op not in (Average, Sum):
        raise ValueError(f"allreduce: op must be hvd.Average or hvd.Sum, got {op!r}")
    array = np.asarray(tensor)
    if prescale_factor != 1.0:
        array = array * prescale_factor
    result = runtime.group().allreduce(array, op)
    if postscale_factor != 1.0:
        result = result * postscale_factor
    return result


def allgather(tensor, name=None):
    """The ranks' arrays concatenated along the first axis, in rank order (sizes may differ)."""
    return runtime.group().allgather(np.asarray(tensor))


def broadcast(tensor, root_rank, name=None):
    """root_rank's array on every rank."""
    _check_root(root_rank)
    return runtime.group().broadcast(np.asarray(tensor), root_rank)


def broadcast_object(obj, root_rank=0, name=None):
    """root_rank's picklable object on every rank."""
    _check_root(root_rank)
    return runtime.group().broadcast_object(obj, root_rank)


def allgather_object(obj, name=None):
    """A list of every rank's picklable object, in rank order."""
    return runtime.group().allgather_object(obj)


def barrier():
    runtime.group().barrier()


def _check_root(root_rank):
    size = runtime.size()
    if isinstance(root_rank, bool) or not isinstance(root_rank, (int, np.integer)) or not 0 <= root_rank < size:
        raise ValueError(f"root_rank must be a rank in [0, {size}), got {root_rank!r}")
