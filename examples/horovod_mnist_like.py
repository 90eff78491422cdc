"""Data-parallel training with fastdense.horovod (Horovod's Keras API) on an MNIST-shaped task
(784 inputs, 10 classes; synthetic data, so it runs offline).

    python -m fastdense.horovod.run -np 2 examples/horovod_mnist_like.py    # 2 ranks
    mpiexec -n 2 python examples/horovod_mnist_like.py                      # the same
    python examples/horovod_mnist_like.py                                   # 1 process

It is the usual Horovod Keras script with `import fastdense.horovod as hvd`: each rank trains on
its shard, gradients are averaged in every step, the learning rate is scaled by the number of
ranks with a warmup, rank 0's weights are broadcast before the first update, logs are averaged
over the ranks, and only rank 0 prints and writes checkpoints. Run it again with --resume to
continue from rank 0's checkpoint (with any number of ranks).
"""

import argparse
import os

import numpy as np

import fastdense as fd
import fastdense.horovod as hvd


def synthetic_mnist(samples, seed=0):
    """Ten Gaussian clusters in 784 dimensions, as float32 pixels and integer labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(10, 784)).astype(np.float32)
    labels = rng.integers(0, 10, size=samples)
    images = centers[labels] + 2.0 * rng.normal(size=(samples, 784)).astype(np.float32)
    return images, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=64, help="per rank")
    parser.add_argument("--checkpoint", default="horovod_mnist_like.keras")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()

    hvd.init()
    x, y = synthetic_mnist(args.samples)
    shard = slice(hvd.rank(), None, hvd.size())  # every rank its own rows
    x_train, y_train = x[shard], y[shard]

    initial_epoch = 0
    if args.resume and os.path.exists(args.checkpoint):
        model = hvd.load_model(args.checkpoint)  # the optimizer comes back wrapped, with its state
        initial_epoch = hvd.broadcast_object(int(model.optimizer.iterations) // -(-len(x_train) // args.batch_size), 0)
    else:
        model = fd.Sequential([
            fd.Input((784,)),
            fd.layers.Dense(256, activation="relu"),
            fd.layers.Dense(256, activation="relu"),
            fd.layers.Dense(10, activation="softmax"),
        ])
        optimizer = hvd.DistributedOptimizer(fd.optimizers.Adam(0.001 * hvd.size()))
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    callbacks = [
        hvd.callbacks.BroadcastGlobalVariablesCallback(0),
        hvd.callbacks.MetricAverageCallback(),
        hvd.callbacks.LearningRateWarmupCallback(initial_lr=0.001 * hvd.size(), warmup_epochs=1, verbose=1),
    ]
    if hvd.rank() == 0:
        callbacks.append(fd.callbacks.ModelCheckpoint(args.checkpoint))
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, initial_epoch=initial_epoch,
                        callbacks=callbacks, verbose=1 if hvd.rank() == 0 else 0)
    if hvd.rank() == 0:
        accuracy = history.history["accuracy"][-1] if history.history else float("nan")
        print(f"{hvd.size()} rank(s): final accuracy (averaged over ranks) {accuracy:.3f}")


if __name__ == "__main__":
    main()
