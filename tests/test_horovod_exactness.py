"""Data-parallel training with real `mpiexec -n 2` jobs is exact: two ranks with batch b on their
shards reach the weights of one process training with batch 2b on the union of those batches,
also when the shards' last batches differ in size (the gradients are weighted by sample count),
and the broadcast gives every rank rank 0's initial weights before the first update."""

import os

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import fastdense as fd  # noqa: E402
from mpi_jobs import mpiexec, run_job, write_script  # noqa: E402

pytestmark = pytest.mark.skipif(mpiexec() is None, reason="no mpiexec")

SHARD_ROWS = (21, 18)  # unequal: last batches of 5 and 2 rows with b = 8
BATCH = 8
EPOCHS = 2

OPTIMIZERS = {
    "sgd": "fd.optimizers.SGD(0.05, momentum=0.9)",
    "adam": "fd.optimizers.Adam(0.01)",
}

# A loss written in Python: the engine runs it through a callback, and the gradient hook averages
# the gradients all the same.
CUSTOM_LOSS = """
def custom_mse(y_true, y_pred):
    return fd.ops.mean((y_true - y_pred) * (y_true - y_pred), axis=-1)
"""

JOB = """
import sys
import numpy as np
import fastdense as fd
import fastdense.horovod as hvd
{custom}
hvd.init()
rank = hvd.rank()
fd.utils.set_random_seed(100 + rank)  # different initial weights on each rank
model = fd.Sequential([fd.Input((5,)), fd.layers.Dense(7, activation="tanh"), fd.layers.Dense(3)])
model.compile(optimizer=hvd.DistributedOptimizer({optimizer}), loss={loss})
data = np.load("data.npz")
x, y = data[f"x{{rank}}"], data[f"y{{rank}}"]
np.savez(f"initial{{rank}}.npz", *model.get_weights())
model.fit(x, y, batch_size={batch}, epochs={epochs}, shuffle=False, verbose=0,
          callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0)])
np.savez(f"final{{rank}}.npz", *model.get_weights())
"""


def _shards(directory):
    rng = np.random.default_rng(7)
    arrays = {}
    for r, rows in enumerate(SHARD_ROWS):
        arrays[f"x{r}"] = rng.normal(size=(rows, 5)).astype(np.float32)
        arrays[f"y{r}"] = rng.normal(size=(rows, 3)).astype(np.float32)
    np.savez(os.path.join(directory, "data.npz"), **arrays)
    return arrays


def _union_in_step_order(arrays, key):
    """The rows of step s of every rank, one rank after the other: batch 2b over this order
    holds exactly the union of the ranks' step-s batches."""
    parts = []
    steps = -(-SHARD_ROWS[0] // BATCH)
    for s in range(steps):
        for r in range(len(SHARD_ROWS)):
            parts.append(arrays[f"{key}{r}"][s * BATCH:(s + 1) * BATCH])
    return np.concatenate(parts)


def _load(path):
    with np.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


# "native" averages through shared memory on this machine, "native-mpi" with one MPI allreduce.
@pytest.mark.parametrize("optimizer,hook,custom", [("sgd", "native", False), ("adam", "native", False),
                                                   ("adam", "native-mpi", False), ("adam", "python", False),
                                                   ("adam", "native", True)])
def test_two_ranks_equal_one_process_on_the_union(tmp_path, optimizer, hook, custom):
    directory = str(tmp_path)
    arrays = _shards(directory)
    script = write_script(directory, "job.py", JOB.format(
        optimizer=OPTIMIZERS[optimizer], batch=BATCH, epochs=EPOCHS, custom=CUSTOM_LOSS if custom else "",
        loss="custom_mse" if custom else '"mse"'))
    result = run_job(directory, script, ranks=2, timeout=180, env={"FASTDENSE_MPI_GRADIENT_HOOK": hook})
    assert not result.timed_out and result.returncode == 0, result.stderr[-3000:]
    assert len(result.rank_pids) == 2 and not result.left_behind

    initial0, initial1 = _load(tmp_path / "initial0.npz"), _load(tmp_path / "initial1.npz")
    assert any(not np.array_equal(a, b) for a, b in zip(initial0, initial1)), "the ranks should start apart"
    final0, final1 = _load(tmp_path / "final0.npz"), _load(tmp_path / "final1.npz")
    for a, b in zip(final0, final1):
        np.testing.assert_array_equal(a, b)  # one averaged gradient, one update: identical weights

    reference = fd.Sequential([fd.Input((5,)), fd.layers.Dense(7, activation="tanh"), fd.layers.Dense(3)])
    reference.set_weights(initial0)  # the broadcast gave every rank rank 0's weights
    namespace = {"fd": fd}
    exec(CUSTOM_LOSS, namespace)
    reference.compile(optimizer=eval(OPTIMIZERS[optimizer]), loss=namespace["custom_mse"] if custom else "mse")
    reference.fit(_union_in_step_order(arrays, "x"), _union_in_step_order(arrays, "y"), batch_size=2 * BATCH,
                  epochs=EPOCHS, shuffle=False, verbose=0)
    for got, want in zip(final0, reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    # The run moved the weights: the comparison is not between two untouched copies.
    assert any(not np.allclose(a, b) for a, b in zip(final0, initial0))
