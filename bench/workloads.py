"""One benchmark workload for one library, run in a fresh process by bench/run.py.

    python bench/workloads.py LIBRARY WORKLOAD JSON_OPTIONS  →  prints one JSON line of results

Libraries: fastdense, keras (tf.keras, TensorFlow backend), torch. Every library trains the
same network on the same synthetic data with the same optimizer; timings exclude start-up and a
warm-up pass (TensorFlow traces its functions, PyTorch allocates) and use all cores.
"""

import json
import os
import resource
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def mlp_data(samples, inputs, classes, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, inputs), dtype=np.float32)  # no float64 copy to inflate peak memory
    y = rng.integers(0, classes, size=samples).astype(np.int64)
    return x, y


def seed_data(seed=0):
    """The tutorial's y = A·X + b data (100 training, 30 validation samples, 10 features)."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(20, 100, size=10), 5
    def make(count):
        x = np.array([np.linspace(-1, 1, count) for _ in range(10)]).T.astype(np.float32)
        y = (x @ a + b + rng.normal(size=count) * 2).astype(np.float32).reshape(-1, 1)
        return x, y
    return make(100), make(30)


# ------------------------------------------------------------------------------ model builders
def keras_like_model(lib, sizes, activation, logits_output):
    """A Sequential MLP with fastdense or tf.keras (same API)."""
    if lib == "fastdense":
        import fastdense as K
    else:
        import keras as K
    model = K.Sequential([K.Input((sizes[0],))] + [K.layers.Dense(n, activation=activation) for n in sizes[1:-1]]
                         + [K.layers.Dense(sizes[-1])])
    return K, model


def torch_model(sizes, activation):
    import torch

    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 and activation == "relu":
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def per_call_us(fn, calls, chunks=5):
    """Microseconds per call of fn: after a warm-up, the median over `chunks` runs of calls/chunks
    calls each, so that one burst of machine noise (a preempted core) moves one chunk, not the result."""
    for _ in range(max(5, calls // 10)):
        fn()
    per_chunk = max(1, calls // chunks)
    times = []
    for _ in range(chunks):
        started = time.perf_counter()
        for _ in range(per_chunk):
            fn()
        times.append((time.perf_counter() - started) / per_chunk * 1e6)
    return float(np.median(times))


# ---------------------------------------------------------------------------------- workloads
def mlp_training(lib, options):
    """Workloads 3, 4 and 6: relu MLP, Adam, sparse CE from logits; samples/s of training and
    predict. Options: sizes, batch, samples, epochs, warmup_batches, predict (False skips it)."""
    sizes = options.get("sizes", [784, 256, 256, 10])
    batch, samples, epochs = options.get("batch", 128), options.get("samples", 60000), options.get("epochs", 1)
    x, y = mlp_data(samples, sizes[0], sizes[-1])
    if lib == "torch":
        import torch

        torch.manual_seed(0)
        model = torch_model(sizes, "relu")
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = torch.nn.CrossEntropyLoss()

        def train(xs, ys, n_epochs):
            xt, yt = torch.from_numpy(xs), torch.from_numpy(ys)
            for _ in range(n_epochs):
                order = torch.randperm(len(xs))
                for start in range(0, len(xs), batch):
                    index = order[start:start + batch]
                    optimizer.zero_grad(set_to_none=True)
                    loss_fn(model(xt[index]), yt[index]).backward()
                    optimizer.step()

        def predict(xs):
            xt = torch.from_numpy(xs)
            with torch.inference_mode():
                return [model(xt[start:start + batch]) for start in range(0, len(xs), batch)]
    else:
        K, model = keras_like_model(lib, sizes, "relu", True)
        model.compile(optimizer=K.optimizers.Adam(1e-3), loss=K.losses.SparseCategoricalCrossentropy(from_logits=True))

        def train(xs, ys, n_epochs):
            model.fit(xs, ys, batch_size=batch, epochs=n_epochs, verbose=0)

        def predict(xs):
            return model.predict(xs, batch_size=batch, verbose=0)

    with_predict = options.get("predict", True)
    warm = min(samples, options.get("warmup_batches", 20) * batch)  # tracing, first allocations: untimed
    train(x[:warm], y[:warm], 1)
    if with_predict:
        predict(x[:warm])
    started = time.perf_counter()
    train(x, y, epochs)
    train_seconds = time.perf_counter() - started
    steps = -(-samples // batch) * epochs
    flops_per_sample = 6 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))  # forward 2·, backward 4·
    results = {
        "train_samples_per_s": samples * epochs / train_seconds,
        "step_us": train_seconds / steps * 1e6,
        "train_gflops": flops_per_sample * samples * epochs / train_seconds / 1e9,
    }
    if with_predict:
        # The timed call is the second of its size: the warm-up's few rows take other paths (in
        # fastdense, fewer rows than threads x batch skip the weight packing whose first buffers
        # fault ~100 MB of pages in on the wide model), and a first call's allocations are not throughput.
        predict(x)
        started = time.perf_counter()
        predict(x)
        results["predict_samples_per_s"] = samples / (time.perf_counter() - started)
        results["predict_gflops"] = results["predict_samples_per_s"] * flops_per_sample / 3 / 1e9  # forward only
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def sgemm_peak(lib, options):
    """The machine's float32 matrix-product peak, to judge the wide MLP by: the best GFLOP/s of
    NumPy's (OpenBLAS) and, when installed, PyTorch's n×n products on all cores (`lib` is unused)."""
    n, seconds = options.get("n", 4096), options.get("seconds", 3.0)
    a, b = (np.random.default_rng(0).standard_normal((n, n), dtype=np.float32) for _ in range(2))
    products = {"numpy": lambda: a @ b}
    try:
        import torch

        torch.set_num_threads(os.cpu_count())
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        products["torch"] = lambda: torch.mm(ta, tb)
    except ImportError:
        pass
    best = {}
    for name, product in products.items():
        product()
        started, times = time.perf_counter(), []
        while time.perf_counter() - started < seconds / len(products) or len(times) < 3:
            t = time.perf_counter()
            product()
            times.append(time.perf_counter() - t)
        best[name] = 2 * n**3 / min(times) / 1e9
    return {"sgemm_gflops": max(best.values()), **{f"{name}_sgemm_gflops": v for name, v in best.items()}}


def seed_example(lib, options):
    """Workload 1: the tutorial's 10-64-64-1 linear network, RMSprop, MSE, 100 epochs, batch 32."""
    (x, y), (vx, vy) = seed_data()
    epochs = options.get("epochs", 100)
    if lib == "torch":
        import torch

        model = torch_model([10, 64, 64, 1], "linear")
        optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
        xt, yt, vxt, vyt = map(torch.from_numpy, (x, y, vx, vy))

        def step(xb, yb):
            optimizer.zero_grad(set_to_none=True)
            loss = torch.mean((model(xb) - yb) ** 2)
            loss.backward()
            optimizer.step()

        def fit(n_epochs):
            for _ in range(n_epochs):
                order = torch.randperm(100)
                for start in range(0, 100, 32):
                    index = order[start:start + 32]
                    step(xt[index], yt[index])
                with torch.no_grad():
                    torch.mean((model(vxt) - vyt) ** 2)

        def train_on_batch():
            step(xt[:32], yt[:32])
    else:
        K, model = keras_like_model(lib, [10, 64, 64, 1], None, False)
        model.compile(optimizer=K.optimizers.RMSprop(), loss="mean_squared_error", metrics=["mae"])

        def fit(n_epochs):
            model.fit(x, y, epochs=n_epochs, batch_size=32, validation_data=(vx, vy), verbose=0)

        def train_on_batch():
            model.train_on_batch(x[:32], y[:32])

    fit(1)
    started = time.perf_counter()
    fit(epochs)
    fit_seconds = time.perf_counter() - started
    return {"fit_s": fit_seconds, "train_on_batch_us": per_call_us(train_on_batch, options.get("calls", 500))}


def predict_latency(lib, options):
    """Workload 2: predict() on one sample, and calling the model on a batch of 8."""
    sizes = options.get("sizes", [10, 64, 64, 1])
    rng = np.random.default_rng(0)
    one = rng.normal(size=(1, sizes[0])).astype(np.float32)
    small = rng.normal(size=(8, sizes[0])).astype(np.float32)
    calls = options.get("calls", 300)
    if lib == "torch":
        import torch

        model = torch_model(sizes, "relu")
        one_t, small_t = torch.from_numpy(one), torch.from_numpy(small)

        def predict_one():
            with torch.inference_mode():
                return model(one_t).numpy()

        def call_small():
            with torch.inference_mode():
                return model(small_t)
    else:
        K, model = keras_like_model(lib, sizes, "relu", False)

        def predict_one():
            return model.predict(one, verbose=0)

        def call_small():
            return model(small)

    return {name: per_call_us(fn, calls) for name, fn in (("predict_one_us", predict_one), ("call_batch8_us", call_small))}


WORKLOADS = {"mlp": mlp_training, "seed": seed_example, "latency": predict_latency, "sgemm": sgemm_peak}


def main():
    lib, workload = sys.argv[1], sys.argv[2]
    options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    if lib == "torch":
        import torch

        torch.set_num_threads(os.cpu_count())
    result = WORKLOADS[workload](lib, options)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
