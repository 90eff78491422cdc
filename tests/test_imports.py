"""Every module of fastdense imports on its own in a fresh interpreter.

A module that needs another to be imported before it (an import cycle resolved only by the order
in some ``__init__.py``) breaks as soon as that order changes. Each module is therefore imported
as the first module of its package: in its own interpreter, with the ``__init__.py`` of every
package above it not run (stand-in packages point at the same folders), so only the module's own
imports can bring in what it needs. Packages are imported the same way, which runs their own
``__init__.py``. The modules are found by walking the package, so moved and new ones are checked.
"""

import os
import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import fastdense

PACKAGE_DIR = os.path.dirname(os.path.abspath(fastdense.__file__))

# Run by `python -c` with the module's name as argv[1].
IMPORT_FIRST = """
import importlib, importlib.util, os, sys, types
name = sys.argv[1]
parts = name.split(".")
location = os.path.dirname(importlib.util.find_spec(parts[0]).origin)
for depth in range(1, len(parts)):  # the packages above the module, left uninitialised
    package = types.ModuleType(".".join(parts[:depth]))
    package.__path__ = [os.path.join(location, *parts[1:depth])]
    sys.modules[package.__name__] = package
importlib.import_module(name)
"""


def all_modules():
    return ["fastdense"] + [m.name for m in pkgutil.walk_packages([PACKAGE_DIR], "fastdense.")]


def import_first(name, cwd, env):
    result = subprocess.run([sys.executable, "-c", IMPORT_FIRST, name], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    return name, result.returncode, result.stderr


def test_every_module_imports_on_its_own(tmp_path):
    modules = all_modules()
    assert {"fastdense.autodiff.base", "fastdense.autodiff.tape", "fastdense.autodiff.api"} <= set(modules)
    # From an empty folder with the package's parent on the path: the package under test is imported.
    package_parent = os.path.dirname(PACKAGE_DIR)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p))
    with ThreadPoolExecutor(max_workers=min(4, max(2, os.cpu_count() or 1))) as pool:
        results = list(pool.map(lambda name: import_first(name, tmp_path, env), modules))
    failures = [f"{name}:\n{stderr.strip()[-1500:]}" for name, code, stderr in results if code != 0]
    assert not failures, f"{len(failures)} of {len(modules)} modules do not import on their own:\n\n" + \
        "\n\n".join(failures)


WAIT_SETTINGS = "import fastdense, os; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"


@pytest.mark.parametrize("user, expected", [
    ({}, "PASSIVE 3000"),  # spin ~30 µs, then sleep (fastdense/__init__.py says why)
    ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE None"),  # the user's policy, not bounded by fastdense's count
    ({"GOMP_SPINCOUNT": "0"}, "None 0"),
    ({"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "50"}, "PASSIVE 50"),
])
def test_thread_wait_defaults_keep_what_the_user_set(tmp_path, user, expected):
    """Importing fastdense sets how OpenMP threads wait only when the user set neither variable,
    and before the native module loads the runtime that reads them once."""
    package_parent = os.path.dirname(os.path.dirname(fastdense.__file__))
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(user, PYTHONPATH=package_parent)
    result = subprocess.run([sys.executable, "-c", WAIT_SETTINGS], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected.split()
