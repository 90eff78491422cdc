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
    results = json.loads((tmp_path / "latest.json").read_text())
    medians = results["medians"]["fastdense"]
    assert set(medians) == {"seed", "latency", "mnist", "wide"}
    assert all(value > 0 for workload in medians.values() for value in workload.values())
    assert results["sgemm_gflops"] > 0
    table = (tmp_path / "latest.md").read_text()
    assert "| 3 · 784-256-256-10, Adam, batch 128, 60k samples: training | samples/s |" in table
    assert "| fastdense % peak |" in table  # every throughput also as a share of the run's sgemm peak
    assert results["kernel"].split(" ")[0] in fastdense._core.product_kernels()
    assert results["cpu"] and isinstance(results["isa"], list)
    assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
