"""What the bf16 packed-weight cache saves (issue 17): mixed_bfloat16 training of 1024-4096-4096-1024
(batch 512, Adam, 8 steps per fit: the first packs its kernels itself, the next 7 read those the
previous update packed) with the cache on and off (_core.set_bf16_weight_cache), alternating in one
process, so every ratio compares the same minutes of a possibly shared machine. Reports the process
CPU time and the wall time per step, and the on/off ratios as median [min-max] over the repeats.

    python bench/bf16_weight_cache.py [--repeats 6] [--threads N] [--json results.json]
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fastdense  # noqa: E402
from fastdense import _core, backend, layers, losses, models, optimizers  # noqa: E402

from machine import cpu_model  # noqa: E402  (bench/ is the script's directory)

SIZES, BATCH, STEPS = (1024, 4096, 4096, 1024), 512, 8


def wide_model():
    fastdense.utils.set_random_seed(0)
    stack = [layers.Input((SIZES[0],))]
    stack += [layers.Dense(w, activation="relu", dtype="mixed_bfloat16") for w in SIZES[1:-1]]
    model = models.Sequential(stack + [layers.Dense(SIZES[-1], dtype="mixed_bfloat16")])
    model.compile(optimizer=optimizers.Adam(1e-3), loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def summary(values):
    return {"median": float(np.median(values)), "min": float(np.min(values)), "max": float(np.max(values))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--threads", type=int, default=0, help="engine threads (0: every core)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.threads:
        fastdense.set_num_threads(args.threads)
    info = backend.reduced_precision()
    print(f"CPU: {cpu_model()}, {fastdense.get_num_threads()} threads")
    print("ISA: " + ", ".join(k for k, v in info["isa"].items() if v))
    print(f"path taken: bfloat16 -> {info['bfloat16']}" +
          ("" if info["bfloat16"] != "emulated" else " (the emulated path packs nothing: no cache)"))
    model = wide_model()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH * STEPS, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH * STEPS)
    model.fit(x[:2 * BATCH], y[:2 * BATCH], batch_size=BATCH, epochs=1, verbose=0, shuffle=False)  # warm-up
    before = _core.bf16_weight_cache()
    per_step = {"on": {"cpu_ms": [], "wall_ms": []}, "off": {"cpu_ms": [], "wall_ms": []}}
    try:
        for _ in range(args.repeats):
            for name, enabled in (("on", True), ("off", False)):
                _core.set_bf16_weight_cache(enabled)
                cpu, wall = time.process_time(), time.perf_counter()
                model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
                per_step[name]["cpu_ms"].append((time.process_time() - cpu) / STEPS * 1e3)
                per_step[name]["wall_ms"].append((time.perf_counter() - wall) / STEPS * 1e3)
    finally:
        _core.set_bf16_weight_cache(before)
    ratios = {kind: summary([a / b for a, b in zip(per_step["on"][kind], per_step["off"][kind])])
              for kind in ("cpu_ms", "wall_ms")}
    print(f"Training step, {'-'.join(map(str, SIZES))}, batch {BATCH}, Adam, {STEPS} steps per fit:")
    for name in ("on", "off"):
        print(f"  cache {name:3s}  CPU {np.median(per_step[name]['cpu_ms']):6.1f} ms  "
              f"wall {np.median(per_step[name]['wall_ms']):6.1f} ms  (medians)")
    for kind, label in (("cpu_ms", "CPU time"), ("wall_ms", "wall time")):
        r = ratios[kind]
        print(f"  on/off, {label:9s} {r['median']:.3f}  [{r['min']:.3f}-{r['max']:.3f}]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu_model(), "threads": fastdense.get_num_threads(), "isa": info["isa"],
                       "path": info["bfloat16"], "per_step": per_step, "ratios": ratios}, f, indent=2)


if __name__ == "__main__":
    main()
