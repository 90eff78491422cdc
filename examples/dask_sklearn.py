"""fastdense's scikit-learn wrappers on Dask: dask-ml's `ParallelPostFit` predicting a dask array
and a dask dataframe partition by partition, and a `GridSearchCV` whose fits run on the cluster
through joblib's Dask backend, on a `distributed.LocalCluster` of worker processes.

    pip install 'fastdense[dask]' dask-ml
    python examples/dask_sklearn.py [--workers 2] [--rows 8000]

- `ParallelPostFit(estimator=SKLearnRegressor(...)).fit(X, y)` trains here, in this process;
  `predict(dask_array)` then runs `estimator.predict` on each block in the workers. A fitted
  wrapper reports its model's size to Dask (`sys.getsizeof`), so a model over 1 MB goes into the
  graph once, as its own key, and reaches each worker once. A dask *dataframe* is predicted the
  same way, but dask's dataframe `map_partitions` puts the estimator into every partition's task
  (it is pickled once per partition): for a large model, predict `frame.to_dask_array(lengths=True)`.
- `with joblib.parallel_backend("dask"): GridSearchCV(..., n_jobs=2).fit(X, y)` sends each
  (candidate, fold) fit to a worker. Every fit is seeded (the wrappers' `random_state`, 0 by
  default), so the scores are those of the same search run locally.
- Threads: Dask starts its worker processes with OMP_NUM_THREADS=1 (its `distributed.nanny.
  pre-spawn-environ` setting), and fastdense follows it: one engine thread per Dask worker thread,
  so 2 workers on 2 cores do not oversubscribe them.
"""

import argparse

import numpy as np


def regression_model(X, y, units=32):
    """The wrappers' model factory: called with the training data inside each fit."""
    import fastdense as fd

    model = fd.Sequential([fd.Input((X.shape[1],)), fd.layers.Dense(units, activation="relu"),
                           fd.layers.Dense(y.shape[1])])
    model.compile(optimizer="adam", loss="mse")
    return model


def engine_threads():
    import fastdense as fd

    return fd.get_num_threads()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=8000)
    args = parser.parse_args()

    import dask.array as da
    import dask.dataframe as dd
    import joblib
    import pandas as pd
    from dask_ml.wrappers import ParallelPostFit
    from distributed import Client, LocalCluster, get_task_stream
    from sklearn.model_selection import GridSearchCV

    from fastdense.wrappers import SKLearnClassifier, SKLearnRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, 10)).astype(np.float32)
    y = x @ rng.normal(size=10).astype(np.float32) + 0.1 * rng.normal(size=args.rows).astype(np.float32)
    labels = np.where(x[:, 0] + x[:, 1] > 0, "up", "down")
    train = slice(0, 1000)

    regressor = ParallelPostFit(SKLearnRegressor(regression_model, fit_kwargs={"epochs": 3}))
    regressor.fit(x[train], y[train])
    columns = [f"x{i}" for i in range(10)]
    table = pd.DataFrame(x, columns=columns)
    table_regressor = ParallelPostFit(SKLearnRegressor(regression_model, fit_kwargs={"epochs": 3}))
    table_regressor.fit(table.iloc[train], y[train])  # fitted with column names, predicts tables
    classifier = ParallelPostFit(SKLearnClassifier(
        regression_model, model_kwargs={"units": 16}, fit_kwargs={"epochs": 3}))
    classifier.fit(x[train], labels[train])
    local_values, local_labels = regressor.predict(x), classifier.predict(x)
    local_table_values = table_regressor.predict(table)

    grid = {"model_kwargs": [{"units": 8}, {"units": 32}]}
    local_search = GridSearchCV(SKLearnRegressor(regression_model), grid, cv=2, n_jobs=1).fit(x[train], y[train])

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        threads = sorted(client.run(engine_threads).values())
        blocks = da.from_array(x, chunks=(args.rows // 8, 10))
        array_values = regressor.predict(blocks)
        frame = dd.from_pandas(table, npartitions=8)
        frame_values = table_regressor.predict(frame)
        array_values, frame_values, array_labels = client.compute(
            [array_values, frame_values, classifier.predict(blocks)], sync=False)
        array_values, frame_values = array_values.result(timeout=120), frame_values.result(timeout=120)
        array_labels = array_labels.result(timeout=120)

        with joblib.parallel_backend("dask"), get_task_stream(client) as tasks:
            dask_search = GridSearchCV(SKLearnRegressor(regression_model), grid, cv=2, n_jobs=2).fit(x[train], y[train])
        workers_used = len({task["worker"] for task in tasks.data})

    print(f"fastdense engine threads in each worker process: {threads}")
    print(f"ParallelPostFit over {blocks.numblocks[0]} array blocks: max |difference| to local predict "
          f"{np.abs(array_values - local_values).max():.3g}")
    print(f"ParallelPostFit over {frame.npartitions} dataframe partitions: max |difference| "
          f"{np.abs(np.asarray(frame_values) - local_table_values).max():.3g}")
    print(f"classifier labels equal to local predict: {bool((array_labels == local_labels).all())}")
    scores_local = local_search.cv_results_["mean_test_score"]
    scores_dask = dask_search.cv_results_["mean_test_score"]
    print(f"GridSearchCV on {workers_used} Dask workers: best {dask_search.best_params_}, scores {np.round(scores_dask, 4)} "
          f"(local: {np.round(scores_local, 4)})")
    np.testing.assert_allclose(array_values, local_values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(frame_values), local_table_values, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(array_labels, local_labels)
    np.testing.assert_allclose(scores_dask, scores_local, rtol=1e-4, atol=1e-6)
    assert dask_search.best_params_ == local_search.best_params_
    assert workers_used == min(args.workers, 2)  # n_jobs=2: the fits ran on two worker processes
    print("same numbers as locally")


if __name__ == "__main__":
    main()
