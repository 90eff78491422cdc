"""Chooses which build of the native module this CPU runs.

A source build (`pip install .`) compiles `fastdense/_core` for the building CPU (-march=native) and
ships nothing else. A portable wheel (FASTDENSE_NATIVE_ARCH=OFF) holds `_core` compiled for the
x86-64 baseline (SSE2) plus the same sources compiled for higher x86-64 levels under
`fastdense/isa/<level>/`: the elementwise loops (activations, bias adds, optimizer rules, losses)
are Eigen code whose vector width is fixed at compile time by the target's macros (__AVX2__,
__AVX512F__), so per-function attributes cannot widen them; whole builds per level can. Each build
is a complete module, so no Eigen template compiled for AVX-512 can be picked by the linker for a
CPU without it. OpenBLAS, which does the matrix products, dispatches at run time on its own.

FASTDENSE_ISA=baseline|x86-64-v3|x86-64-v4 forces a level (benchmarks, tests); a level the CPU
lacks is refused rather than crashing on an illegal instruction.
"""

import importlib.machinery
import importlib.util
import os
import sys

# The /proc/cpuinfo flags each x86-64 micro-architecture level needs (the psABI's definition; the
# kernel lists AVX-512 only when it saves the AVX-512 registers on context switches).
_LEVEL_FLAGS = {
    "x86-64-v3": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"},
    "x86-64-v4": {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave",
                  "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}
_PREFERENCE = ("x86-64-v4", "x86-64-v3")
_HERE = os.path.dirname(os.path.abspath(__file__))


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _build_path(level):
    """The `_core` extension file built for `level`, or None when this installation has none."""
    directory = os.path.join(_HERE, "isa", level)
    if not os.path.isdir(directory):
        return None
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(directory, "_core" + suffix)
        if os.path.exists(path):
            return path
    return None


def available_levels():
    """The levels this installation has a build for and this CPU runs, best first."""
    flags = _cpu_flags()
    return [level for level in _PREFERENCE if _build_path(level) and _LEVEL_FLAGS[level] <= flags]


def load_core():
    """Registers the best build of `_core` for this CPU as `fastdense._core`, before anything imports
    it; returns its level ("baseline" or "default" when the plain `fastdense/_core` is the one)."""
    requested = os.environ.get("FASTDENSE_ISA", "").strip()
    levels = available_levels()
    if requested and requested != "baseline":
        if requested not in _LEVEL_FLAGS:
            raise ImportError(f"FASTDENSE_ISA={requested!r}: expected one of baseline, {', '.join(_LEVEL_FLAGS)}")
        if requested not in levels:
            raise ImportError(f"FASTDENSE_ISA={requested!r}: this installation has no {requested} build, "
                              f"or this CPU lacks its instructions (usable: {', '.join(levels) or 'none'})")
        levels = [requested]
    if requested == "baseline" or not levels:
        # "default": an installation without level builds (a source build tuned for its CPU, or a
        # non-x86 wheel) runs the one `_core` it has.
        return "baseline" if os.path.isdir(os.path.join(_HERE, "isa")) else "default"
    level = levels[0]
    spec = importlib.util.spec_from_file_location("fastdense._core", _build_path(level))
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastdense._core"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["fastdense._core"]
        raise
    return level
