"""Opening untrusted HDF5 files with bounded time and memory.

HDF5 trusts the structures it reads. A damaged file can make it loop forever (a global heap
collection whose size field points past its real end: HDF5 then parses zeros as zero-length
heap objects and never advances) or request absurd allocations (a size field read as 49 TB).
Neither is a Python exception, so no try/except in the loader can catch it.

Choice (measured, 2 shared cores, h5py 3.14 / HDF5 1.14.6):
- A pure-Python walker that validates every structure HDF5 will visit (superblock versions 0-3,
  object header versions 1-2 and each message type, local and global heaps, v1 and v2 B-trees,
  fractal heaps for dense groups and attributes, filter pipelines) would add only a parse of
  the metadata to each load (not built, so not measured), but it re-implements most of the
  format's reading side, and anything it misses (or any other HDF5 bug) still hangs the
  process. Rejecting what it does not know would refuse valid files from other writers.
- A watchdog subprocess asks HDF5 itself: it receives the file's bytes, opens them and touches
  everything the loaders can touch (every object reachable by links, every attribute, every
  dataset's value, lookups of absent names) under a time limit and an address-space limit
  proportional to the file's size. Only when that walk finishes does this process open the
  *same bytes* (not the path again, so the file cannot change in between); HDF5 being
  deterministic, the loaders' reads, a subset of the walk's, cannot hang or over-allocate.
  Measured cost: the walker process starts once per process (~0.36 s: Python and h5py) and is
  reused; the walk adds ~5 ms to a small model's load (`load_model` of a 30 KB `.h5`: 15 ms
  before, 28 ms with the guard) and ~190 ms for a 48 MB file (973 ms before, 1,291 ms with it).
  Loading a model is rare next to predicting with it; this option was taken because it has no
  gaps. Its one false alarm: a valid file that a badly overloaded machine cannot read within
  the time limit (10 s plus 0.2 s per MB; `BASE_SECONDS`, `SECONDS_PER_MB`) is refused too.

The walker runs `PYTHON` (sys.executable by default); an application embedding Python whose
sys.executable is not a Python interpreter sets it to one that can import h5py.

External links, external raw-data storage and virtual datasets would make HDF5 open other
files than the one being loaded: they are refused (Keras never writes them).
"""

import atexit
import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import threading

import h5py

PYTHON = sys.executable
# Seconds allowed for one walk: a floor for a busy machine, plus time proportional to the file's
# size (HDF5 reads from memory at well over 100 MB/s).
BASE_SECONDS = 10.0
SECONDS_PER_MB = 0.2
# Seconds allowed for the walking interpreter to start (once per process, or after a failure).
_START_SECONDS = 60.0
# Address space the walk may add to the interpreter's: a Keras file holds raw (uncompressed)
# arrays, so reading all of them needs about the file's size; filters may expand data, hence the
# factor. Fixed headroom covers HDF5's own caches.
_HEADROOM_BYTES = 512 * 2**20
_BYTES_PER_FILE_BYTE = 32

# The walker: a separate interpreter that imports nothing but h5py. It says "ready", then for
# each request (8-byte little-endian address-space allowance, 8-byte length, the file's bytes)
# prints one JSON line: {"ok": true} or {"error": "..."}. It ends when its stdin closes.
_WALKER = r"""
import io, json, os, struct, sys
import h5py

def set_memory_limit(allowance):
    try:
        import resource
        with open("/proc/self/statm") as f:
            in_use = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = in_use + allowance
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    except (ImportError, OSError, ValueError):
        pass  # not Linux: the time limit still holds

def walk(data):
    seen = set()

    def touch(obj, where):
        # Lookups of absent names walk the name indexes' leftmost and rightmost paths, as the
        # loaders' membership tests ("model_config" in attrs, get("vars")) do.
        for absent in ("\x01", "\U0010ffff"):
            absent in obj.attrs
            if isinstance(obj, h5py.Group):
                absent in obj
        for name in obj.attrs:
            obj.attrs[name]
        if isinstance(obj, h5py.Dataset):
            if obj.external or obj.is_virtual:
                raise ValueError(f"'{where}' keeps its data in another file")
            obj[()]
            return
        if not isinstance(obj, h5py.Group):
            return  # a named datatype: its attributes were all there is
        for name in obj:
            link = obj.get(name, getlink=True)
            path = f"{where.rstrip('/')}/{name}"
            if isinstance(link, h5py.ExternalLink):
                raise ValueError(f"'{path}' is a link into another file ({link.filename})")
            child = obj.get(name)
            if child is None:
                continue  # a dangling soft link
            address = h5py.h5o.get_info(child.id).addr  # hard links may form cycles
            if address in seen:
                continue
            seen.add(address)
            touch(child, path)

    with h5py.File(io.BytesIO(data), "r") as h5:
        touch(h5, "/")

def main():
    source, sink = sys.stdin.buffer, sys.stdout
    sink.write("ready\n")
    sink.flush()
    while True:
        header = source.read(16)
        if len(header) < 16:
            return
        allowance, size = struct.unpack("<QQ", header)
        data = source.read(size)
        try:
            set_memory_limit(allowance)
            walk(data)
            reply = {"ok": True}
        except MemoryError:
            reply = {"error": "reading it needs more memory than a file of its size can justify"}
        except Exception as error:
            reply = {"error": f"{type(error).__name__}: {error}"}
        del data
        set_memory_limit(1 << 62)
        sink.write(json.dumps(reply) + "\n")
        sink.flush()

main()
"""


def open_file(data, source):
    """An h5py File (read-only, in memory) over `data`, the bytes of an untrusted HDF5 file,
    once the walker has read all of it within bounded time and memory. Raises ValueError naming
    `source` when the file is damaged or the walk does not finish."""
    _walker.check(data, source)
    return h5py.File(io.BytesIO(data), "r")


def read(path):
    """The whole file, read once: what is checked is what is then opened."""
    with open(path, "rb") as f:
        return f.read()


class _Walker:
    """One walker process, started on first use and reused (one Python start per process, not
    per load). A walk that overruns its time kills it; the next check starts a fresh one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._process = None

    def check(self, data, source):
        seconds = BASE_SECONDS + SECONDS_PER_MB * len(data) / 2**20
        allowance = _HEADROOM_BYTES + _BYTES_PER_FILE_BYTE * len(data)
        with self._lock:
            try:
                process = self._running()
                process.stdin.write(struct.pack("<QQ", allowance, len(data)))
                process.stdin.write(data)
                process.stdin.flush()
                line = _read_line(process, seconds)
            except (OSError, ValueError) as error:
                self._stop()
                raise ValueError(f"{source}: the HDF5 checking process failed ({error})") from None
            if line is None:
                self._stop()
                raise ValueError(f"{source}: HDF5 did not finish reading the file within {seconds:.0f} s "
                                 "(a damaged file whose structures loop)")
            if not line:
                status = self._stop()
                raise ValueError(f"{source}: HDF5 could not read the file (the reading process ended with "
                                 f"status {status})")
        try:
            report = json.loads(line)
        except ValueError:
            report = {"error": line[:300]}
        if not report.get("ok"):
            raise ValueError(f"{source}: not a readable HDF5 file ({report.get('error')})")

    def _running(self):
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   HDF5_USE_FILE_LOCKING="FALSE")
        # -P (3.11+): the working directory is not put first on sys.path, so a stray h5py.py
        # there cannot shadow the real one.
        flags = ["-P"] if sys.version_info >= (3, 11) else []
        self._process = subprocess.Popen([PYTHON, *flags, "-c", _WALKER], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                         text=False)
        if _read_line(self._process, _START_SECONDS) != "ready":
            self._stop()
            raise OSError(f"the HDF5 checking process ({PYTHON} -c ...) did not start; set "
                          "fastdense.saving.h5_guard.PYTHON to a Python interpreter that can import h5py")
        return self._process

    def close(self):
        """Ends the walker (at interpreter exit): closing its stdin lets it return."""
        with self._lock:
            process = self._process
            if process is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(2)
            self._stop()

    def _stop(self):
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(OSError):
                process.kill()
        for pipe in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        return process.wait()

    def forget(self):
        """In a forked child: the walker and its pipes belong to the parent; start afresh."""
        self._lock = threading.Lock()
        self._process = None


def _read_line(process, seconds):
    """The process's next output line (str; '' at end of output), or None after `seconds`."""
    result = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    if reader.is_alive():
        return None
    return result[0].decode("utf8", "replace").strip()


_walker = _Walker()
atexit.register(_walker.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_walker.forget)
