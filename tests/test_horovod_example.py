"""The Horovod example runs through the launcher (`python -m fastdense.horovod.run -np 2`),
then resumes from rank 0's checkpoint on one process."""

import os
import sys

import pytest

pytest.importorskip("mpi4py")

from mpi_jobs import mpiexec, run_job  # noqa: E402

pytestmark = pytest.mark.skipif(mpiexec() is None, reason="no mpiexec")

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                       "horovod_mnist_like.py")


def test_the_horovod_example_trains_on_two_ranks_and_resumes_on_one(tmp_path):
    arguments = [EXAMPLE, "--epochs", "2", "--samples", "1200", "--checkpoint", str(tmp_path / "ckpt.keras")]
    launched = run_job(str(tmp_path), EXAMPLE, timeout=240,
                       command=[sys.executable, "-m", "fastdense.horovod.run", "-np", "2", *arguments])
    assert launched.returncode == 0 and not launched.timed_out, launched.stderr[-3000:]
    assert len(launched.rank_pids) == 2 and not launched.left_behind
    assert "2 rank(s): final accuracy" in launched.stdout
    assert os.path.exists(tmp_path / "ckpt.keras")

    resumed = run_job(str(tmp_path), EXAMPLE, ranks=1, timeout=240,
                      args=[*arguments[1:], "--epochs", "3", "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Epoch 3/3" in resumed.stdout and "Epoch 1/3" not in resumed.stdout
