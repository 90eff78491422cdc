"""mixed_bfloat16 training keeps each Dense kernel packed in bfloat16 between the steps of one
train call (the optimizer packs it while it updates it): the results are exactly those of packing
the kernel in every product, and the packed kernel is never read after anything else may have
changed the weights (a new train call, Python code running inside one, a constraint)."""

import numpy as np
import pytest

import fastdense
from fastdense import _core, callbacks, constraints, layers, losses, models, ops, optimizers

PACKED_PATHS = [p for p in ("amx", "avx512bf16") if p in _core.lowp_info()["bfloat16_paths"]]
needs_packed_path = pytest.mark.skipif(not PACKED_PATHS, reason="no AMX or AVX512-BF16 on this CPU")


@pytest.fixture(params=PACKED_PATHS or ["none"])
def packed_path(request):
    """Each bf16 path that reads packed operands, forced for the test; the cache switch restored."""
    if request.param == "none":
        pytest.skip("no AMX or AVX512-BF16 on this CPU")
    _core.lowp_force_path(request.param)
    before = _core.bf16_weight_cache()
    yield request.param
    _core.set_bf16_weight_cache(before)
    _core.lowp_force_path("")


def mixed_mlp(sizes, seed=0, kernel_constraint=None, activation="relu"):
    fastdense.utils.set_random_seed(seed)
    stack = [layers.Input((sizes[0],))]
    stack += [layers.Dense(w, activation=activation, dtype="mixed_bfloat16") for w in sizes[1:-1]]
    stack.append(layers.Dense(sizes[-1], dtype="mixed_bfloat16", kernel_constraint=kernel_constraint))
    return models.Sequential(stack)


def data(sizes, rows, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, sizes[0])).astype(np.float32), rng.integers(0, sizes[-1], rows)


def trained(cache, build, train):
    """The weights and losses of a fresh model (build()) trained by train(model) with the cache on
    or off, and how many products read a packed kernel meanwhile."""
    _core.set_bf16_weight_cache(cache)
    model = build()
    reads = _core.bf16_weight_cache_reads()
    history = train(model)
    return [w.copy() for w in model.get_weights()], history, _core.bf16_weight_cache_reads() - reads


def assert_same_training(build, train, expect_reads=True):
    with_cache, history_with, reads = trained(True, build, train)
    without_cache, history_without, reads_without = trained(False, build, train)
    assert reads_without == 0
    assert (reads > 0) == expect_reads
    assert history_with == history_without
    for a, b in zip(with_cache, without_cache):
        assert np.array_equal(a, b)
    return reads


def compiled(model, optimizer, loss="sparse_categorical_crossentropy"):
    model.compile(optimizer=optimizer, loss=loss)
    return model


@pytest.mark.parametrize("optimizer", [lambda: optimizers.Adam(1e-3),
                                       lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True)],
                         ids=["adam", "sgd_momentum"])
# 512x512: a kernel large enough for the update to split its chunks across the engine's threads.
@pytest.mark.parametrize("sizes", [(100, 70, 30, 10), (37, 45, 33, 5), (64, 512, 512, 16)], ids=str)
def test_packed_kernels_give_the_same_training(packed_path, optimizer, sizes):
    x, y = data(sizes, 160)

    def train(model):
        history = model.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False)
        return history.history["loss"]

    reads = assert_same_training(lambda: compiled(mixed_mlp(sizes), optimizer()), train)
    # Per epoch of 5 steps, the last 4 read every kernel forward and (except the first layer's) backward.
    assert reads == 3 * 4 * (3 + 2)


@pytest.mark.parametrize("optimizer", [
    lambda: optimizers.AdamW(1e-3, weight_decay=0.01, clipnorm=0.5),
    lambda: optimizers.RMSprop(1e-3, momentum=0.5, centered=True),
    lambda: optimizers.Adagrad(0.01),
    lambda: optimizers.Adadelta(1.0),
    lambda: optimizers.Adamax(1e-3),
    lambda: optimizers.Nadam(1e-3),
    lambda: optimizers.Adam(1e-3, amsgrad=True, global_clipnorm=1.0),
    lambda: optimizers.SGD(0.01, clipvalue=0.1),
], ids=["adamw_clipnorm", "rmsprop_centered", "adagrad", "adadelta", "adamax", "nadam", "amsgrad_global_clipnorm",
        "sgd_clipvalue"])
def test_every_rule_with_weight_decay_and_clipping_gives_the_same_training(packed_path, optimizer):
    sizes = (40, 48, 32, 6)
    x, y = data(sizes, 96)
    assert_same_training(lambda: compiled(mixed_mlp(sizes), optimizer()),
                         lambda m: m.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False).history)


def test_set_weights_between_train_calls_is_used_by_the_next_step(packed_path):
    sizes = (50, 64, 32, 4)
    x, y = data(sizes, 64)
    _core.set_bf16_weight_cache(True)
    model = compiled(mixed_mlp(sizes), optimizers.Adam(1e-3))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)  # fills and reads the cache
    new_weights = [w * 0.5 + 0.01 for w in mixed_mlp(sizes, seed=7).get_weights()]
    model.set_weights(new_weights)
    losses_after = [model.train_on_batch(x[:16], y[:16]) for _ in range(2)]
    losses_after.append(model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False).history["loss"])

    fresh = compiled(mixed_mlp(sizes), optimizers.Adam(1e-3))
    fresh.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)  # the same optimizer state
    fresh.set_weights(new_weights)
    _core.set_bf16_weight_cache(False)
    expected = [fresh.train_on_batch(x[:16], y[:16]) for _ in range(2)]
    expected.append(fresh.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False).history["loss"])
    assert losses_after == expected
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        assert np.array_equal(a, b)


def test_a_callback_assigning_weights_on_batch_end_is_seen_by_the_next_step(packed_path):
    sizes = (30, 48, 16, 3)
    x, y = data(sizes, 120)

    class Shrink(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch % 2 == 0:
                kernel = self.model.layers[1].kernel
                kernel.assign(kernel.numpy() * 0.9)

    def train(model):
        return model.fit(x, y, batch_size=24, epochs=3, verbose=0, shuffle=False, callbacks=[Shrink()]).history

    # A callback that needs every batch makes each step its own train call: nothing is ever read.
    assert_same_training(lambda: compiled(mixed_mlp(sizes), optimizers.Adam(1e-3)), train, expect_reads=False)


def test_python_code_inside_a_train_call_makes_packed_kernels_stale(packed_path):
    """A custom loss runs Python between the forward and backward products of every step; here it
    also rewrites the first kernel: its packed copy must not be read afterwards."""
    sizes = (24, 40, 32, 4)
    x, y = data(sizes, 96)
    holder = {}

    def loss_that_assigns(y_true, y_pred):
        kernel = holder["model"].layers[0].kernel
        kernel.assign(kernel.numpy() * 0.99)
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    def build():
        model = mixed_mlp(sizes, activation="tanh")
        holder["model"] = model
        return compiled(model, optimizers.Adam(1e-3), loss=loss_that_assigns)

    targets = np.eye(sizes[-1], dtype=np.float32)[y]

    def train(model):
        return model.fit(x, targets, batch_size=16, epochs=2, verbose=0, shuffle=False).history["loss"]

    # The forward products still read the kernels the update packed (no Python ran in between);
    # the backward ones, after the loss, pack again.
    reads = assert_same_training(build, train)
    assert reads == 2 * 5 * 3


def test_constrained_kernels_are_never_packed_by_the_update(packed_path):
    sizes = (36, 48, 40, 5)
    x, y = data(sizes, 128)

    def build():
        return compiled(mixed_mlp(sizes, kernel_constraint=constraints.MaxNorm(0.5)), optimizers.Adam(1e-2))

    def train(model):
        return model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False).history["loss"]

    reads = assert_same_training(build, train)
    assert reads == 2 * 3 * (2 + 1)  # the two unconstrained kernels only


def test_frozen_and_shared_layers_and_rank_3_inputs(packed_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5, 12)).astype(np.float32)
    y = rng.standard_normal((64, 5, 3)).astype(np.float32)

    def build():
        fastdense.utils.set_random_seed(3)
        inputs = layers.Input((5, 12))
        shared = layers.Dense(12, activation="relu", dtype="mixed_bfloat16")
        frozen = layers.Dense(12, activation="relu", dtype="mixed_bfloat16", trainable=False)
        model = models.Model(inputs, layers.Dense(3, dtype="mixed_bfloat16")(shared(frozen(shared(inputs)))))
        return compiled(model, optimizers.Adam(1e-2), loss=losses.MeanSquaredError())

    reads = assert_same_training(build, lambda m: m.fit(x, y, batch_size=16, epochs=2, verbose=0,
                                                        shuffle=False).history["loss"])
    # Per step after the first of a call: both nodes of the shared layer and the output layer
    # forward (3) and backward (the shared layer's first node has no input gradient: 2).
    assert reads == 2 * 3 * 5


def test_emulated_path_and_the_switch_pack_nothing_ahead():
    sizes = (20, 32, 4)
    x, y = data(sizes, 64)
    before = _core.bf16_weight_cache()
    _core.lowp_force_path("emulated")
    try:
        assert_same_training(lambda: compiled(mixed_mlp(sizes), optimizers.Adam(1e-3)),
                             lambda m: m.fit(x, y, batch_size=16, verbose=0).history["loss"],
                                     expect_reads=False)
    finally:
        _core.lowp_force_path("")
        _core.set_bf16_weight_cache(before)


@needs_packed_path
def test_predict_and_evaluate_never_read_packed_kernels():
    sizes = (20, 32, 4)
    x, y = data(sizes, 64)
    before = _core.bf16_weight_cache()
    _core.set_bf16_weight_cache(True)
    try:
        model = compiled(mixed_mlp(sizes), optimizers.Adam(1e-3))
        model.fit(x, y, batch_size=16, verbose=0, shuffle=False)
        reads = _core.bf16_weight_cache_reads()
        model.predict(x, verbose=0)
        model.evaluate(x, y, verbose=0)
        assert _core.bf16_weight_cache_reads() == reads
    finally:
        _core.set_bf16_weight_cache(before)


def test_the_switch_has_an_environment_variable(tmp_path):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(fastdense.__file__))
    code = "import fastdense; from fastdense import _core; print(_core.bf16_weight_cache())"
    env = dict(os.environ, PYTHONPATH=root, FASTDENSE_BF16_WEIGHT_CACHE="0")
    off = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    env.pop("FASTDENSE_BF16_WEIGHT_CACHE")
    on = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert (off.stdout.strip(), on.stdout.strip()) == ("False", "True")

