"""Runs the benchmark workloads for fastdense, tf.keras and PyTorch and writes a report.

    python bench/run.py [--repeats 5] [--quick] [--libraries fastdense,keras,torch] [--only mnist,wide] [--readme README.md]
    FASTDENSE_KERNEL=eigen python bench/run.py ...   # fastdense's other matrix-product path

Every (library, workload) measurement runs in its own process; libraries alternate within each
repeat so that machine noise hits all of them alike. Medians go to bench/results/: latest.md (a
Markdown table with the ratios against each peer and the issue's targets), latest.json (every
raw number) and latest.png (the ratios as a bar chart). With --readme, the table also replaces the
block between the benchmark markers in that file.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from machine import cpu_description  # noqa: E402  (bench/ is the script's directory)

HERE = os.path.dirname(os.path.abspath(__file__))
README_BEGIN, README_END = "<!-- benchmark table: written by bench/run.py -->", "<!-- end of benchmark table -->"

MNIST = [784, 256, 256, 10]
WIDE = {"sizes": [1024, 4096, 4096, 1024], "batch": 512, "samples": 8192, "warmup_batches": 2}
GRID = [(batch, hidden) for batch in (32, 128, 512) for hidden in (64, 256, 1024)]


class Row:
    """One line of the table: a measure of one workload, and the ratios fastdense is aiming for.

    targets: peer library → the ratio fastdense should reach against it, and "peak" → the share of
    the sgemm peak (measured in the same run) fastdense should reach. gflops: the workload's
    measure that states this row's throughput in GFLOP/s, for the share-of-peak columns (None for
    rows that are not throughputs: latencies, memory)."""

    def __init__(self, workload, measure, label, unit, higher_is_better, targets=None, gflops=None):
        self.workload, self.measure, self.label, self.unit = workload, measure, label, unit
        self.higher_is_better = higher_is_better
        self.targets = targets or {}
        self.gflops = gflops

    def ratio(self, values, peer):
        if self.higher_is_better:
            return values["fastdense"] / values[peer]
        return values[peer] / values["fastdense"]


def full_plan():
    """(workloads: name → (workload function, options), rows of the table)."""
    workloads = {
        "seed": ("seed", {}),
        "latency": ("latency", {}),
        "mnist": ("mlp", {"sizes": MNIST}),
        "wide": ("mlp", WIDE),
    }
    # Targets: issue 5's, raised and extended by issue 14 (shares of the sgemm peak carry across machines).
    rows = [
        Row("seed", "fit_s", "1 · tutorial 10-64-64-1, RMSprop, 100 epochs, batch 32: fit", "s", False,
            {"keras": 100}),
        Row("seed", "train_on_batch_us", "1 · same: train_on_batch", "µs", False, {"keras": 100}),
        Row("latency", "predict_one_us", "2 · 10-64-64-1 relu: predict one sample", "µs", False,
            {"keras": 500, "torch": 5}),
        Row("latency", "call_batch8_us", "2 · same: call on a batch of 8", "µs", False, {"torch": 6}),
        Row("mnist", "train_samples_per_s", "3 · 784-256-256-10, Adam, batch 128, 60k samples: training",
            "samples/s", True, {"keras": 3, "torch": 2, "peak": 0.5}, gflops="train_gflops"),
        Row("mnist", "step_us", "3 · same: one training step", "µs", False),
        Row("mnist", "predict_samples_per_s", "3 · same: prediction", "samples/s", True,
            {"torch": 1.0, "peak": 0.85}, gflops="predict_gflops"),
        Row("mnist", "peak_rss_mb", "5 · same: peak resident memory", "MB", False, {"torch": 1.0}),
        Row("wide", "train_gflops", "4 · 1024-4096-4096-1024, batch 512: training", "GFLOP/s", True,
            {"keras": 1.0, "peak": 0.8}, gflops="train_gflops"),
        Row("wide", "predict_gflops", "4 · same: prediction", "GFLOP/s", True, {"peak": 0.9},
            gflops="predict_gflops"),
    ]
    for batch, hidden in GRID:
        name = f"grid_b{batch}_h{hidden}"
        workloads[name] = ("mlp", {"sizes": [784, hidden, hidden, 10], "batch": batch, "samples": 15360,
                                   "predict": False})
        rows.append(Row(name, "train_samples_per_s", f"6 · 784-{hidden}-{hidden}-10, batch {batch}: training",
                        "samples/s", True, {"torch": 4 if (batch, hidden) == (32, 256) else 1.2},
                        gflops="train_gflops"))
    return workloads, rows


def quick_plan():
    """The same workloads in tiny configurations: a smoke test that the benchmark still runs."""
    workloads = {
        "seed": ("seed", {"epochs": 3, "calls": 10}),
        "latency": ("latency", {"calls": 20}),
        "mnist": ("mlp", {"samples": 1024, "sizes": [32, 16, 4]}),
        "wide": ("mlp", {"samples": 256, "sizes": [64, 128, 8], "batch": 64, "warmup_batches": 1}),
    }
    _, rows = full_plan()
    return workloads, [row for row in rows if row.workload in workloads]


def measure(library, workload, options):
    command = [sys.executable, os.path.join(HERE, "workloads.py"), library, workload, json.dumps(options)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{library}/{workload} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def available(library):
    module = {"fastdense": "fastdense", "keras": "tensorflow", "torch": "torch"}[library]
    probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, cwd=HERE)
    return probe.returncode == 0


def machine_description():
    model, isa = cpu_description()
    return f"{model} ({', '.join(isa) or 'no AVX2'}), {os.cpu_count()} cores, Python {platform.python_version()}"


def versions(libraries):
    code = {"fastdense": "import fastdense as m; print(m.__version__, m._core.build_info()['matrix_product'].split(':')[0])",
            "keras": "import tensorflow as t, keras as k; print('tensorflow-cpu', t.__version__, '/ Keras', k.__version__)",
            "torch": "import torch as m; print(m.__version__)"}
    found = {}
    for lib in libraries:
        out = subprocess.run([sys.executable, "-c", code[lib]], capture_output=True, text=True, cwd=HERE)
        found[lib] = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else "?"
    return found


def fastdense_kernel():
    """The matrix-product path fastdense takes in the workload processes (FASTDENSE_KERNEL applies)."""
    out = subprocess.run([sys.executable, "-c", "import fastdense; print(fastdense._core.product_kernel())"],
                         capture_output=True, text=True, cwd=HERE)  # not the repository root: no source tree
    return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else "?"


NAMES = {"fastdense": "fastdense", "keras": "tf.keras", "torch": "PyTorch"}


def _number(value):
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _mark(met, target_text):
    return f" {'✓' if met else '✗'} ({target_text})"


def _spread(values, suffix):
    """A targeted cell's range over the repeats, "[low–high]" (nothing for one repeat): a machine's
    noise moves whole runs, and a median near its target can land on either side of it."""
    if len(values) < 2:
        return ""
    digits = 0 if suffix == "%" or min(values) >= 100 else 2
    return f" [{min(values):,.{digits}f}–{max(values):,.{digits}f}{suffix}]"


def report(results, rows, libraries):
    medians, peak, raw, peaks = results["medians"], results["sgemm_gflops"], results["raw"], results["peaks"]
    peers = [lib for lib in libraries if lib != "fastdense"]
    lines = ["QUICK RUN: smoke-test sizes, not the workloads the labels name.", ""] if results["quick"] else []
    lines += [f"Machine: {results['machine']}; {results['date']}; median of {results['repeats']} run(s); "
             f"measured sgemm peak {peak:.0f} GFLOP/s (best of NumPy's and PyTorch's 4096² products, same run); "
             f"fastdense's product path: {results.get('kernel', '?')}. "
             f"Versions: " + "; ".join(f"{NAMES[lib]} {results['versions'][lib]}" for lib in libraries) + ".",
             "Ratio = how many times better fastdense is; % peak = the throughput as a share of that sgemm "
             "peak (✓ target met, ✗ missed; targets from issues 5 and 14); [low–high] = a targeted cell's "
             "range over the repeats (each repeat's ratio between processes run one after the other, its "
             "share against its own peak measurement).", "",
             "| workload · measure | unit | " + " | ".join(NAMES[lib] for lib in libraries) + " | "
             + " | ".join(f"{NAMES[lib]} % peak" for lib in libraries) + " | "
             + " | ".join(f"vs {NAMES[lib]}" for lib in peers) + " |",
             "|---|---|" + "---:|" * (2 * len(libraries) + len(peers))]
    for row in rows:
        values = {lib: medians[lib][row.workload][row.measure] for lib in libraries}
        shares = []
        for lib in libraries:
            if row.gflops is None:
                shares.append("")
                continue
            share = medians[lib][row.workload][row.gflops] / peak
            mark = ""
            if lib == "fastdense" and "peak" in row.targets:
                mark = _mark(share >= row.targets["peak"], f"≥{100 * row.targets['peak']:.0f}%") + _spread(
                    [100 * run[row.gflops] / p for run, p in zip(raw[lib][row.workload], peaks)], "%")
            shares.append(f"{100 * share:.0f}%{mark}")
        ratios = []
        for peer in peers:
            ratio = row.ratio(values, peer)
            mark = ""
            if peer in row.targets:
                runs = zip(raw["fastdense"][row.workload], raw[peer][row.workload])
                mark = _mark(ratio >= row.targets[peer], f"≥{row.targets[peer]:g}×") + _spread(
                    [row.ratio({"fastdense": ours[row.measure], peer: theirs[row.measure]}, peer)
                     for ours, theirs in runs], "×")
            ratios.append(f"{ratio:.2f}×{mark}")
        lines.append(f"| {row.label} | {row.unit} | " + " | ".join(_number(values[lib]) for lib in libraries)
                     + " | " + " | ".join(shares) + " | " + " | ".join(ratios) + " |")
    return "\n".join(lines) + "\n"


def chart(results, rows, libraries, path):
    """The ratios as horizontal bars on a log axis, one colour per peer, targets as ticks."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart written", file=sys.stderr)
        return None
    peers = [lib for lib in libraries if lib != "fastdense"]
    medians = results["medians"]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) * max(1, len(peers)) + 1.5))
    height = 0.8 / max(1, len(peers))
    for p, peer in enumerate(peers):
        ratios = [row.ratio({lib: medians[lib][row.workload][row.measure] for lib in libraries}, peer) for row in rows]
        positions = [i + p * height for i in range(len(rows))]
        ax.barh(positions, ratios, height=height, label=f"vs {NAMES[peer]}")
        for position, row in zip(positions, rows):
            if peer in row.targets:
                ax.plot([row.targets[peer]] * 2, [position - height / 2, position + height / 2], color="black")
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks([i + height * (len(peers) - 1) / 2 for i in range(len(rows))])
    ax.set_yticklabels([row.label for row in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("times better than the peer (log scale; black ticks: targets)")
    ax.set_title(f"fastdense benchmark — {results['machine']}", fontsize=9)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def update_readme(path, table, results):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"{path} has no benchmark markers ({README_BEGIN} ... {README_END})")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + README_BEGIN + "\n" + table + "\n![benchmark ratios](bench/results/latest.png)\n"
                + README_END + tail)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)  # shared VMs swing ±15% for minutes: 3 was too few
    parser.add_argument("--quick", action="store_true", help="tiny configurations (a smoke test)")
    parser.add_argument("--libraries", default="fastdense,keras,torch")
    parser.add_argument("--output", default=os.path.join(HERE, "results"))
    parser.add_argument("--readme", help="also write the table into this README's benchmark block")
    parser.add_argument("--only", help="comma-separated workloads to run (seed, latency, mnist, wide, grid_b32_h64, ...)")
    args = parser.parse_args(argv)

    workloads, rows = quick_plan() if args.quick else full_plan()
    if args.only:
        wanted = args.only.split(",")
        unknown = [name for name in wanted if name not in workloads]
        if unknown:
            parser.error(f"--only: unknown workloads {unknown} (known: {', '.join(workloads)})")
        workloads = {name: workloads[name] for name in wanted}
        rows = [row for row in rows if row.workload in workloads]
    libraries = [lib for lib in args.libraries.split(",") if lib == "fastdense" or available(lib)]
    raw = {lib: {name: [] for name in workloads} for lib in libraries}
    peaks = []
    for repeat in range(args.repeats):
        peaks.append(measure("fastdense", "sgemm", {"n": 512, "seconds": 0.2} if args.quick else {})["sgemm_gflops"])
        for name, (workload, options) in workloads.items():
            order = libraries[repeat % len(libraries):] + libraries[:repeat % len(libraries)]
            for library in order:
                raw[library][name].append(measure(library, workload, options))
                print(f"repeat {repeat + 1}/{args.repeats} {library:9s} {name}: {raw[library][name][-1]}", flush=True)
    medians = {lib: {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in by_name.items()}
               for lib, by_name in raw.items()}
    model, isa = cpu_description()
    results = {"repeats": args.repeats, "quick": args.quick, "machine": machine_description(),
               "cpu": model, "isa": isa, "kernel": fastdense_kernel(), "peaks": peaks,
               "date": time.strftime("%Y-%m-%d"), "versions": versions(libraries),
               "sgemm_gflops": statistics.median(peaks), "medians": medians, "raw": raw}
    os.makedirs(args.output, exist_ok=True)
    table = report(results, rows, libraries)
    with open(os.path.join(args.output, "latest.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.output, "latest.md"), "w") as f:
        f.write(table)
    chart(results, rows, libraries, os.path.join(args.output, "latest.png"))
    if args.readme:
        update_readme(args.readme, table, results)
    print(table)
    return results


if __name__ == "__main__":
    main()
