"""Horovod's collectives and MetricAverageCallback on a real `mpiexec -n 2` job."""

import json

import pytest

pytest.importorskip("mpi4py")

from mpi_jobs import mpiexec, run_job, write_script  # noqa: E402

pytestmark = pytest.mark.skipif(mpiexec() is None, reason="no mpiexec")

JOB = """
import json
import numpy as np
import fastdense as fd
import fastdense.horovod as hvd

hvd.init()
r = hvd.rank()
result = {
    "rank": r, "size": hvd.size(), "local": [hvd.local_rank(), hvd.local_size()], "mpi": hvd.mpi_enabled(),
    "average": hvd.allreduce(np.array([1.0, 2.0]) * (r + 1)).tolist(),
    "sum": hvd.allreduce(np.array([1, 2]) * (r + 1), op=hvd.Sum).tolist(),
    "float32": str(hvd.allreduce(np.ones(2, np.float32)).dtype),
    "allgather": hvd.allgather(np.full((r + 1, 2), r)).tolist(),
    "broadcast": hvd.broadcast(np.array([10.0 + r]), root_rank=1).tolist(),
    "object": hvd.broadcast_object({"from": r}, root_rank=0),
    "objects": hvd.allgather_object(f"rank{r}"),
}
logs = {"loss": float(r + 1), "accuracy": 0.5 * r}
callback = hvd.callbacks.MetricAverageCallback()
callback.on_epoch_end(0, logs)
result["logs"] = logs
with open(f"result{r}.json", "w") as f:  # one file per rank: their stdout lines may interleave
    json.dump(result, f)
"""


def test_collectives_on_two_ranks(tmp_path):
    result = run_job(str(tmp_path), write_script(str(tmp_path), "job.py", JOB), ranks=2, timeout=120)
    assert result.returncode == 0 and not result.left_behind, result.stderr[-3000:]
    results = [json.loads((tmp_path / f"result{r}.json").read_text()) for r in range(2)]
    assert [r["rank"] for r in results] == [0, 1]
    for r in results:
        assert r["size"] == 2 and r["local"] == [r["rank"], 2] and r["mpi"]
        assert r["average"] == [1.5, 3.0]
        assert r["sum"] == [3, 6]
        assert r["float32"] == "float32"
        assert r["allgather"] == [[0, 0], [1, 1], [1, 1]]
        assert r["broadcast"] == [11.0]
        assert r["object"] == {"from": 0}
        assert r["objects"] == ["rank0", "rank1"]
        assert r["logs"] == {"loss": 1.5, "accuracy": 0.25}
