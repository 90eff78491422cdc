#!/usr/bin/env bash
# In-place developer build: compiles fastdense._core into build/dev and copies it next to the
# Python sources, so `python -m pytest` runs against the working tree without `pip install`.
# Usage: tools/dev_build.sh [python]   (default: the python on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-python}
prefix=$("$py" -c "import pybind11, os, sys; print(';'.join([pybind11.get_cmake_dir()] + [p + '/cmeel.prefix' for p in sys.path if os.path.isdir(p + '/cmeel.prefix')]))")
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$(command -v "$py")" \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build build/dev
cp build/dev/_core*.so fastdense/
