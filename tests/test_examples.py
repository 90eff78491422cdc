"""The examples run end to end, as a user runs them."""

import os
import subprocess
import sys

import fastdense

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_linear_regression_example_quick(tmp_path):
    """The tutorial's script: trains, saves the model to .h5, loads it back and predicts."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))
    env = dict(os.environ, TMPDIR=str(tmp_path), MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "linear_regression.py"), "--quick"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "fit: 10 epochs" in result.stdout
    # The saved .h5 file was loaded back and then removed by the script.
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".h5")]


def test_structured_data_example_quick(tmp_path):
    """keras.io's FeatureSpace recipe on a synthetic table: adapts, trains, evaluates, predicts."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))
    env = dict(os.environ, TMPDIR=str(tmp_path),
               PYTHONPATH=os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "structured_data.py"), "--quick"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "preprocessed_x.shape: (32, " in result.stdout
    accuracy = float(result.stdout.split("validation accuracy: ")[1].split()[0])
    assert accuracy > 0.65  # the synthetic target is learnable; chance is ~0.5
    assert "probability of having a heart disease" in result.stdout
