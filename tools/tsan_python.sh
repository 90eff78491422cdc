#!/usr/bin/env bash
# Builds a ThreadSanitizer-instrumented CPython and a virtual environment of it, for
# `tools/sanitize.sh thread` (issue 12). With an uninstrumented interpreter TSan sees neither the
# GIL's hand-over between Python threads nor Python's threading locks, so it cannot judge the
# fit/evaluate threading tests, whose native state is ordered by those; an instrumented
# interpreter's GIL and locks are pthread mutexes and condition variables TSan understands.
#
#   tools/tsan_python.sh [python]   prints the path of the TSan venv's python on its last line
#
# The source: python.org is not reachable from this project's machines, PyPI and Debian are.
# Debian's source package python3.11 carries the upstream tarball unchanged
# (python3.11_<version>.orig.tar.gz, verified by apt against the signed Sources index), so
# `apt-get source --download-only` fetches it, with a private sources list and state directory
# (the machine's apt configuration is left alone). Same minor version as the project's venv
# (3.11): extension modules and binary wheels built for 3.11 load in any 3.11.x.
#
# 3.11 has no --with-thread-sanitizer (3.13+): the flags go in through CFLAGS/LDFLAGS, and
# pymalloc is left out so every allocation goes through TSan's malloc. No PGO/LTO, no test
# modules (installing them compiles thousands of files with the instrumented interpreter).
# Binary wheels (numpy, h5py) are not instrumented; they run under the instrumented GIL, which
# orders them.
#
# Everything goes under build/tsan-python, or $TSAN_PYTHON_ROOT (src, prefix, venv); a finished
# build is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
reference_python=${1:-python}
root=${TSAN_PYTHON_ROOT:-$PWD/build/tsan-python}
prefix=$root/prefix
venv=$root/venv
minor=$("$reference_python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# The build runs the new interpreter (setup.py builds the extension modules, in threads; ensurepip):
# CPython 3.11 is not itself free of the races TSan reports (in its allocator hooks, thread
# teardown), so its findings are not reported here; tools/tsan.supp sorts them for the tests.
export TSAN_OPTIONS=report_bugs=0
if [ ! -x "$prefix/bin/python$minor" ]; then
  source_tree=$root/src/cpython
  if [ ! -f "$source_tree/Makefile" ]; then  # a build interrupted after configure resumes with make
    mkdir -p "$root/apt/lists/partial" "$root/src"
    # Debian's main archive of the machine's release (the security archive's index can name
    # revisions the mirror no longer has; the upstream tarball is the same in both).
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename main" \
      >"$root/apt/sources.list"
    apt_options=(-o "Dir::Etc::SourceList=$root/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
                 -o "Dir::State::Lists=$root/apt/lists" -o APT::Sandbox::User=root)
    apt-get "${apt_options[@]}" -qq update
    (cd "$root/src" && apt-get "${apt_options[@]}" -qq source --download-only "python$minor")
    tarball=$(ls "$root/src/python${minor}_"*.orig.tar.*)
    rm -rf "$source_tree" && mkdir "$source_tree"
    tar -xf "$tarball" -C "$source_tree" --strip-components=1
    (cd "$source_tree" && CFLAGS="-fsanitize=thread -fno-omit-frame-pointer -g -O1" LDFLAGS="-fsanitize=thread" \
      ./configure --prefix="$prefix" --without-pymalloc --disable-test-modules --with-ensurepip=install >"$root/configure.log" 2>&1)
  fi
  start=$SECONDS
  make -C "$source_tree" -j2 >"$root/make.log" 2>&1
  make -C "$source_tree" install >"$root/install.log" 2>&1
  echo "CPython $minor with ThreadSanitizer: make and install took $((SECONDS - start)) s" >&2
fi

if [ ! -x "$venv/bin/python" ]; then
  "$prefix/bin/python$minor" -m venv "$venv"
  # The same versions as the reference environment, so the tests see the same libraries.
  pins=$("$reference_python" -m pip freeze | grep -iE '^(numpy|h5py|pytest|pluggy|iniconfig|packaging|pybind11|cmeel|cmeel-eigen|scipy-openblas32)==' || true)
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install -q --only-binary=:all: $pins
fi
echo "$venv/bin/python"
