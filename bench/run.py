"""Runs the benchmark workloads for fastdense, tf.keras and PyTorch and writes a report.

    python bench/run.py [--repeats 3] [--quick] [--libraries fastdense,keras,torch]

Every (library, workload) measurement runs in its own process; libraries alternate within each
repeat so that machine noise hits all of them alike. Medians go to bench/results/latest.md
(a Markdown table with ratios against fastdense) and bench/results/latest.json.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# (workload, options, the numbers reported, whether higher is better)
FULL = [
    ("seed", {}, [("fit_s", False), ("train_on_batch_us", False)]),
    ("latency", {}, [("predict_one_us", False), ("call_batch8_us", False)]),
    ("mlp", {}, [("train_samples_per_s", True), ("step_us", False), ("predict_samples_per_s", True),
                 ("peak_rss_mb", False)]),
]
QUICK = [
    ("seed", {"epochs": 3, "calls": 10}, FULL[0][2]),
    ("latency", {"calls": 20}, FULL[1][2]),
    ("mlp", {"samples": 1024, "sizes": [32, 16, 4]}, FULL[2][2]),
]


def measure(library, workload, options):
    command = [sys.executable, os.path.join(HERE, "workloads.py"), library, workload, json.dumps(options)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{library}/{workload} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def available(library):
    module = {"fastdense": "fastdense", "keras": "tensorflow", "torch": "torch"}[library]
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def machine_description():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def report(results, plan, libraries):
    lines = [f"Machine: {machine_description()}; date {time.strftime('%Y-%m-%d')}; medians of "
             f"{results['repeats']} runs. Ratio = how many times better fastdense is than the peer.", "",
             "| workload | measure | " + " | ".join(libraries) + " | " +
             " | ".join(f"fastdense vs {lib}" for lib in libraries if lib != "fastdense") + " |",
             "|---|---|" + "---|" * (2 * len(libraries) - 1)]
    for workload, _, measures in plan:
        for measure_name, higher_is_better in measures:
            values = {lib: results["medians"][lib][workload][measure_name] for lib in libraries}
            cells = [f"{values[lib]:.4g}" for lib in libraries]
            ratios = []
            for lib in libraries:
                if lib == "fastdense":
                    continue
                ratio = values["fastdense"] / values[lib] if higher_is_better else values[lib] / values["fastdense"]
                ratios.append(f"{ratio:.2f}×")
            lines.append(f"| {workload} | {measure_name} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny configurations (a smoke test)")
    parser.add_argument("--libraries", default="fastdense,keras,torch")
    parser.add_argument("--output", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)

    plan = QUICK if args.quick else FULL
    libraries = [lib for lib in args.libraries.split(",") if lib == "fastdense" or available(lib)]
    raw = {lib: {w: [] for w, _, _ in plan} for lib in libraries}
    for repeat in range(args.repeats):
        for workload, options, _ in plan:
            order = libraries[repeat % len(libraries):] + libraries[:repeat % len(libraries)]
            for library in order:
                raw[library][workload].append(measure(library, workload, options))
                print(f"repeat {repeat + 1}/{args.repeats} {library:9s} {workload}: {raw[library][workload][-1]}",
                      flush=True)
    medians = {lib: {w: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                     for w, runs in workloads.items()} for lib, workloads in raw.items()}
    results = {"repeats": args.repeats, "quick": args.quick, "machine": machine_description(), "medians": medians,
               "raw": raw}
    os.makedirs(args.output, exist_ok=True)
    table = report(results, plan, libraries)
    with open(os.path.join(args.output, "latest.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.output, "latest.md"), "w") as f:
        f.write(table)
    print(table)
    return results


if __name__ == "__main__":
    main()
