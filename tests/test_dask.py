"""Prediction on a real 2-worker `distributed.LocalCluster`: dask.array map_blocks and
dask.dataframe map_partitions give the numbers of a local predict, and the model travels to the
workers once (scattered), not inside every partition's task."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import fastdense as fd  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))
from dask_predict import predict_block, predict_partition, shippable  # noqa: E402

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fd.__file__)))


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster, timeout=60) as c:
        yield c


def _model():
    fd.utils.set_random_seed(3)
    model = fd.Sequential([fd.Input((30,)), fd.layers.Dense(512, activation="relu"), fd.layers.Dense(4)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_map_blocks_and_map_partitions_equal_a_local_predict(client):
    model = _model()
    x = np.random.default_rng(0).normal(size=(3000, 30)).astype(np.float32)
    local = model.predict(x, verbose=0)
    remote = client.scatter(shippable(model), broadcast=True)

    blocks = da.from_array(x, chunks=(500, 30))
    predicted = blocks.map_blocks(predict_block, remote, dtype=np.float32, chunks=(blocks.chunks[0], (4,)))
    # The graph refers to the scattered model by key: no partition's task carries its weights.
    model_bytes = len(pickle.dumps(shippable(model)))
    predict_tasks = dict(predicted.__dask_graph__().layers[predicted.name])
    assert len(predict_tasks) == 6 and len(pickle.dumps(predict_tasks)) < model_bytes / 4
    np.testing.assert_allclose(predicted.compute(), local, rtol=1e-5, atol=1e-6)

    frame = dd.from_pandas(pd.DataFrame(x, columns=[f"x{i}" for i in range(30)]), npartitions=6)
    columns = ["a", "b", "c", "d"]
    meta = pd.DataFrame({c: np.array([], dtype=np.float32) for c in columns})
    result = frame.map_partitions(predict_partition, remote, columns, meta=meta).compute()
    assert list(result.columns) == columns and len(result) == len(x)
    np.testing.assert_allclose(result.to_numpy(), local, rtol=1e-5, atol=1e-6)
    # Each of the two workers holds one copy of the model.
    assert len(client.who_has(remote)[remote.key]) == 2


def test_the_dask_example_runs(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (PACKAGE_PARENT, os.environ.get("PYTHONPATH")) if p))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "dask_predict.py"), "--rows", "4000"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same numbers as a local predict" in result.stdout
