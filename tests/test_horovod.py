"""fastdense.horovod without an MPI launcher: the same script runs as one process (size 1),
`import fastdense` never imports mpi4py, and the callbacks and launcher follow Horovod."""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastdense as fd
import fastdense.horovod as hvd
from fastdense.horovod import process_group, run, runtime


@pytest.fixture
def single_process(monkeypatch):
    for name in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        monkeypatch.delenv(name, raising=False)
    hvd.shutdown()
    hvd.init()
    yield
    hvd.shutdown()


def test_importing_fastdense_and_horovod_does_not_import_mpi4py():
    code = ("import sys, fastdense, fastdense.horovod as hvd; hvd.init(); "
            "assert hvd.size() == 1 and 'mpi4py' not in sys.modules, sorted(m for m in sys.modules if 'mpi' in m)")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                            cwd=os.path.dirname(os.path.dirname(fd.__file__)))  # the fastdense under test
    assert result.returncode == 0, result.stderr[-2000:]


def test_rank_and_size_need_init():
    hvd.shutdown()
    with pytest.raises(ValueError, match="hvd.init"):
        hvd.rank()


def test_size_one_collectives(single_process):
    assert (hvd.rank(), hvd.size(), hvd.local_rank(), hvd.local_size()) == (0, 1, 0, 1)
    assert not hvd.mpi_enabled()
    value = np.array([1.0, 2.0])
    np.testing.assert_array_equal(hvd.allreduce(value), value)
    np.testing.assert_array_equal(hvd.allreduce(value, op=hvd.Sum), value)
    np.testing.assert_array_equal(hvd.allgather(value), value)
    np.testing.assert_array_equal(hvd.broadcast(value, root_rank=0), value)
    assert hvd.broadcast_object({"a": 1}, root_rank=0) == {"a": 1}
    assert hvd.allgather_object("x") == ["x"]
    with pytest.raises(ValueError, match="root_rank"):
        hvd.broadcast(value, root_rank=1)
    with pytest.raises(ValueError, match="op must be"):
        hvd.allreduce(value, op="max")


def _model(seed=0):
    fd.utils.set_random_seed(seed)
    return fd.Sequential([fd.Input((3,)), fd.layers.Dense(4, activation="tanh"), fd.layers.Dense(1)])


def test_size_one_distributed_training_equals_plain_training(single_process):
    x = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    plain, distributed = _model(), _model()
    plain.compile(optimizer=fd.optimizers.Adam(0.01), loss="mse")
    optimizer = hvd.DistributedOptimizer(fd.optimizers.Adam(0.01))
    assert isinstance(optimizer, fd.optimizers.Adam) and type(optimizer).__name__ == "Adam"
    distributed.compile(optimizer=optimizer, loss="mse")
    plain.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    distributed.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                    callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0), hvd.callbacks.MetricAverageCallback()])
    for a, b in zip(plain.get_weights(), distributed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fd.optimizers.serialize(optimizer)["class_name"] == "Adam"


def test_distributed_optimizer_rejects_what_it_does_not_do(single_process):
    with pytest.raises(NotImplementedError, match="backward_passes_per_step"):
        hvd.DistributedOptimizer(fd.optimizers.SGD(), backward_passes_per_step=2)
    with pytest.raises(NotImplementedError, match="Compression.none"):
        hvd.DistributedOptimizer(fd.optimizers.SGD(), compression=object())


def test_gradient_hook_sees_the_fused_gradients_and_the_sample_count(single_process):
    """The engine's hook: one buffer with every trainable gradient (optimizer order) and the
    batch size; what the hook writes is what the optimizer applies."""
    model = _model()
    model.compile(optimizer=fd.optimizers.SGD(1.0), loss="mse")
    x = np.ones((5, 3), np.float32)
    y = np.zeros((5, 1), np.float32)
    model.fit(x[:1], y[:1], batch_size=1, verbose=0)  # builds the network
    seen = []

    def halve_and_record(buffer):
        seen.append(buffer.copy())
        buffer[:-1] = 0.0  # no update at all

    model._native.set_gradient_hook(halve_and_record)
    before = model.get_weights()
    model.fit(x, y, batch_size=5, shuffle=False, verbose=0)
    assert len(seen) == 1
    assert seen[0].size == sum(w.size for w in model.trainable_weights) + 1 and seen[0][-1] == 5
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_warmup_follows_horovods_formula(monkeypatch, single_process):
    group = process_group.LocalGroup()
    group.size = 4
    monkeypatch.setattr(runtime, "_group", group)
    rates = []

    class Record(fd.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            rates.append(self.model.optimizer.learning_rate)

    model = _model()
    model.compile(optimizer=fd.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    x = np.ones((8, 3), np.float32)
    warmup = hvd.callbacks.LearningRateWarmupCallback(initial_lr=0.4, warmup_epochs=2)
    model.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0, callbacks=[warmup, Record()])
    steps = 2
    for i, rate in enumerate(rates[:4]):
        epoch = i // steps + (i % steps) / steps + 1 / steps
        assert rate == pytest.approx(0.4 / 4 * (epoch * 3 / 2 + 1), rel=1e-6)
    assert rates[4:] == [rates[3]] * 2  # after the warmup the rate stays
    assert model.optimizer.momentum == 0.9  # restored after each corrected step (test_horovod_momentum.py)


def test_run_builds_the_mpiexec_command(tmp_path):
    command, env = run.command_line(["-np", "3", "--timeout", "30", "--bind-to", "none", "train.py", "--epochs", "2"])
    assert command[1:3] == ["-n", "3"] and command[0].endswith("mpiexec")
    assert command[3:] == [sys.executable, "train.py", "--epochs", "2"]
    assert env == {"FASTDENSE_MPI_TIMEOUT": "30.0"}
    command, _ = run.command_line(["-np", "2", "--bind-to", "socket", "train.py"])
    assert command[1:5] == ["-bind-to", "socket", "-n", "2"]
    with pytest.raises(SystemExit):
        run.command_line(["-np", "0", "train.py"])


def test_run_binds_ranks_to_their_share_of_the_cores():
    assert run.automatic_binding(2, False, cores=2) == "core"
    assert run.automatic_binding(2, False, cores=8) == "core:4"
    assert run.automatic_binding(3, False, cores=8) == "core:2"
    assert run.automatic_binding(3, False, cores=2) is None  # fewer cores than ranks: the OS shares them
    assert run.automatic_binding(2, True, cores=8) is None  # other hosts: their cores are not known here
    assert run.automatic_binding(2, False, cores=8, omp_threads=4) == "core:4"
    assert run.automatic_binding(2, False, cores=8, omp_threads=8) is None  # the user's threads win
    assert 1 <= run.physical_cores() <= os.cpu_count()
    expected = run.automatic_binding(2, False, omp_threads=run.omp_num_threads())
    command, _ = run.command_line(["-np", "2", "train.py"])
    assert command[1:-2] == (["-bind-to", expected] if expected else []) + ["-n", "2"]


def test_timeout_must_be_positive(monkeypatch):
    monkeypatch.setenv("FASTDENSE_MPI_TIMEOUT", "-1")
    with pytest.raises(ValueError, match="FASTDENSE_MPI_TIMEOUT"):
        process_group.timeout_seconds()
    monkeypatch.setenv("FASTDENSE_MPI_TIMEOUT", "2.5")
    assert process_group.timeout_seconds() == 2.5
