"""The native bridge's layering, read from the source: only `fastdense.native` and the families
whose objects are native themselves import `fastdense._core`, and `fastdense.native` imports
nothing of the API above it (imports flow API -> native -> _core)."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "fastdense"

# Besides fastdense/native/: activation and loss kernels run by activations.py and autodiff's
# primitives, the native optimizer objects of optimizers/base.py, and the package __init__
# (it loads OpenBLAS before _core, and exposes set_num_threads/get_num_threads).
CORE_IMPORTERS_OUTSIDE_NATIVE = {"__init__.py", "activations.py", "autodiff/native.py", "optimizers/base.py"}
API_PACKAGES = ("fastdense.layers", "fastdense.models", "fastdense.trainers", "fastdense.callbacks",
                "fastdense.saving")


def imported_modules(path):
    """Every module an import statement of `path` names (`from a import b` gives a and a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def sources():
    return sorted(PACKAGE.rglob("*.py"))


def test_only_the_native_package_and_native_families_import_core():
    importers = {path.relative_to(PACKAGE).as_posix() for path in sources()
                 if "fastdense._core" in imported_modules(path)}
    assert importers, "the walk found no importer of fastdense._core at all"
    outside = {p for p in importers if not p.startswith("native/")}
    assert outside == CORE_IMPORTERS_OUTSIDE_NATIVE
    assert {"native/network.py", "native/arrays.py"} <= importers


def test_native_imports_nothing_of_the_api_above_it():
    for path in sorted((PACKAGE / "native").glob("*.py")):
        upward = {m for m in imported_modules(path) if m.startswith(API_PACKAGES)}
        assert upward == set(), f"{path.name} imports {sorted(upward)}"


def test_python_nodes_lives_only_in_the_native_package():
    assert not (PACKAGE / "python_nodes.py").exists()
    for path in sources():
        assert "fastdense.python_nodes" not in imported_modules(path), path
