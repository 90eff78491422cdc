"""The scikit-learn wrappers on Dask: dask-ml's ParallelPostFit predicting dask arrays and
dataframes of several partitions, and GridSearchCV under joblib's Dask backend, on a real
2-worker LocalCluster of processes (examples/dask_sklearn.py, killed with its workers on timeout);
and a large fitted wrapper entering a dask array's graph once, not once per partition."""

import os
import pickle
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")
pytest.importorskip("dask_ml")
pytest.importorskip("pandas")

import dask.array as da  # noqa: E402
from dask_ml.wrappers import ParallelPostFit  # noqa: E402

import fastdense as fd  # noqa: E402
from fastdense.wrappers import SKLearnRegressor  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))


def _wide_model(X, y):
    model = fd.Sequential([fd.Input((X.shape[1],)), fd.layers.Dense(4096, activation="relu"), fd.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_a_large_fitted_wrapper_enters_a_dask_array_graph_once():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 30)).astype(np.float32)
    estimator = ParallelPostFit(SKLearnRegressor(_wide_model, fit_kwargs={"epochs": 1}))
    estimator.fit(x, x[:, 0])
    wrapper_bytes = len(pickle.dumps(estimator.estimator))
    # sys.getsizeof reports the weights and the optimizer's slots (what pickling carries, about).
    assert 0.9 * wrapper_bytes < sys.getsizeof(estimator.estimator) < 4 * wrapper_bytes

    predicted = estimator.predict(da.from_array(x, chunks=(50, 30)))
    task_bytes = sorted(len(pickle.dumps(task)) for task in dict(predicted.__dask_graph__()).values())
    # Over dask's 1 MB mark: the 8 partitions' tasks and the blocks are small; one task holds the estimator.
    assert task_bytes[-1] > wrapper_bytes / 2 and task_bytes[-2] < wrapper_bytes / 20
    # Equal to the last bits on fastdense's own kernels (AVX-512); on the openblas path (CPUs without
    # it) OpenBLAS runs a product's edge rows on other kernels, so a row's last bits depend on how
    # many rows share its call: blocks of 50 against one call of 400 (seen on an AMD EPYC, 1.2e-7).
    np.testing.assert_allclose(predicted.compute(scheduler="sync"), estimator.estimator.predict(x), rtol=1e-6,
                               atol=1e-6)


def test_an_unfitted_wrapper_is_small_for_dask():
    assert sys.getsizeof(SKLearnRegressor(_wide_model)) < 1000


def test_parallel_post_fit_and_a_dask_grid_search_on_a_local_cluster(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (PACKAGE_PARENT, os.environ.get("PYTHONPATH")) if p))
    # A session of its own: on timeout the script and its cluster's worker processes end together.
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "examples", "dask_sklearn.py"), "--rows", "4000"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"examples/dask_sklearn.py did not end within 240 s:\n{stdout[-2000:]}\n{stderr[-3000:]}")
    assert process.returncode == 0, stderr[-3000:]
    assert "feature names" not in stderr  # tables are predicted by the wrapper fitted on a table
    assert "fastdense engine threads in each worker process: [1, 1]" in stdout
    # Float32 rounding at most (0 on the own kernels; see the test above for the openblas path).
    differences = re.findall(r"ParallelPostFit over 8 (?:array blocks|dataframe partitions): max \|difference\|"
                             r"(?: to local predict)? (\S+)\n", stdout)
    assert len(differences) == 2 and all(float(d) <= 1e-5 for d in differences), stdout
    assert "GridSearchCV on 2 Dask workers" in stdout
    assert "same numbers as locally" in stdout
