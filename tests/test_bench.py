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


def test_report_gives_each_targeted_cell_its_range_over_the_repeats():
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import run
    finally:
        sys.path.pop(0)
    rows = [row for row in run.full_plan()[1] if row.workload == "grid_b512_h1024"]
    runs = {"fastdense": [1180.0, 1300.0, 1100.0], "torch": [1000.0, 1000.0, 1000.0]}  # ratios 1.18, 1.3, 1.1
    results = {"quick": False, "machine": "test", "date": "today", "repeats": 3, "kernel": "k",
               "versions": {"fastdense": "0", "torch": "0"}, "sgemm_gflops": 100.0, "peaks": [100.0] * 3,
               "raw": {lib: {"grid_b512_h1024": [{"train_samples_per_s": v, "train_gflops": v / 10} for v in values]}
                       for lib, values in runs.items()}}
    results["medians"] = {lib: {"grid_b512_h1024": {"train_samples_per_s": sorted(v)[1], "train_gflops": sorted(v)[1] / 10}}
                          for lib, v in runs.items()}
    table = run.report(results, rows, ["fastdense", "torch"])
    assert "| 1.18× ✗ (≥1.2×) [1.10–1.30×] |" in table  # the median misses; one repeat met it
