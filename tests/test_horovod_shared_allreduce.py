"""The native gradient hook's three ways (src/bindings/mpi_gradient_allreduce.h), with real
`mpiexec` jobs: shared memory between the ranks of a node, hierarchical (shared memory within
nodes, MPI between them) and one MPI allreduce (the fallback). Each job averages buffers of
sizes that do not divide evenly among the ranks (uneven and empty slices) and checks on every
rank that the result is the sample-weighted mean, bit-identical on all ranks. Several "nodes"
are simulated by splitting MPI_COMM_WORLD (the job replaces process_group.split_by_node). Each
job then trains a small model with the chosen hook and with mpi4py's allreduce and compares."""

import json

import numpy as np
import pytest

pytest.importorskip("mpi4py")

from mpi_jobs import mpiexec, run_job, write_script  # noqa: E402

pytestmark = pytest.mark.skipif(mpiexec() is None, reason="no mpiexec")

# argv: ranks per simulated node ("machine": the real node); writes result<rank>.json.
JOB = """
import json, os, sys
import numpy as np
from fastdense.horovod import process_group, runtime
import fastdense.horovod as hvd

per_node = sys.argv[1]
if per_node != "machine":
    process_group.split_by_node = lambda comm: comm.Split(color=comm.Get_rank() // int(per_node),
                                                          key=comm.Get_rank())
hvd.init()
hook = runtime.group().gradient_hook()
checked = []
for dtype in (np.float32, np.float64):
    for size in (1, 2, 17, 100_003, 1_000_001):  # gradients, then the sample count
        rng = np.random.default_rng(1000 * hvd.rank() + size)
        mine = rng.normal(size=size).astype(dtype)
        mine[-1] = 3 + 2 * hvd.rank()  # unequal batch sizes
        every = hvd.allgather(mine[None, :]).astype(np.float64)
        want = (every[:, :-1] * every[:, -1:]).sum(axis=0) / every[:, -1].sum()
        tolerance = 1e-6 if dtype == np.float32 else 1e-13
        for packed in (False, True, True, False):  # both shared windows, either way
            if packed:  # in the hook's buffer, as a training step packs (the shared segment)
                buffer = hook.gradient_buffer(size, np.dtype(dtype))
                buffer[:] = mine
            else:  # a buffer of the caller's: copied in and out
                buffer = mine.copy()
            hook.average(buffer)
            np.testing.assert_allclose(buffer[:-1], want, rtol=tolerance, atol=tolerance)
            assert buffer[-1] == every[:, -1].sum()
            results = hvd.allgather(buffer[None, :])
            assert (results == results[0]).all(), "the ranks' averages differ"
        checked.append(size)

# Training packs the gradients straight into the shared window (Network's GradientBuffer): the
# weights must match those of the same training averaged by mpi4py (the "python" hook), and be
# bit-identical on every rank. The shards' last batches differ in size (weighting by counts).
import fastdense as fd

trained = {}
for choice in ("native", "python"):
    os.environ["FASTDENSE_MPI_GRADIENT_HOOK"] = choice
    fd.utils.set_random_seed(5)
    model = fd.Sequential([fd.Input((6,)), fd.layers.Dense(9, activation="tanh"), fd.layers.Dense(2)])
    model.compile(optimizer=hvd.DistributedOptimizer(fd.optimizers.Adam(0.01)), loss="mse")
    rng = np.random.default_rng(hvd.rank())
    rows = 21 + hvd.rank()  # 3 batches on every rank (Horovod's rule), the last of 5 to 8 rows
    x, y = rng.normal(size=(rows, 6)).astype("float32"), rng.normal(size=(rows, 2)).astype("float32")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    trained[choice] = model.get_weights()
for native, python in zip(trained["native"], trained["python"]):
    np.testing.assert_allclose(native, python, rtol=2e-5, atol=2e-6)
    every = hvd.allgather(native[None])
    assert (every == every[0]).all(), "the ranks' weights differ"

with open(f"result{hvd.rank()}.json", "w") as f:
    json.dump({"rank": hvd.rank(), "path": hook.path, "local_size": hvd.local_size(), "checked": len(checked)}, f)
"""


def _run(tmp_path, ranks, per_node, hook="native"):
    script = write_script(str(tmp_path), "job.py", JOB)
    result = run_job(str(tmp_path), script, ranks=ranks, timeout=180, args=(per_node,),
                     env={"FASTDENSE_MPI_GRADIENT_HOOK": hook, "FASTDENSE_MPI_TIMEOUT": "60"})
    assert not result.timed_out and result.returncode == 0, result.stderr[-3000:]
    assert len(result.rank_pids) == ranks and not result.left_behind
    lines = [json.loads((tmp_path / f"result{rank}.json").read_text()) for rank in range(ranks)]
    assert sorted(line["rank"] for line in lines) == list(range(ranks))
    assert all(line["checked"] == 10 for line in lines)
    return lines


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_of_one_node_average_through_shared_memory(tmp_path, ranks):
    lines = _run(tmp_path, ranks, "machine")
    assert {line["path"] for line in lines} == {"shared"}
    assert {line["local_size"] for line in lines} == {ranks}


def test_nodes_with_as_many_ranks_each_average_hierarchically(tmp_path):
    lines = _run(tmp_path, 4, "2")  # two "nodes" of two ranks
    assert {line["path"] for line in lines} == {"hierarchical"}
    assert {line["local_size"] for line in lines} == {2}


@pytest.mark.parametrize("ranks,per_node", [(3, "2"), (2, "1")])
def test_other_layouts_fall_back_to_one_mpi_allreduce(tmp_path, ranks, per_node):
    # 3 ranks as nodes of 2 and 1 ranks (unequal), or every rank alone on its node.
    lines = _run(tmp_path, ranks, per_node)
    assert {line["path"] for line in lines} == {"mpi"}


def test_native_mpi_chooses_one_mpi_allreduce_on_one_node(tmp_path):
    lines = _run(tmp_path, 2, "machine", hook="native-mpi")
    assert {line["path"] for line in lines} == {"mpi"}
