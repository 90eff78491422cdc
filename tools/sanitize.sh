#!/usr/bin/env bash
# Runs the native-heavy tests against a sanitizer build of fastdense._core (issue 12).
#
#   tools/sanitize.sh address [python]   AddressSanitizer + UndefinedBehaviorSanitizer: engine,
#                                        layers, bindings, lifetime and threading tests
#   tools/sanitize.sh thread  [python]   ThreadSanitizer: the threading tests, under a CPython
#                                        built with TSan (tools/tsan_python.sh)
#
# The build goes to build/<mode> and runs from a staged copy of the package (build/<mode>/stage),
# so the worktree's own fastdense/_core*.so is left alone. For ASan, Python is not instrumented,
# so the sanitizer runtime is preloaded, together with libstdc++: otherwise ASan's __cxa_throw
# interceptor aborts at the first C++ exception. Python's own allocator is bypassed
# (PYTHONMALLOC=malloc) so that ASan sees every allocation. Leak detection is off: the
# interpreter never frees some of its memory. Extra pytest arguments: SANITIZE_PYTEST_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-address}
py=${2:-python}
case "$mode" in
  address)
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
    runtime=$(gcc -print-file-name=libasan.so)
    tests="tests/test_network.py tests/test_layers_activation.py tests/test_layers_normalization.py
           tests/test_optimizers.py tests/test_losses.py tests/test_activations.py tests/test_regularizers.py
           tests/test_custom_components.py tests/test_python_metrics.py tests/test_native_errors.py
           tests/test_lifetimes.py tests/test_threading.py"
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:symbolize=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ;;
  thread)
    # The interpreter itself is built with ThreadSanitizer (tools/tsan_python.sh; 20-odd minutes
    # the first time, then reused): TSan sees the GIL's hand-over between Python threads and
    # Python's threading locks (the per-model locks of trainers/model_locks.py), so every
    # threading test can be judged, not only the concurrent predictions. `python` here is the
    # environment whose package versions the TSan venv copies.
    py=$(bash tools/tsan_python.sh "$py" | tail -n 1)
    flags="-fsanitize=thread -fno-omit-frame-pointer -g"
    runtime=""  # the interpreter loads TSan's runtime itself
    # Every test that runs fastdense from several Python threads: concurrent predict,
    # predict_on_batch, __call__ and evaluate; train_on_batch against predictions; two fits on
    # one model (the per-model locks); custom layers and callbacks failing on another thread;
    # per-thread gradient tapes.
    tests="tests/test_threading.py
           tests/test_custom_components.py::test_exceptions_in_custom_code_propagate_and_the_model_recovers
           tests/test_custom_components.py::test_exceptions_from_each_callback_kind
           tests/test_autodiff.py::test_tapes_are_per_thread"
    # Uninstrumented libgomp and OpenBLAS synchronize in ways TSan cannot see: one compute
    # thread per call keeps the engine's own threads out, so what is checked is the Python
    # threads sharing one model.
    export OMP_NUM_THREADS=1
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tools/tsan.supp"
    # A report ends the process at once; -s lets it reach the terminal past pytest's capture.
    SANITIZE_PYTEST_ARGS="-s ${SANITIZE_PYTEST_ARGS:-}"
    ;;
  *)
    echo "usage: $0 address|thread [python]" >&2
    exit 2
    ;;
esac

build=build/$mode
prefix=$("$py" -c "import pybind11, os, sys; print(';'.join([pybind11.get_cmake_dir()] + [p + '/cmeel.prefix' for p in sys.path if os.path.isdir(p + '/cmeel.prefix')]))")
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFASTDENSE_NATIVE_ARCH=OFF -DFASTDENSE_ISA_LEVELS= \
  -DPython_EXECUTABLE="$(command -v "$py")" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_MODULE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$build"

stage=$build/stage
rm -rf "$stage"
mkdir -p "$stage"
cp -r fastdense tests bench examples README.md "$stage"/  # tests run the README's and bench's code too
rm -f "$stage"/fastdense/_core*.so
cp "$build"/_core*.so "$stage"/fastdense/

export PYTHONMALLOC=malloc
if [ -n "$runtime" ]; then export LD_PRELOAD="$runtime $(gcc -print-file-name=libstdc++.so)"; fi
cd "$stage"
# shellcheck disable=SC2086
exec "$py" -m pytest -q -p no:cacheprovider $tests ${SANITIZE_PYTEST_ARGS:-}
