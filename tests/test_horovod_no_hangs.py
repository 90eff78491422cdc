"""No hangs with real `mpiexec -n 2` jobs: an exception on one rank ends every rank within
seconds with its message (the excepthook aborts the job); a rank that is killed or stalls makes
the other exit with a clear error after FASTDENSE_MPI_TIMEOUT; no rank process is left behind."""

import pytest

pytest.importorskip("mpi4py")

from mpi_jobs import mpiexec, run_job, write_script  # noqa: E402

pytestmark = pytest.mark.skipif(mpiexec() is None, reason="no mpiexec")

# Rank 1 misbehaves at the start of epoch 2, while rank 0 goes on training (and would wait
# forever in the next gradient allreduce without the abort or the deadline).
JOB = """
import os, signal, sys, time
import numpy as np
import fastdense as fd
import fastdense.horovod as hvd

hvd.init()
misbehave = sys.argv[1]


class Misbehave(fd.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if hvd.rank() == 1 and epoch == 2:
            if misbehave == "raise":
                raise ValueError("rank one failed on purpose")
            if misbehave == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if misbehave == "stall":
                time.sleep(3600)


model = fd.Sequential([fd.Input((4,)), fd.layers.Dense(8, activation="relu"), fd.layers.Dense(1)])
model.compile(optimizer=hvd.DistributedOptimizer(fd.optimizers.SGD(0.01)), loss="mse")
x = np.random.default_rng(hvd.rank()).normal(size=(64, 4)).astype("float32")
model.fit(x, x[:, :1], batch_size=8, epochs=1000, verbose=0,
          callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0), Misbehave()])
"""

# Rank 1 stalls before an allreduce (a Python collective, not the gradient hook), or before the
# end of the script while rank 0 leaves (MPI_Finalize would wait for it forever).
STALL_IN_PYTHON = """
import sys, time
import numpy as np
import fastdense.horovod as hvd

hvd.init()
if hvd.rank() == 1:
    time.sleep(3600)
if sys.argv[1] == "allreduce":
    hvd.allreduce(np.ones(3))
"""


def _job(tmp_path, body, *args, timeout_env="300"):
    script = write_script(str(tmp_path), "job.py", body)
    result = run_job(str(tmp_path), script, ranks=2, timeout=90, env={"FASTDENSE_MPI_TIMEOUT": timeout_env},
                     args=args)
    assert not result.timed_out, f"the job hung:\n{result.stderr[-3000:]}"
    assert len(result.rank_pids) == 2, result.stderr[-3000:]
    assert not result.left_behind, f"rank processes {result.left_behind} outlived the job"
    assert result.returncode != 0
    return result


def test_an_exception_on_one_rank_ends_every_rank_with_its_message(tmp_path):
    result = _job(tmp_path, JOB, "raise")  # deadline 300 s: the abort, not the deadline, ends it
    assert "rank one failed on purpose" in result.stderr
    assert "rank 1 failed, aborting all ranks" in result.stderr
    assert result.seconds < 60


@pytest.mark.parametrize("hook", ["native", "native-mpi", "python"])  # native: the shared-memory barriers
def test_a_stalled_rank_makes_the_others_fail_after_the_timeout(tmp_path, hook):
    script = write_script(str(tmp_path), "job.py", JOB)
    result = run_job(str(tmp_path), script, ranks=2, timeout=90, args=("stall",),
                     env={"FASTDENSE_MPI_TIMEOUT": "3", "FASTDENSE_MPI_GRADIENT_HOOK": hook})
    assert not result.timed_out, f"the job hung:\n{result.stderr[-3000:]}"
    assert not result.left_behind and len(result.rank_pids) == 2
    assert result.returncode != 0
    assert "did not complete within 3 s (FASTDENSE_MPI_TIMEOUT)" in result.stderr
    assert "another rank died, stalled" in result.stderr


def test_a_stall_in_a_python_collective_times_out(tmp_path):
    result = _job(tmp_path, STALL_IN_PYTHON, "allreduce", timeout_env="2")
    assert "allreduce on rank 0 did not complete within 2 s" in result.stderr


def test_a_rank_leaving_while_another_stalls_does_not_wait_forever_at_exit(tmp_path):
    result = _job(tmp_path, STALL_IN_PYTHON, "exit", timeout_env="2")
    assert "the barrier at exit on rank 0 did not complete within 2 s" in result.stderr


def test_a_killed_rank_ends_the_job(tmp_path):
    result = _job(tmp_path, JOB, "kill", timeout_env="5")
    assert result.seconds < 60
    # Hydra notices the dead rank and ends the others itself; otherwise rank 0's deadline does.
    assert ("did not complete within 5 s" in result.stderr or "BAD TERMINATION" in result.stdout + result.stderr
            or "KILLED" in result.stdout + result.stderr), result.stdout[-2000:] + result.stderr[-2000:]
