"""The public API's annotations, as a type checker sees them: mypy checks the examples and
tests/typing/usage.py (the tutorial's workflow with `assert_type`s on what each call returns)
against fastdense's signatures, using the `[tool.mypy]` settings in pyproject.toml. The same
usage file then runs, so the typed code is also working code."""

import importlib.util
import os
import runpy
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USAGE = os.path.join(ROOT, "tests", "typing", "usage.py")


def test_the_package_ships_its_type_marker():
    # PEP 561: without py.typed, type checkers ignore an installed package's annotations.
    assert os.path.isfile(os.path.join(ROOT, "fastdense", "py.typed"))


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_accepts_the_examples_and_the_typed_usage(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", os.path.join(ROOT, "pyproject.toml"),
         "--cache-dir", str(tmp_path / "mypy_cache"), "--no-error-summary", "examples", "tests/typing"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_rejects_a_wrong_argument_type(tmp_path):
    # The check above means something only if the signatures are seen: a str for `epochs` fails.
    wrong = tmp_path / "wrong.py"
    wrong.write_text("from fastdense import layers, models\n"
                     "model = models.Sequential([layers.Input((3,)), layers.Dense(1)])\n"
                     "model.compile(loss='mse')\n"
                     "model.fit([[0.0, 1.0, 2.0]], [[1.0]], epochs='3')\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", os.path.join(ROOT, "pyproject.toml"),
         "--cache-dir", str(tmp_path / "mypy_cache"), str(wrong)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Argument "epochs" to "fit"' in result.stdout


def test_the_typed_usage_runs():
    runpy.run_path(USAGE, run_name="__main__")
