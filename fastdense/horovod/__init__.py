"""Horovod's Keras API (`horovod.tensorflow.keras`) on fastdense: data-parallel training over MPI.

A Horovod Keras script runs unchanged except its import::

    import fastdense.horovod as hvd
    hvd.init()
    opt = hvd.DistributedOptimizer(fastdense.optimizers.Adam(0.001 * hvd.size()))
    model.compile(optimizer=opt, loss="mse")
    model.fit(x_shard, y_shard, batch_size=64, callbacks=[
        hvd.callbacks.BroadcastGlobalVariablesCallback(0),
        hvd.callbacks.MetricAverageCallback()])

launched with `mpiexec -n 4 python train.py` or `python -m fastdense.horovod.run -np 4 train.py`;
started as plain `python train.py` it runs as one process (size 1). Needs `pip install
'fastdense[mpi]'` (mpi4py + the mpich wheel) only under a launcher.

Each step averages the gradients of all ranks inside the native training step, after backward
and before the optimizer update, on one fused buffer (see optimizer.py); the broadcast callback
copies rank 0's weights to every rank before the first update. Every collective has a deadline
(FASTDENSE_MPI_TIMEOUT seconds) and an exception on any rank aborts the whole job.
"""

from fastdense.horovod import callbacks
from fastdense.horovod.collectives import (Average, Compression, Sum, allgather, allgather_object, allreduce,
                                           barrier, broadcast, broadcast_object)
from fastdense.horovod.optimizer import DistributedOptimizer, load_model
from fastdense.horovod.process_group import CollectiveTimeout
from fastdense.horovod.runtime import (init, is_initialized, local_rank, local_size, mpi_built, mpi_enabled, rank,
                                       shutdown, size)

__all__ = [
    "Average", "CollectiveTimeout", "Compression", "DistributedOptimizer", "Sum", "allgather", "allgather_object",
    "allreduce", "barrier", "broadcast", "broadcast_object", "callbacks", "init", "is_initialized", "load_model",
    "local_rank", "local_size", "mpi_built", "mpi_enabled", "rank", "shutdown", "size",
]
