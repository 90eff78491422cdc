"""The benchmark must keep running: its quick configuration, fastdense only (no timing asserts)."""

import json
import os
import subprocess
import sys

import fastdense

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The benchmark's subprocesses import the same fastdense as this test (source build or installed).
PACKAGE_PARENT = os.path.dirname(os.path.dirname(fastdense.__file__))


def test_benchmark_quick_run_writes_a_report(tmp_path):
    command = [sys.executable, os.path.join(ROOT, "bench", "run.py"), "--quick", "--repeats", "1",
               "--libraries", "fastdense", "--output", str(tmp_path)]
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    medians = json.loads((tmp_path / "latest.json").read_text())["medians"]["fastdense"]
    assert set(medians) == {"seed", "latency", "mlp"}
    assert all(value > 0 for workload in medians.values() for value in workload.values())
    table = (tmp_path / "latest.md").read_text()
    assert "| mlp | train_samples_per_s |" in table
