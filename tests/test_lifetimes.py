"""Native objects that point at memory Python owns (issue 12, "Lifetimes").

The native Network holds raw pointers to the weight arrays (Variables are never rebound: assign
copies into them) and to the engine optimizer of the model's optimizer (created once with it and
reconfigured in place, never replaced). Each test below walks one way those objects change
after a network was built and checks that the next call sees the change, and never freed memory.
"""

import gc

import numpy as np
import pytest

from fastdense import layers, models, optimizers


def _data(rows=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 1)) + 0.1).astype(np.float32)
    return x, y


def _model(seed=1):
    rng = np.random.default_rng(seed)
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="tanh"), layers.Dense(1)])
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b))


def test_reconfigure_then_apply_gradients_then_fit_uses_the_live_optimizer():
    # Issue 12 defect 2: reconfigure used to replace the engine optimizer the network pointed at
    # (garbage sizes, heap-use-after-free in Network::update_parameters).
    x, y = _data()
    model = _model()
    opt = optimizers.Adam(0.01)
    model.compile(opt, "mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    opt.clipnorm = 1.0
    opt.apply_gradients([(np.zeros_like(v.value), v) for v in model.trainable_weights])
    gc.collect()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert opt.iterations == 4 + 1 + 4
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


@pytest.mark.parametrize("setting, value", [("clipvalue", 1e-6), ("clipnorm", 1e-6), ("global_clipnorm", 1e-6)])
def test_a_clipping_setting_changed_between_fits_takes_effect(setting, value):
    x, y = _data()
    model = _model()
    opt = optimizers.SGD(0.1)
    model.compile(opt, "mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    setattr(opt, setting, value)
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    # 4 steps of at most lr * 1e-6 per value, plus float32 rounding, where unclipped steps move the
    # weights by ~1e-2 (tf.keras keeps using its traced step's old setting)
    assert max(np.abs(a - b).max() for a, b in zip(model.get_weights(), before)) < 2e-6


def test_learning_rate_and_rule_settings_changed_between_fits_take_effect():
    x, y = _data()
    model = _model()
    opt = optimizers.Adam(0.1)
    model.compile(opt, "mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    opt.beta_1 = 0.5
    assert model._native is not None and opt._native.get_config()["beta_1"] == 0.5
    opt.learning_rate = 0.0
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert _same(model.get_weights(), before)


def test_two_models_on_one_optimizer():
    x, y = _data()
    first = _model(1)
    shared = optimizers.Adam(0.01)
    first.compile(shared, "mse")
    first.fit(x, y, epochs=1, batch_size=16, verbose=0)
    # A model over the same weights trains them with the same slots.
    twin = models.Model(first.inputs, first.outputs)
    twin.compile(shared, "mse")
    twin.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert shared.iterations == 8
    # A model with other weights cannot share the slots: a clear error, and nothing is broken.
    other = _model(2)
    other.compile(shared, "mse")
    with pytest.raises(ValueError, match="other weights"):
        other.fit(x, y, epochs=1, verbose=0)
    first.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert shared.iterations == 12


def test_an_optimizer_dropped_by_recompiling_stays_alive_for_the_old_network():
    x, y = _data()
    model = _model()
    model.compile(optimizers.Adam(0.01), "mse")
    model.fit(x, y, epochs=1, verbose=0)
    old_network = model._native
    model.compile(optimizers.SGD(0.1), "mse")  # the old Python optimizer is now unreferenced
    gc.collect()
    rates = 0.01
    old_network.train([x], [y], None, None, 16, rates)  # still owns its engine optimizer
    model.fit(x, y, epochs=1, verbose=0)
    assert model.optimizer.iterations == 2


def test_set_weights_then_fit_starts_from_the_new_weights():
    x, y = _data()
    model, twin = _model(1), _model(2)
    model.compile(optimizers.SGD(0.1), "mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)  # the network now points at the weights
    model.set_weights(twin.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0), twin.predict(x, verbose=0))
    twin.compile(optimizers.SGD(0.1), "mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    twin.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert _same(model.get_weights(), twin.get_weights())


def test_load_weights_then_predict_and_fit(tmp_path):
    x, y = _data()
    model, other = _model(1), _model(2)
    model.compile(optimizers.SGD(0.1), "mse")
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "other.weights.h5")
    other.save_weights(path)
    model.load_weights(path)
    np.testing.assert_array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))
    model.fit(x, y, epochs=1, verbose=0)
    assert not _same(model.get_weights(), other.get_weights())


def test_freezing_the_model_then_fit_leaves_the_weights_and_unfreezing_trains_again():
    x, y = _data()
    model = _model()
    opt = optimizers.Adam(0.01)
    model.compile(opt, "mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.trainable = False
    frozen = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert _same(model.get_weights(), frozen)
    assert opt.iterations == 4  # as Keras's apply with no gradients: no step
    model.trainable = True
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not _same(model.get_weights(), frozen)
    assert opt.iterations == 8


def test_freezing_one_layer_and_recompiling_trains_the_rest_with_the_same_slots():
    x, y = _data()
    model = _model()
    opt = optimizers.Adam(0.01)
    model.compile(opt, "mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.layers[0].trainable = False
    model.compile(opt, "mse")
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    after = model.get_weights()
    assert _same(after[:2], before[:2]) and not _same(after[2:], before[2:])
    assert opt.iterations == 8
