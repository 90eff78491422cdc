"""Checkpoints written by rank 0 (the Horovod pattern) load and resume with real `mpiexec`
jobs, with the same number of ranks or a different one: epoch 1 on 2 ranks, a checkpoint,
then epoch 2 resumed from it reaches the weights of 2 epochs straight."""

import os

import numpy as np
import pytest

pytest.importorskip("mpi4py")

from mpi_jobs import mpiexec, run_job, write_script  # noqa: E402

pytestmark = pytest.mark.skipif(mpiexec() is None, reason="no mpiexec")

BATCH = 6

FIRST = """
import numpy as np
import fastdense as fd
import fastdense.horovod as hvd

hvd.init()
fd.utils.set_random_seed(hvd.rank())
model = fd.Sequential([fd.Input((4,)), fd.layers.Dense(6, activation="relu"), fd.layers.Dense(2)])
model.compile(optimizer=hvd.DistributedOptimizer(fd.optimizers.Adam(0.01)), loss="mse")
data = np.load("data.npz")
x, y = data[f"x{hvd.rank()}"], data[f"y{hvd.rank()}"]
broadcast = hvd.callbacks.BroadcastGlobalVariablesCallback(0)
model.fit(x, y, batch_size=%(batch)d, epochs=1, shuffle=False, verbose=0, callbacks=[broadcast])
if hvd.rank() == 0:
    model.save("checkpoint.keras")
model.fit(x, y, batch_size=%(batch)d, epochs=2, initial_epoch=1, shuffle=False, verbose=0, callbacks=[broadcast])
np.savez(f"straight{hvd.rank()}.npz", *model.get_weights())
"""

# Resumes from rank 0's checkpoint on however many ranks it runs (each loads the file; the
# broadcast makes rank 0's copy authoritative). On one rank it trains on the union of the
# two shards' step batches with twice the batch size.
RESUME = """
import numpy as np
import fastdense as fd
import fastdense.horovod as hvd

hvd.init()
model = hvd.load_model("checkpoint.keras")
assert model.optimizer.iterations == %(steps)d, model.optimizer.iterations
data = np.load("data.npz")
if hvd.size() == 2:
    x, y, batch = data[f"x{hvd.rank()}"], data[f"y{hvd.rank()}"], %(batch)d
else:
    x, y, batch = data["x_union"], data["y_union"], 2 * %(batch)d
model.fit(x, y, batch_size=batch, epochs=2, initial_epoch=1, shuffle=False, verbose=0,
          callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0)])
np.savez(f"resumed{hvd.size()}-{hvd.rank()}.npz", *model.get_weights())
"""


def _load(path):
    with np.load(path) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def test_a_checkpoint_from_rank_0_resumes_on_two_ranks_and_on_one(tmp_path):
    rng = np.random.default_rng(1)
    rows = (20, 23)  # 4 steps of 6 rows on each rank: last batches of 2 and 5 rows
    arrays = {}
    for r, n in enumerate(rows):
        arrays[f"x{r}"] = rng.normal(size=(n, 4)).astype(np.float32)
        arrays[f"y{r}"] = rng.normal(size=(n, 2)).astype(np.float32)
    steps = -(-rows[0] // BATCH)
    assert steps == -(-rows[1] // BATCH)
    for key in "xy":
        arrays[f"{key}_union"] = np.concatenate([arrays[f"{key}{r}"][s * BATCH:(s + 1) * BATCH]
                                                 for s in range(steps) for r in range(2)])
    np.savez(tmp_path / "data.npz", **arrays)
    directory = str(tmp_path)
    values = {"batch": BATCH, "steps": steps}

    first = run_job(directory, write_script(directory, "first.py", FIRST % values), ranks=2, timeout=120)
    assert first.returncode == 0 and not first.left_behind, first.stderr[-3000:]
    assert os.path.exists(tmp_path / "checkpoint.keras")
    straight = _load(tmp_path / "straight0.npz")

    resume = write_script(directory, "resume.py", RESUME % values)
    for ranks in (2, 1):
        result = run_job(directory, resume, ranks=ranks, timeout=120)
        assert result.returncode == 0 and not result.left_behind, result.stderr[-3000:]
        for got, want in zip(_load(tmp_path / f"resumed{ranks}-0.npz"), straight):
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    for got, want in zip(_load(tmp_path / "resumed2-1.npz"), _load(tmp_path / "resumed2-0.npz")):
        np.testing.assert_array_equal(got, want)
