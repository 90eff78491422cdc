"""Structure-aware fuzzing of every file format fastdense reads.

    python tools/fuzz_files.py                    # the full campaign (2,400 files)
    python tools/fuzz_files.py --count 150 --json # a quick deterministic sample (the CI test)

Seed files (fastdense models saved as `.h5`, `.keras`, `.weights.h5`, legacy weights `.h5`, and
`to_json()` text, plus the Keras 2/3 files in tests/data/keras_files) are damaged by mutators that
know the formats, so that the damage reaches the code paths behind the checksums and signatures:

  HDF5   superblock addresses (base, end of file, root object header), global heap collection
         sizes and object entries (index, size), local heap sizes and addresses, v1 B-tree node
         entry counts, sibling and child addresses, symbol table node counts and entries, v1
         object header message counts, header sizes, message types, message lengths and words
         inside message bodies (dataspace dimensions, layout addresses, attribute sizes);
         plus byte flips and truncation.
  .keras local/central zip header fields (sizes, CRCs, name lengths, offsets), the end-of-archive
         record, the inner model.weights.h5 damaged as above and the config.json damaged as
         below (re-zipped with valid CRCs so the damage gets past zipfile).
  JSON   a random node of the config replaced (wrong types, huge or negative numbers, deep
         nesting, unknown class names), keys deleted, lists duplicated, text truncated.

Each file is loaded (`load_model`, `load_weights` into the seed's model, or `model_from_json`)
in a pool of worker processes, one file at a time, with a per-file time limit: a worker that dies
counts as a crash, one that overruns the limit as a hang. A load must succeed or raise
OSError/ValueError naming the file (ValueError for JSON text, which has no file name). Workers
run with an address-space limit, so a file that makes the loader allocate without bound shows up
as a failure rather than taking the machine down.
"""

import argparse
import collections
import importlib.util
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "data", "keras_files")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
INTERESTING = [0, 1, 2, 7, 8, 15, 16, 255, 4095, 4096, 4097, 8192, 2**15, 2**16 - 1, 2**16, 2**31 - 1, 2**31,
               2**32 - 1, 2**32, 2**40, 2**48, 2**63 - 1, 2**64 - 1]

# ------------------------------------------------------------------------------ seed files
SEED_SCRIPT = r"""
import os, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
from fastdense import layers, models
out = sys.argv[1]
rng = np.random.default_rng(0)
x, y = rng.random((16, 6)).astype("float32"), rng.random((16, 1)).astype("float32")

def sequential():
    model = models.Sequential([layers.Input((6,)), layers.Dense(8, activation="relu"), layers.BatchNormalization(),
                               layers.Dropout(0.2), layers.Dense(1)], name="seq")
    model.compile("adam", "mse", metrics=["mae"])
    return model

def functional():
    inputs = layers.Input((6,), name="x")
    a = layers.Dense(4, activation="tanh", name="a")(inputs)
    b = layers.Dense(4, name="b")(inputs)
    model = models.Model(inputs, layers.Dense(1, name="out")(layers.concatenate([a, b])), name="fun")
    model.compile("sgd", "mse")
    return model

def many_layers():
    model = models.Sequential([layers.Input((6,))] + [layers.Dense(3, name=f"dense_layer_{i}") for i in range(40)]
                              + [layers.Dense(1)], name="deep")
    model.compile("rmsprop", "mse")
    return model

for name, build in (("seq", sequential), ("fun", functional), ("deep", many_layers)):
    model = build()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(os.path.join(out, name + ".keras"))
    model.save(os.path.join(out, name + ".h5"))
    model.save_weights(os.path.join(out, name + ".weights.h5"))
    model.save_weights(os.path.join(out, name + "_legacy.h5"))
    with open(os.path.join(out, name + ".json"), "w") as f:
        f.write(model.to_json())
"""


def make_seeds(directory):
    """[(kind, path, model file for weights or None)] of valid files to start from."""
    subprocess.run([sys.executable, "-c", SEED_SCRIPT, directory], check=True, cwd=directory, env=_env())
    seeds = []
    for name in ("seq", "fun", "deep"):
        model = os.path.join(directory, name + ".keras")
        seeds += [("model", model, None), ("model", os.path.join(directory, name + ".h5"), None),
                  ("weights", os.path.join(directory, name + ".weights.h5"), model),
                  ("weights", os.path.join(directory, name + "_legacy.h5"), model),
                  ("json", os.path.join(directory, name + ".json"), None)]
    for name in sorted(os.listdir(FIXTURES)) if os.path.isdir(FIXTURES) else []:
        path = os.path.join(FIXTURES, name)
        if name.endswith(".json"):
            seeds.append(("json", path, None))
        elif "weights" in name:
            stem = name.split(".")[0].replace("_weights", "")
            seeds.append(("weights", path, os.path.join(FIXTURES, stem + ".keras")))
        else:
            seeds.append(("model", path, None))
    return seeds


# -------------------------------------------------------------------------- HDF5 structure
def _u(data, offset, width):
    if offset < 0 or offset + width > len(data):
        return None
    return int.from_bytes(data[offset:offset + width], "little")


def hdf5_fields(data):
    """(offset, width, what) of the structural fields in an HDF5 file (superblock v0/v1, as h5py
    and Keras write; other versions get the signature-found structures only)."""
    fields = []
    base = data.find(HDF5_SIGNATURE)
    if base < 0:
        return fields
    headers = []
    if data[base + 8] in (0, 1):
        extra = 4 if data[base + 8] == 1 else 0
        for i, what in enumerate(("base address", "free-space address", "end-of-file address", "driver block")):
            fields.append((base + 24 + extra + 8 * i, 8, "superblock " + what))
        root = base + 56 + extra
        fields += [(root + 8, 8, "root object header address"), (root + 24, 8, "root B-tree address"),
                   (root + 32, 8, "root local heap address")]
        headers.append(_u(data, root + 8, 8))
    for signature, parse in ((b"GCOL", _global_heap), (b"HEAP", _local_heap), (b"TREE", _btree),
                             (b"SNOD", _symbol_node)):
        start = data.find(signature)
        while start >= 0:
            fields += parse(data, start, headers)
            start = data.find(signature, start + 4)
    for address in sorted({a for a in headers if a is not None}):
        fields += _object_header(data, base + address)
    return fields


def _global_heap(data, start, headers):
    fields = [(start + 8, 8, "global heap collection size")]
    size = _u(data, start + 8, 8) or 0
    at, end = start + 16, min(start + size, len(data))
    while at + 16 <= end:
        index, length = _u(data, at, 2), _u(data, at + 8, 8)
        fields += [(at, 2, "global heap object index"), (at + 8, 8, "global heap object size")]
        if index == 0 or length is None:
            break
        at += 16 + (length + 7) // 8 * 8
    return fields


def _local_heap(data, start, headers):
    return [(start + 8, 8, "local heap data size"), (start + 16, 8, "local heap free list"),
            (start + 24, 8, "local heap data address")]


def _btree(data, start, headers):
    fields = [(start + 4, 1, "B-tree node type"), (start + 5, 1, "B-tree node level"),
              (start + 6, 2, "B-tree entries used"), (start + 8, 8, "B-tree left sibling"),
              (start + 16, 8, "B-tree right sibling")]
    used = _u(data, start + 6, 2) or 0
    for i in range(min(used, 64)):
        fields += [(start + 24 + 16 * i, 8, "B-tree key"), (start + 32 + 16 * i, 8, "B-tree child address")]
    return fields


def _symbol_node(data, start, headers):
    fields = [(start + 6, 2, "symbol table node count")]
    count = _u(data, start + 6, 2) or 0
    for i in range(min(count, 64)):
        entry = start + 8 + 40 * i
        fields += [(entry, 8, "symbol name offset"), (entry + 8, 8, "symbol object header address"),
                   (entry + 16, 4, "symbol cache type")]
        headers.append(_u(data, entry + 8, 8))
    return fields


def _object_header(data, at):
    """Fields of a version-1 object header and its messages (first block)."""
    if _u(data, at, 1) != 1:
        return []
    fields = [(at + 2, 2, "object header message count"), (at + 4, 4, "object header reference count"),
              (at + 8, 4, "object header size")]
    size = _u(data, at + 8, 4) or 0
    message, end = at + 16, min(at + 16 + size, len(data))
    while message + 8 <= end:
        length = _u(data, message + 2, 2)
        fields += [(message, 2, "message type"), (message + 2, 2, "message length"), (message + 4, 1, "message flags")]
        body = message + 8
        for word in range(body, min(body + length, end) - 7, 8):
            fields.append((word, 8, f"message {_u(data, message, 2):#x} body word"))
        message = body + length
    return fields


def mutate_hdf5(data, rng):
    data = bytearray(data)
    choice = rng.random()
    if choice < 0.08:
        return bytes(data[:rng.randrange(len(data))])
    if choice < 0.16:
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    fields = hdf5_fields(data)
    if not fields:
        data[rng.randrange(len(data))] ^= 0xFF
        return bytes(data)
    for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 4)):
        offset, width, _what = rng.choice(fields)
        current = _u(data, offset, width) or 0
        value = rng.choice([rng.choice(INTERESTING), current + rng.choice([-8, -1, 1, 8, 16, 4096]), current * 2,
                            len(data), len(data) + rng.randint(1, 4096), rng.getrandbits(8 * width)])
        data[offset:offset + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return bytes(data)


# ------------------------------------------------------------------------------ zip + JSON
def zip_fields(data):
    fields = []
    for signature, layout in ((b"PK\x03\x04", [(14, 4), (18, 4), (22, 4), (26, 2), (28, 2), (8, 2)]),
                              (b"PK\x01\x02", [(16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (42, 4), (10, 2)]),
                              (b"PK\x05\x06", [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2)])):
        start = data.find(signature)
        while start >= 0:
            fields += [(start + offset, width) for offset, width in layout]
            start = data.find(signature, start + 4)
    return fields


def mutate_zip(data, rng):
    choice = rng.random()
    if choice < 0.35:  # damage the archive's own records
        data = bytearray(data)
        fields = zip_fields(data) or [(0, 4)]
        for _ in range(rng.randint(1, 3)):
            offset, width = rng.choice(fields)
            value = rng.choice([rng.choice(INTERESTING), rng.getrandbits(8 * width), len(data)])
            data[offset:offset + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
        return bytes(data)
    if choice < 0.45:
        data = bytearray(data)
        if rng.random() < 0.5:
            return bytes(data[:rng.randrange(len(data))])
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    # damage an entry and re-zip it with valid CRCs
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    names = [name for name, _ in entries]
    target = "model.weights.h5" if choice < 0.75 and "model.weights.h5" in names else \
        ("config.json" if "config.json" in names else rng.choice(names))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries:
            if name == target:
                content = mutate_hdf5(content, rng) if name.endswith(".h5") else mutate_json(content, rng)
            archive.writestr(name, content)
    return out.getvalue()


WEIRD = [None, True, -1, 0, 2**31, 10**12, -10**12, 1e308, -0.0, "", "x" * 10000, "Conv7D", [], {}, [[[[]]]],
         {"class_name": "Dense"}, {"class_name": "Lambda", "config": {}}, [1] * 1000]


def mutate_json(data, rng):
    text = data.decode("utf8", "replace")
    choice = rng.random()
    if choice < 0.1:
        return text[:rng.randrange(max(1, len(text)))].encode()
    if choice < 0.15:
        return ("[" * rng.choice([100, 1000, 100000]) + "]" * rng.choice([0, 100000])).encode()
    try:
        config = json.loads(text)
    except ValueError:
        return text[::-1].encode()
    for _ in range(rng.randint(1, 3)):
        nodes = list(_json_nodes(config))
        if not nodes:
            break
        parent, key = rng.choice(nodes)
        action = rng.random()
        if action < 0.2 and isinstance(parent, dict):
            del parent[key]
        elif action < 0.3 and isinstance(parent[key], list):
            parent[key] = parent[key] * rng.choice([0, 2, 3])
        elif action < 0.4 and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = -parent[key] if rng.random() < 0.5 else parent[key] * 1000
        else:
            parent[key] = rng.choice(WEIRD)
    return json.dumps(config).encode()


def _json_nodes(value):
    if isinstance(value, dict):
        for key in list(value):
            yield value, key
            yield from _json_nodes(value[key])
    elif isinstance(value, list):
        for i in range(len(value)):
            yield value, i
            yield from _json_nodes(value[i])


def mutate(kind, path, data, rng):
    if kind == "json":
        return mutate_json(data, rng)
    if data.startswith(b"PK"):
        return mutate_zip(data, rng)
    return mutate_hdf5(data, rng)


# --------------------------------------------------------------------------------- workers
WORKER_SCRIPT = r"""
import json, os, resource, sys, warnings
warnings.simplefilter("ignore")
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), resource.RLIM_INFINITY))
import fastdense
from fastdense.saving import h5_guard
h5_guard.BASE_SECONDS = float(sys.argv[2])
models = {}
print("ready", flush=True)
for line in sys.stdin:
    task = json.loads(line)
    path, kind = task["path"], task["kind"]
    try:
        if kind == "model":
            fastdense.models.load_model(path)
        elif kind == "weights":
            if task["model"] not in models:
                models[task["model"]] = fastdense.models.load_model(task["model"])
            models[task["model"]].load_weights(path)
        else:
            with open(path, encoding="utf8", errors="replace") as f:
                text = f.read()
            fastdense.models.model_from_json(text)
        reply = {"outcome": "loaded"}
    except BaseException as error:
        if kind == "json":
            named = True
        else:
            named = os.path.basename(path) in str(error)
        reply = {"outcome": "refused", "type": type(error).__name__, "named": named,
                 "allowed": isinstance(error, (OSError, ValueError)) and named,
                 "message": str(error)[:300]}
    print(json.dumps(reply), flush=True)
"""


def _env():
    # The fastdense this interpreter imports (installed, or on PYTHONPATH), else this source tree's.
    spec = importlib.util.find_spec("fastdense")
    package_root = os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else ROOT
    return dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


class Worker:
    def __init__(self, memory_limit, guard_seconds):
        self.args = [sys.executable, "-c", WORKER_SCRIPT, str(memory_limit), str(guard_seconds)]
        self.process = None

    def run(self, task, seconds):
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=tempfile.gettempdir())
            self._drain_stderr()
            if self._line(120) != "ready":
                raise RuntimeError("fuzz worker did not start: " + "".join(self.stderr[-20:]))
        try:
            self.process.stdin.write(json.dumps(task) + "\n")
            self.process.stdin.flush()
        except OSError:
            pass
        line = self._line(seconds)
        if line is None:
            self.stop()
            return {"outcome": "hang"}
        if not line:
            code = self.process.wait()
            self.process = None
            return {"outcome": "crash", "returncode": code, "stderr": "".join(self.stderr[-5:])[-500:]}
        return json.loads(line)

    def _drain_stderr(self):
        self.stderr = []
        process = self.process
        threading.Thread(target=lambda: [self.stderr.append(line) for line in process.stderr], daemon=True).start()

    def _line(self, seconds):
        result = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(seconds)
        return None if reader.is_alive() else result[0].strip()

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def campaign(count, seed, workers, seconds, guard_seconds, memory_limit, keep=None):
    rng = random.Random(seed)
    work = keep or tempfile.mkdtemp(prefix="fastdense-fuzz-")
    os.makedirs(work, exist_ok=True)
    seeds = make_seeds(work)
    tasks = []
    for i in range(count):
        kind, source, model = seeds[i % len(seeds)]
        with open(source, "rb") as f:
            data = mutate(kind, source, f.read(), rng)
        suffix = ".json" if kind == "json" else (".keras" if source.endswith(".keras") else
                                                 ".weights.h5" if source.endswith(".weights.h5") else ".h5")
        path = os.path.join(work, f"fuzz{i:05d}{suffix}")
        with open(path, "wb") as f:
            f.write(data)
        tasks.append({"kind": kind, "path": path, "model": model, "seed": os.path.basename(source)})
    pool = [Worker(memory_limit, guard_seconds) for _ in range(workers)]
    results = [None] * len(tasks)
    queue = list(range(len(tasks)))
    lock = threading.Lock()

    def drain(worker):
        while True:
            with lock:
                if not queue:
                    return
                i = queue.pop(0)
            start = time.perf_counter()
            results[i] = dict(worker.run(tasks[i], seconds), seconds=time.perf_counter() - start)

    threads = [threading.Thread(target=drain, args=(w,)) for w in pool]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in pool:
        worker.stop()
    return summarize(tasks, results)


_GUARD_REASONS = [("did not finish reading", "walk over its time limit (HDF5 looping)"),
                  ("more memory than", "walk over its memory limit"),
                  ("checking process", "walker process died")]


def summarize(tasks, results):
    counts = collections.Counter()
    by_format = collections.defaultdict(collections.Counter)
    types = collections.Counter()
    guarded = collections.Counter()
    failures = []
    for task, result in zip(tasks, results):
        fmt = os.path.splitext(task["path"])[1] if not task["path"].endswith(".weights.h5") else ".weights.h5"
        fmt = f"{task['kind']}:{fmt}"
        outcome = result["outcome"]
        if outcome == "refused":
            types[result["type"]] += 1
            for marker, reason in _GUARD_REASONS:
                if marker in result["message"]:
                    guarded[reason] += 1
            if not result["allowed"]:
                outcome = "bad_error"
        counts[outcome] += 1
        by_format[fmt][outcome] += 1
        if outcome in ("crash", "hang", "bad_error"):
            failures.append({**task, **result})
    slowest = max((r["seconds"] for r in results), default=0.0)
    return {"files": len(tasks), "counts": dict(counts), "by_format": {k: dict(v) for k, v in by_format.items()},
            "exception_types": dict(types), "stopped_by_h5_guard": dict(guarded), "slowest_seconds": round(slowest, 2), "failures": failures[:20]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0, help="per-file limit before a load counts as a hang")
    parser.add_argument("--guard-seconds", type=float, default=3.0,
                        help="h5_guard's time limit for its HDF5 walk (the library default is 10 s)")
    parser.add_argument("--memory", type=float, default=4.0, help="address-space limit per worker, GiB")
    parser.add_argument("--keep", help="directory to keep the generated files in")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line")
    args = parser.parse_args()
    start = time.perf_counter()
    report = campaign(args.count, args.seed, args.workers, args.seconds, args.guard_seconds,
                      int(args.memory * 2**30), args.keep)
    report["wall_seconds"] = round(time.perf_counter() - start, 1)
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=2))
    bad = sum(report["counts"].get(k, 0) for k in ("crash", "hang", "bad_error"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
