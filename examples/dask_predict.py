"""Distributed prediction with Dask: a fastdense model applied to a dask array and a dask
dataframe on a `distributed.LocalCluster` of worker processes, checked against a local predict.

    python examples/dask_predict.py [--workers 2] [--rows 20000]

The model travels to the workers once: `client.scatter(model, broadcast=True)` pickles it
once and stores it on every worker; each partition's task then refers to that stored copy by
key. (Writing `x.map_blocks(model.predict)` also works, but puts the model into every task, so
it is pickled and sent once per partition.)

Until fastdense models pickle themselves (the reliability issue), `shippable(model)` stands in
for the model: its architecture (to_json) and weights, rebuilt once in each worker process.
Once `pickle.dumps(model)` works after training, `shippable` returns the model itself.
"""

import argparse
import pickle

import numpy as np


class RebuiltModel:
    """A model as JSON + weights, rebuilt on first use in the process that unpickled it."""

    def __init__(self, model):
        self.architecture = model.to_json()
        self.weights = model.get_weights()
        self._model = model

    def __getstate__(self):
        return {"architecture": self.architecture, "weights": self.weights}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._model = None

    def predict(self, x, **kwargs):
        if self._model is None:
            import fastdense as fd

            self._model = fd.models.model_from_json(self.architecture)
            self._model.set_weights(self.weights)
        return self._model.predict(x, **kwargs)


def shippable(model):
    """The model, if it survives pickling after use; else its JSON + weights stand-in."""
    try:
        pickle.loads(pickle.dumps(model)).predict(np.zeros((1,) + tuple(model.inputs[0].shape[1:]), "float32"),
                                                  verbose=0)
        return model
    except Exception:  # noqa: BLE001 — any failure means: not picklable yet
        return RebuiltModel(model)


def predict_block(block, model):
    """One partition's predictions (a dask task: `model` is the scattered copy on this worker)."""
    return model.predict(np.asarray(block, dtype=np.float32), verbose=0)


def predict_partition(frame, model, columns):
    import pandas as pd

    return pd.DataFrame(predict_block(frame.to_numpy(), model), index=frame.index, columns=columns)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()

    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client, LocalCluster

    import fastdense as fd

    fd.utils.set_random_seed(0)
    model = fd.Sequential([fd.Input((20,)), fd.layers.Dense(64, activation="relu"), fd.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.rows, 20)).astype(np.float32)
    model.fit(x[:2000], rng.normal(size=(2000, 3)).astype(np.float32), epochs=2, verbose=0)
    local = model.predict(x, verbose=0)

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote_model = client.scatter(shippable(model), broadcast=True)  # once, to every worker

        blocks = da.from_array(x, chunks=(args.rows // 8, 20))
        from_array = blocks.map_blocks(predict_block, remote_model, dtype=np.float32, chunks=(blocks.chunks[0], (3,)))
        array_result = from_array.compute()

        columns = ["y0", "y1", "y2"]
        frame = dd.from_pandas(pd.DataFrame(x, columns=[f"x{i}" for i in range(20)]), npartitions=8)
        meta = pd.DataFrame({c: np.array([], dtype=np.float32) for c in columns})
        frame_result = frame.map_partitions(predict_partition, remote_model, columns, meta=meta).compute()

    print(f"dask.array map_blocks over {len(blocks.chunks[0])} blocks: max |difference| to local predict "
          f"{np.abs(array_result - local).max():.3g}")
    print(f"dask.dataframe map_partitions over {frame.npartitions} partitions: max |difference| "
          f"{np.abs(frame_result.to_numpy() - local).max():.3g}")
    np.testing.assert_allclose(array_result, local, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(frame_result.to_numpy(), local, rtol=1e-5, atol=1e-6)
    print("same numbers as a local predict")


if __name__ == "__main__":
    main()
