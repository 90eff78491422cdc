"""Running real `mpiexec -n N` jobs from tests: time-bounded, every rank process accounted for.

MPICH's Hydra starts each rank in a session of its own, so killing mpiexec's process group does
not reach the ranks. Every rank therefore records its PID in a directory as Python starts (a
`sitecustomize` module put on the job's PYTHONPATH, for ranks only: PMI_RANK is set); after the
job (and always on timeout) any recorded rank still alive is killed, and `run_job` reports which
were left behind.
"""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field

import fastdense

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))

_SITECUSTOMIZE = """\
import os as _os
if "FASTDENSE_TEST_PIDS" in _os.environ and "PMI_RANK" in _os.environ:
    with open(_os.path.join(_os.environ["FASTDENSE_TEST_PIDS"], str(_os.getpid())), "w") as _f:
        _f.write(_os.environ["PMI_RANK"])
"""


def mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")


@dataclass
class JobResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    rank_pids: list = field(default_factory=list)
    left_behind: list = field(default_factory=list)  # rank PIDs alive after the job ended
    timed_out: bool = False


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not left behind: it has ended and waits for its parent
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _rank_pids(pid_dir):
    return sorted(int(name) for name in os.listdir(pid_dir))


def write_script(directory, name, body):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body))
    return path


def run_job(directory, script, ranks=2, timeout=120, env=None, args=(), command=None):
    """Runs `script` on `ranks` ranks (or the given command line); never outlives `timeout`."""
    pid_dir = os.path.join(directory, f"pids-{time.monotonic_ns()}")
    os.makedirs(pid_dir)
    site_dir = os.path.join(directory, "rank-pids-site")
    os.makedirs(site_dir, exist_ok=True)
    with open(os.path.join(site_dir, "sitecustomize.py"), "w") as f:
        f.write(_SITECUSTOMIZE)
    job_env = dict(os.environ, FASTDENSE_TEST_PIDS=pid_dir, OMP_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join(p for p in (site_dir, PACKAGE_PARENT, os.environ.get("PYTHONPATH")) if p))
    job_env.update(env or {})
    if command is None:
        command = [mpiexec(), "-n", str(ranks), sys.executable, script, *args]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=directory, env=job_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        for pid in _rank_pids(pid_dir):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    seconds = time.monotonic() - started
    # Ranks end with mpiexec; give the kernel a moment to reap them before calling any left behind.
    pids = _rank_pids(pid_dir)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [p for p in pids if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return JobResult(process.returncode, stdout, stderr, seconds, pids, left, timed_out)
