"""Optimizers: native update rules vs an independent NumPy float64 re-implementation of the Keras 3
formulas (tight), and vs tf.keras itself in float32; state, schedules, names and bad input."""

import math
import warnings

import numpy as np
import pytest

from fastdense import _core, backend
from fastdense import optimizers
from fastdense.optimizers import schedules


# ---------------------------------------------------------------------------------------------
# NumPy reference of the Keras 3 rules, in float64: update_step of keras/src/optimizers/<name>.py, clipping
# and weight decay from keras/src/optimizers/base_optimizer.py (_clip_gradients, _apply_weight_decay).

DEFAULTS = {
    "sgd": dict(momentum=0.0, nesterov=False),
    "rmsprop": dict(rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
    "adam": dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
    "adamw": dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=0.004),
    "adagrad": dict(initial_accumulator_value=0.1, epsilon=1e-7),
    "adadelta": dict(rho=0.95, epsilon=1e-7),
    "adamax": dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "nadam": dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7),
}


class KerasRule:
    """One optimizer's state and step, written from the formulas, not from the engine."""

    def __init__(self, kind, params, **hp):
        self.kind = kind
        self.hp = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None}
        self.hp.update(DEFAULTS[kind])
        self.hp.update(hp)
        self.w = [np.array(p, dtype=np.float64) for p in params]
        self.state = [{} for _ in params]
        self.t = 0
        self.u_product = 1.0

    def clip(self, grads):
        hp = self.hp
        if hp["clipnorm"]:
            c = hp["clipnorm"]
            return [g * c / max(np.sqrt(np.sum(g * g)), c) for g in grads]
        if hp["global_clipnorm"]:
            c = hp["global_clipnorm"]
            norm = np.sqrt(sum(np.sum(g * g) for g in grads))
            return [g * min(1.0, c / norm) for g in grads]
        if hp["clipvalue"]:
            return [np.clip(g, -hp["clipvalue"], hp["clipvalue"]) for g in grads]
        return grads

    def step(self, grads, lr):
        grads = self.clip([np.array(g, dtype=np.float64) for g in grads])
        if self.hp["weight_decay"]:
            self.w = [w - w * self.hp["weight_decay"] * lr for w in self.w]
        self.t += 1
        if self.kind == "nadam":
            self.u_product *= self.mu(self.t)
        rule = getattr(self, "rule_" + ("adam" if self.kind == "adamw" else self.kind))
        self.w = [rule(s, w, g, lr) for s, w, g in zip(self.state, self.w, grads)]
        return [w.copy() for w in self.w]

    def mu(self, t):
        return self.hp["beta_1"] * (1 - 0.5 * 0.96**t)

    def rule_sgd(self, s, w, g, lr):
        mu = self.hp["momentum"]
        if mu == 0:
            return w - lr * g
        s["m"] = mu * s.get("m", 0.0) - lr * g
        return w + mu * s["m"] - lr * g if self.hp["nesterov"] else w + s["m"]

    def rule_rmsprop(self, s, w, g, lr):
        rho, eps, mu = self.hp["rho"], self.hp["epsilon"], self.hp["momentum"]
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g**2
        if self.hp["centered"]:
            s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
            step = lr * g / np.sqrt(s["v"] - s["a"] ** 2 + eps)
        else:
            step = lr * g / np.sqrt(s["v"] + eps)
        if mu > 0:
            s["mom"] = mu * s.get("mom", 0.0) + step
            return w - s["mom"]
        return w - step

    def rule_adam(self, s, w, g, lr):
        b1, b2, eps, t = self.hp["beta_1"], self.hp["beta_2"], self.hp["epsilon"], self.t
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
        v = s["v"]
        if self.hp["amsgrad"]:
            v = s["v_hat"] = np.maximum(s.get("v_hat", 0.0), s["v"])
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return w - alpha * s["m"] / (np.sqrt(v) + eps)

    def rule_adagrad(self, s, w, g, lr):
        s["acc"] = s.get("acc", self.hp["initial_accumulator_value"]) + g**2
        return w - lr * g / np.sqrt(s["acc"] + self.hp["epsilon"])

    def rule_adadelta(self, s, w, g, lr):
        rho, eps = self.hp["rho"], self.hp["epsilon"]
        s["eg"] = rho * s.get("eg", 0.0) + (1 - rho) * g**2
        delta = -np.sqrt(s.get("edx", 0.0) + eps) * g / np.sqrt(s["eg"] + eps)
        s["edx"] = rho * s.get("edx", 0.0) + (1 - rho) * delta**2
        return w + lr * delta

    def rule_adamax(self, s, w, g, lr):
        b1, b2, eps = self.hp["beta_1"], self.hp["beta_2"], self.hp["epsilon"]
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g))
        return w - lr * s["m"] / ((1 - b1**self.t) * (s["u"] + eps))

    def rule_nadam(self, s, w, g, lr):
        b1, b2, eps, t = self.hp["beta_1"], self.hp["beta_2"], self.hp["epsilon"], self.t
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
        mu_t, mu_next = self.mu(t), self.mu(t + 1)
        m_hat = mu_next * s["m"] / (1 - self.u_product * mu_next) + (1 - mu_t) * g / (1 - self.u_product)
        v_hat = s["v"] / (1 - b2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)


# ---------------------------------------------------------------------------------------------
# Cases: (fastdense class, constructor kwargs, reference kind, learning rate per step or None)

CLASSES = {
    "sgd": optimizers.SGD, "rmsprop": optimizers.RMSprop, "adam": optimizers.Adam, "adamw": optimizers.AdamW,
    "adagrad": optimizers.Adagrad, "adadelta": optimizers.Adadelta, "adamax": optimizers.Adamax,
    "nadam": optimizers.Nadam,
}

CASES = {
    "sgd": ("sgd", dict(learning_rate=0.1)),
    "sgd_momentum": ("sgd", dict(learning_rate=0.1, momentum=0.9)),
    "sgd_nesterov": ("sgd", dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": ("sgd", dict(learning_rate=0.1, momentum=0.5, weight_decay=0.2)),
    "sgd_global_clipnorm": ("sgd", dict(learning_rate=0.1, global_clipnorm=0.5)),
    "rmsprop": ("rmsprop", dict(learning_rate=0.01)),
    "rmsprop_momentum": ("rmsprop", dict(learning_rate=0.01, momentum=0.5)),
    "rmsprop_centered": ("rmsprop", dict(learning_rate=0.01, centered=True)),
    "rmsprop_centered_momentum": ("rmsprop", dict(learning_rate=0.01, momentum=0.3, centered=True, rho=0.8)),
    "rmsprop_clipvalue": ("rmsprop", dict(learning_rate=0.01, clipvalue=0.3)),
    "adam": ("adam", dict(learning_rate=0.01)),
    "adam_amsgrad": ("adam", dict(learning_rate=0.01, amsgrad=True)),
    "adam_clipnorm": ("adam", dict(learning_rate=0.01, clipnorm=0.5, beta_1=0.8, beta_2=0.99, epsilon=1e-3)),
    "adamw": ("adamw", dict(learning_rate=0.01)),
    "adamw_amsgrad": ("adamw", dict(learning_rate=0.01, weight_decay=0.1, amsgrad=True)),
    "adagrad": ("adagrad", dict(learning_rate=0.1)),
    "adagrad_clipnorm": ("adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.5, clipnorm=0.2)),
    "adadelta": ("adadelta", dict(learning_rate=1.0)),
    "adadelta_weight_decay": ("adadelta", dict(learning_rate=1.0, rho=0.9, weight_decay=0.05)),
    "adamax": ("adamax", dict(learning_rate=0.01)),
    "nadam": ("nadam", dict(learning_rate=0.01)),
    "nadam_global_clipnorm": ("nadam", dict(learning_rate=0.01, global_clipnorm=0.3, weight_decay=0.01)),
}

SHAPES = [(3, 4), (4,)]
# Step 2 is ten times smaller than step 1 (so that amsgrad's max and Adamax's max matter), step 3
# flips signs.
SCALES = [1.0, 0.1, -2.0]


def start_params(seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, shape) for shape in shapes]


def gradient_steps(seed=1, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [[scale * rng.normal(0.0, 1.0, shape) for shape in shapes] for scale in SCALES]


def reference_kwargs(kind, kwargs):
    return {k: v for k, v in kwargs.items() if k != "learning_rate"}


def run_fastdense(cls, kwargs, dtype, params, steps, lrs=None):
    opt = cls(**kwargs)
    params = [np.array(p, dtype=dtype) for p in params]
    history = []
    for i, grads in enumerate(steps):
        if lrs is not None:
            opt.learning_rate = lrs[i]
        opt.apply([g.astype(dtype) for g in grads], params)
        history.append([p.copy() for p in params])
    return opt, history


@pytest.mark.parametrize("case", sorted(CASES))
def test_three_steps_match_numpy_reference_in_float64(case):
    kind, kwargs = CASES[case]
    params, steps = start_params(), gradient_steps()
    opt, history = run_fastdense(CLASSES[kind], kwargs, np.float64, params, steps)
    rule = KerasRule(kind, params, **reference_kwargs(kind, kwargs))
    lr = float(np.float32(kwargs["learning_rate"]))  # Keras (and fastdense) keep the rate in float32
    for got, grads in zip(history, steps):
        want = rule.step(grads, lr)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)
    assert opt.iterations == 3


# float32 results vs tf.keras: the engine rounds every operation to float32 in Keras's order
# (and does not fuse multiply-adds), so the weights come out bit-identical except where a norm is
# summed (clipnorm, global_clipnorm): TensorFlow adds in another order, the clipping scale can
# differ by one ulp and that propagates. Elements that went through a cancellation (a moment
# m + (g - m)(1 - beta_1) with g close to m) carry that ulp at the scale of the whole array, so
# the tolerance is 1e-6 (~8 float32 ulps) of the array's largest magnitude.
def assert_close_float32(got, want, **kwargs):
    scale = float(np.max(np.abs(want))) if np.size(want) else 0.0
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * scale, **kwargs)


def keras_optimizer(keras, kind, kwargs, name=None):
    cls = {
        "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW, "adagrad": keras.optimizers.Adagrad, "adadelta": keras.optimizers.Adadelta,
        "adamax": keras.optimizers.Adamax, "nadam": keras.optimizers.Nadam,
    }[kind]
    kwargs = {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v) for k, v in kwargs.items()}
    return cls(name=name, **kwargs) if name else cls(**kwargs)


def run_keras(keras, kind, kwargs, params, steps, lrs=None):
    opt = keras_optimizer(keras, kind, kwargs)
    variables = [keras.Variable(np.array(p, dtype=np.float32), name=n) for p, n in zip(params, ["kernel", "bias"])]
    history = []
    for i, grads in enumerate(steps):
        if lrs is not None:
            opt.learning_rate = lrs[i]
        opt.apply([keras.ops.convert_to_tensor(g.astype(np.float32)) for g in grads], variables)
        history.append([v.numpy() for v in variables])
    return opt, history


@pytest.mark.parametrize("case", sorted(CASES))
def test_three_steps_match_tf_keras_in_float32(keras, case):
    kind, kwargs = CASES[case]
    params, steps = start_params(), gradient_steps()
    fd_opt, ours = run_fastdense(CLASSES[kind], kwargs, np.float32, params, steps)
    k_opt, theirs = run_keras(keras, kind, kwargs, params, steps)
    for step, (got, want) in enumerate(zip(ours, theirs)):
        for g, w in zip(got, want):
            assert_close_float32(g, w, err_msg=f"step {step + 1}")
    # The whole state, in Keras's variable order (iteration, learning_rate, slots, Nadam's product).
    k_state = [v.numpy() for v in k_opt.variables]
    fd_state = fd_opt.variables
    assert [s.shape for s in fd_state] == [s.shape for s in k_state]
    for got, want in zip(fd_state, k_state):
        assert got.dtype == want.dtype
        assert_close_float32(got, want)


def test_learning_rate_changed_between_steps():
    params, steps = start_params(), gradient_steps()
    lrs = [0.01, 0.05, 0.002]
    _, history = run_fastdense(optimizers.Adam, {}, np.float64, params, steps, lrs=lrs)
    rule = KerasRule("adam", params)
    for got, grads, lr in zip(history, steps, lrs):
        for g, w in zip(got, rule.step(grads, float(np.float32(lr)))):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


def test_learning_rate_changed_between_steps_matches_tf_keras(keras):
    params, steps = start_params(), gradient_steps()
    lrs = [0.01, 0.05, 0.002]
    _, ours = run_fastdense(optimizers.RMSprop, dict(momentum=0.5), np.float32, params, steps, lrs=lrs)
    _, theirs = run_keras(keras, "rmsprop", dict(momentum=0.5), params, steps, lrs=lrs)
    for got, want in zip(ours, theirs):
        for g, w in zip(got, want):
            assert_close_float32(g, w)


def test_schedule_drives_the_learning_rate_like_tf_keras(keras):
    params, steps = start_params(), gradient_steps()
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    _, ours = run_fastdense(optimizers.SGD, dict(learning_rate=schedule, momentum=0.9), np.float32, params, steps)
    k_schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    _, theirs = run_keras(keras, "sgd", dict(learning_rate=k_schedule, momentum=0.9), params, steps)
    for got, want in zip(ours, theirs):
        for g, w in zip(got, want):
            assert_close_float32(g, w)
    # And the float64 path against the reference, with lr = 0.1 * 0.5**step.
    _, history = run_fastdense(optimizers.SGD, dict(learning_rate=schedule, momentum=0.9), np.float64, params, steps)
    rule = KerasRule("sgd", params, momentum=0.9)
    for step, (got, grads) in enumerate(zip(history, steps)):
        for g, w in zip(got, rule.step(grads, float(np.float32(0.1 * 0.5**step)))):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


def test_legacy_decay_is_inverse_time_decay_of_the_iterations():
    params, steps = start_params(), gradient_steps()
    _, history = run_fastdense(optimizers.SGD, dict(learning_rate=0.1, decay=0.5), np.float64, params, steps)
    rule = KerasRule("sgd", params)
    for iterations, (got, grads) in enumerate(zip(history, steps)):
        lr = float(np.float32(np.float32(0.1) / (np.float32(1) + np.float32(0.5) * np.float32(iterations))))
        for g, w in zip(got, rule.step(grads, lr)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


def test_large_tensors_take_the_parallel_path_and_match():
    shapes = [(250, 200)]  # 50,000 values: above the engine's parallel threshold
    params, steps = start_params(shapes=shapes), gradient_steps(shapes=shapes)
    _, history = run_fastdense(optimizers.Nadam, dict(clipnorm=10.0, weight_decay=0.1), np.float64, params, steps)
    rule = KerasRule("nadam", params, clipnorm=10.0, weight_decay=0.1)
    for got, grads in zip(history, steps):
        np.testing.assert_allclose(got[0], rule.step(grads, float(np.float32(0.001)))[0], rtol=1e-12, atol=1e-15)


def test_hyper_parameters_changed_between_steps_reach_the_engine():
    params, steps = start_params(), gradient_steps()
    opt = optimizers.Adam(learning_rate=0.01)
    weights = [p.copy() for p in params]
    rule = KerasRule("adam", params)
    opt.apply(steps[0], weights)
    rule.step(steps[0], float(np.float32(0.01)))
    opt.clipnorm = 0.5
    rule.hp["clipnorm"] = 0.5
    opt.apply(steps[1], weights)
    for g, w in zip(weights, rule.step(steps[1], float(np.float32(0.01)))):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)
    # A change of slot layout after building cannot be honoured.
    sgd = optimizers.SGD(momentum=0.9)
    sgd.apply(steps[0], [p.copy() for p in params])
    with pytest.raises(ValueError, match="slots"):  # refused where it is set, the setting kept
        sgd.momentum = 0.0
    assert sgd.momentum == 0.9
    sgd.apply(steps[1], sgd._trainable_variables)


def test_none_gradients_leave_their_variables_and_slots_alone():
    params, steps = start_params(), gradient_steps()
    opt = optimizers.Adam(learning_rate=0.01)
    weights = [p.copy() for p in params]
    rule = KerasRule("adam", params[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt.apply([steps[0][0], None], weights)
    np.testing.assert_allclose(weights[0], rule.step(steps[0][:1], float(np.float32(0.01)))[0], rtol=1e-12)
    np.testing.assert_array_equal(weights[1], params[1])
    assert not np.any(opt.variables[4]) and not np.any(opt.variables[5])  # bias momentum, velocity
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply([None, None], weights)


# ---------------------------------------------------------------------------------------------
# Iterations and state


def test_iterations_count_steps_and_can_be_set():
    opt = optimizers.SGD(learning_rate=0.1)
    assert opt.iterations == 0
    w = np.zeros(3, np.float32)
    opt.apply([], [])  # Keras: an empty step is a no-op
    assert opt.iterations == 0
    for _ in range(3):
        opt.apply_gradients([(np.ones(3, np.float32), w)])
    assert opt.iterations == 3
    opt.iterations = 10
    assert opt.iterations == 10
    assert opt.apply_gradients([(np.ones(3, np.float32), w)]) == 11
    with pytest.raises(ValueError):
        opt.iterations = -1


def test_schedules_see_iterations_and_adam_bias_correction_uses_iterations_plus_one():
    schedule = schedules.PiecewiseConstantDecay([2], [0.1, 0.01])
    opt = optimizers.Adam(learning_rate=schedule)
    assert opt.learning_rate == pytest.approx(0.1)
    np.testing.assert_allclose(opt._learning_rates(1, 4), np.float32([0.1, 0.1, 0.01, 0.01]))
    opt.iterations = 5
    assert opt.learning_rate == pytest.approx(0.01)
    # Starting at iterations = 5, the first Adam step uses t = 6.
    w = np.zeros(2)
    opt.apply([np.ones(2)], [w])
    rule = KerasRule("adam", [np.zeros(2)])
    rule.t = 5
    np.testing.assert_allclose(w, rule.step([np.ones(2)], float(np.float32(0.01)))[0], rtol=1e-12)


OPTIMIZER_STATES = [
    ("sgd", dict(momentum=0.9)),
    ("rmsprop", dict(momentum=0.5, centered=True)),
    ("adam", dict(amsgrad=True)),
    ("adamw", dict(learning_rate=schedules.CosineDecay(0.01, 10))),
    ("adagrad", {}),
    ("adadelta", {}),
    ("adamax", {}),
    ("nadam", {}),
]


@pytest.mark.parametrize("kind,kwargs", OPTIMIZER_STATES, ids=[k for k, _ in OPTIMIZER_STATES])
def test_state_round_trip_continues_identically(kind, kwargs):
    params, steps = start_params(), gradient_steps()
    first = CLASSES[kind](**kwargs)
    weights = [p.astype(np.float32) for p in params]
    for grads in steps[:2]:
        first.apply([g.astype(np.float32) for g in grads], weights)
    state = first.get_weights()

    second = CLASSES[kind](**kwargs)
    copies = [w.copy() for w in weights]
    second.build(copies)
    second.set_weights(state)
    assert second.iterations == 2
    for got, want in zip(second.variables, state):
        np.testing.assert_array_equal(got, want)

    first.apply([g.astype(np.float32) for g in steps[2]], weights)
    second.apply([g.astype(np.float32) for g in steps[2]], copies)
    for a, b in zip(weights, copies):
        np.testing.assert_array_equal(a, b)


def test_save_and_load_own_variables_use_keras_layout():
    opt = optimizers.Adam()
    w = np.ones(3, np.float32)
    opt.apply([np.ones(3, np.float32)], [w])
    store = {}
    opt.save_own_variables(store)
    assert sorted(store) == ["0", "1", "2", "3"]
    other = optimizers.Adam()
    other.build([w.copy()])
    other.load_own_variables(store)
    assert other.iterations == 1
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        other.load_own_variables({"0": store["0"]})


def test_set_weights_validates_count_and_shapes():
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="not yet been built"):
        opt.set_weights([])
    opt.build([np.zeros((2, 2), np.float32)])
    state = opt.get_weights()
    with pytest.raises(ValueError, match="expected 4 arrays"):
        opt.set_weights(state[:3])
    with pytest.raises(ValueError, match="not compatible"):
        opt.set_weights(state[:2] + [np.zeros(4, np.float32), state[3]])


class Var:
    """A stand-in for a layer variable: a numpy `.value` and a Keras-style `.path`."""

    def __init__(self, value, path):
        self.value = value
        self.path = path


def test_variable_paths_and_slot_order_follow_keras(keras):
    for kind, kwargs in OPTIMIZER_STATES:
        if "learning_rate" in kwargs:
            continue
        k_opt = keras_optimizer(keras, kind, kwargs, name=f"opt_{kind}")
        k_opt.build([keras.Variable(np.zeros((2, 3), np.float32), name="kernel"),
                     keras.Variable(np.zeros(3, np.float32), name="bias")])
        fd_opt = CLASSES[kind](name=f"opt_{kind}", **kwargs)
        fd_opt.build([Var(np.zeros((2, 3), np.float32), "kernel"), Var(np.zeros(3, np.float32), "bias")])
        want = [v.path for v in k_opt.variables]
        got = fd_opt._variable_paths()
        if kind == "nadam":
            # Keras's u_product is an unnamed variable: 'variable', made unique process-wide
            # ('variable_2', ...), and unscoped when built outside apply().
            assert got.pop() == "opt_nadam/variable" and want.pop().startswith("variable")
        assert got == want


def test_variables_before_build_and_with_a_schedule():
    opt = optimizers.RMSprop(learning_rate=0.01)
    values = opt.variables
    assert [v.dtype for v in values] == [np.int64, np.float32]
    assert float(values[1]) == float(np.float32(0.01))
    with_schedule = optimizers.SGD(learning_rate=schedules.InverseTimeDecay(0.1, 10, 1.0))
    assert len(with_schedule.variables) == 1  # no learning_rate variable, as in Keras


# ---------------------------------------------------------------------------------------------
# Learning rate handling


def test_learning_rate_is_float32_rounded_and_settable():
    opt = optimizers.Adam()
    assert opt.learning_rate == float(np.float32(0.001)) == opt.get_config()["learning_rate"]
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5
    assert opt.lr == 0.5
    with pytest.raises(ValueError):
        opt.learning_rate = "fast"


def test_learning_rate_setter_refuses_with_a_schedule():
    opt = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_lr_alias():
    assert optimizers.SGD(lr=0.3).learning_rate == float(np.float32(0.3))
    assert optimizers.Adam(lr=0.02).get_config()["learning_rate"] == float(np.float32(0.02))
    with pytest.raises(ValueError, match="not both"):
        optimizers.Adam(learning_rate=0.1, lr=0.2)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(learning_rat=0.1)


def test_learning_rates_for_the_model():
    opt = optimizers.SGD(learning_rate=schedules.PolynomialDecay(0.1, 4, end_learning_rate=0.02), decay=0.25)
    rates = opt._learning_rates(3, 3)
    steps = np.arange(3, 6)
    poly = (0.1 - 0.02) * (1 - np.minimum(steps, 4) / 4) + 0.02
    np.testing.assert_allclose(rates, poly / (1 + 0.25 * steps), rtol=1e-6)
    assert rates.dtype == np.float64
    np.testing.assert_array_equal(rates, rates.astype(np.float32))  # values are float32, like Keras's
    callable_rate = optimizers.Adam(learning_rate=lambda: 0.25)
    np.testing.assert_array_equal(callable_rate._learning_rates(0, 2), [0.25, 0.25])


def test_native_config_feeds_the_engine_parser():
    for cls in CLASSES.values():
        config = cls()._native_config()
        parsed = _core.optimizer_config(config)
        assert parsed["name"] == cls._native_name
    config = optimizers.RMSprop(momentum=0.5, centered=True, clipvalue=2.0)._native_config()
    assert config["momentum"] == 0.5 and config["centered"] is True and config["clipvalue"] == 2.0
    assert optimizers.AdamW()._native_config()["weight_decay"] == 0.004


# ---------------------------------------------------------------------------------------------
# Constructor validation, config and names


def test_constructor_validation():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(global_clipnorm=1.0, clipnorm=2.0)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate="0.1")
    with pytest.raises(NotImplementedError):
        optimizers.Adam(use_ema=True)


def test_default_names_follow_keras_3_15():
    backend.clear_session()
    assert [optimizers.RMSprop().name, optimizers.RMSprop().name, optimizers.AdamW().name, optimizers.SGD().name] == [
        "rm_sprop", "rm_sprop_1", "adam_w", "sgd"
    ]
    assert optimizers.Adam(name="mine").name == "mine"


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_config_matches_keras_and_round_trips(keras, kind):
    fd_opt = CLASSES[kind](name="x")
    k_opt = keras_optimizer(keras, kind, {}, name="x")
    assert fd_opt.get_config() == k_opt.get_config()
    assert list(fd_opt.get_config()) == list(k_opt.get_config())  # same key order, same JSON
    rebuilt = optimizers.deserialize(optimizers.serialize(fd_opt))
    assert type(rebuilt) is type(fd_opt) and rebuilt.get_config() == fd_opt.get_config()
    assert optimizers.serialize(fd_opt) == keras.optimizers.serialize(k_opt)


def test_config_with_schedule_and_keras2_keys():
    opt = optimizers.SGD(learning_rate=schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5))
    rebuilt = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(rebuilt._learning_rate, schedules.CosineDecay)
    assert rebuilt.get_config() == opt.get_config()
    keras2 = {"class_name": "Custom>Adam", "config": {"name": "Adam", "learning_rate": 0.01, "is_legacy_optimizer": False,
                                                      "jit_compile": True, "beta_1": 0.8, "decay": 0.0}}
    restored = optimizers.deserialize(keras2)
    assert isinstance(restored, optimizers.Adam) and restored.beta_1 == 0.8


def test_get_names():
    expected = {
        "adam": optimizers.Adam, "Adam": optimizers.Adam, "ADAM": optimizers.Adam, "sgd": optimizers.SGD,
        "SGD": optimizers.SGD, "rmsprop": optimizers.RMSprop, "RMSprop": optimizers.RMSprop,
        "rm_sprop": optimizers.RMSprop, "adamw": optimizers.AdamW, "AdamW": optimizers.AdamW,
        "adagrad": optimizers.Adagrad, "adadelta": optimizers.Adadelta, "adamax": optimizers.Adamax,
        "nadam": optimizers.Nadam,
    }
    for name, cls in expected.items():
        assert type(optimizers.get(name)) is cls
    opt = optimizers.Adam()
    assert optimizers.get(opt) is opt
    assert optimizers.get(None) is None
    assert type(optimizers.get({"class_name": "adam", "config": {}})) is optimizers.Adam
    with pytest.raises(ValueError, match="Did you mean 'Adam'"):
        optimizers.get("adm")
    with pytest.raises(ValueError, match="not implemented"):
        optimizers.get("ftrl")
    with pytest.raises(ValueError):
        optimizers.get(42)


# ---------------------------------------------------------------------------------------------
# Bad input


def test_apply_rejects_bad_input():
    opt = optimizers.Adam()
    w = np.zeros((2, 3), np.float32)
    b = np.zeros(3, np.float32)
    opt.apply([np.ones((2, 3)), np.ones(3)], [w, b])
    with pytest.raises(ValueError, match=r"expected shape \(2, 3\), got \(3, 2\)"):
        opt.apply([np.ones((3, 2)), np.ones(3)], [w, b])
    with pytest.raises(ValueError, match="3 gradients for 2 variables"):
        opt.apply([np.ones((2, 3)), np.ones(3), np.ones(3)], [w, b])
    with pytest.raises(ValueError, match="gradients"):
        opt.apply([np.ones((2, 3))])
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply([np.ones(3)], [np.zeros(3, np.float32)])
    with pytest.raises(ValueError, match="cannot convert"):
        opt.apply([np.array([["a"] * 3] * 2), np.ones(3)], [w, b])
    with pytest.raises(ValueError, match="float32 or all float64"):
        optimizers.SGD().apply([np.ones(2), np.ones(2)], [np.zeros(2), np.zeros(2, np.float32)])
    with pytest.raises(ValueError, match="float32 or all float64"):
        optimizers.SGD().apply([np.ones(2)], [np.zeros(2, np.int64)])
    with pytest.raises(ValueError, match="numpy array"):
        optimizers.SGD().apply([np.ones(2)], [[0.0, 0.0]])
    assert opt.iterations == 1  # failed calls did not count


def test_gradients_given_by_the_caller_are_not_modified():
    grad = np.full(4, 10.0, np.float32)
    optimizers.SGD(clipvalue=1.0).apply([grad], [np.zeros(4, np.float32)])
    np.testing.assert_array_equal(grad, 10.0)


def test_native_optimizer_validates_every_array():
    opt = _core.Optimizer({"name": "sgd", "momentum": 0.9}, "float32")
    with pytest.raises(RuntimeError, match="not built"):  # a call made too early: _core.StateError
        opt.apply([np.zeros(2, np.float32)], [np.zeros(2, np.float32)], 0.1)
    opt.build([(2, 2), (2,)])
    w, b = np.zeros((2, 2), np.float32), np.zeros(2, np.float32)
    g, gb = np.ones((2, 2), np.float32), np.ones(2, np.float32)
    with pytest.raises(ValueError, match=r"params\[0\]: expected dtype float32, got float64"):
        opt.apply([w.astype(np.float64), b], [g, gb], 0.1)
    with pytest.raises(ValueError, match=r"grads\[1\]: expected shape \(2,\), got \(3,\)"):
        opt.apply([w, b], [g, np.ones(3, np.float32)], 0.1)
    with pytest.raises(ValueError, match="C-contiguous"):
        opt.apply([np.zeros((2, 2), np.float32).T[:, :], b], [np.asfortranarray(g), gb], 0.1)
    with pytest.raises(ValueError, match="expected 2 parameters"):
        opt.apply([w], [g], 0.1)
    read_only = w.copy()
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        opt.apply([read_only, b], [g, gb], 0.1)
    with pytest.raises(ValueError, match="numpy array"):
        opt.apply([[0.0] * 4, b], [g, gb], 0.1)
    with pytest.raises(ValueError, match="given twice"):
        opt.apply([w, w], [g, g], 0.1, [0, 0])
    with pytest.raises(ValueError, match="out of range"):
        opt.apply([b], [gb], 0.1, [5])
    assert opt.iterations == 0
    opt.apply([w, b], [g, gb], 0.1)
    assert opt.iterations == 1
    np.testing.assert_allclose(w, -0.1)


def test_native_slots_and_scalars_are_validated():
    opt = _core.Optimizer({"name": "nadam"}, "float64")
    opt.build([(2,), ()])
    assert opt.slot_names() == ["momentum", "velocity"]
    slots = opt.get_slots()
    assert [[s.shape for s in per] for per in slots] == [[(2,), (2,)], [(), ()]]
    with pytest.raises(ValueError, match="expected 2 lists"):
        opt.set_slots(slots[:1])
    with pytest.raises(ValueError, match=r"slots\[0\]\[1\]: expected shape \(2,\)"):
        opt.set_slots([[np.zeros(2), np.zeros(3)], slots[1]])
    with pytest.raises(ValueError, match="dtype float64"):
        opt.set_slots([[np.zeros(2, np.float32), np.zeros(2)], slots[1]])
    opt.set_slots([[np.ones(2), np.full(2, 2.0)], [np.array(3.0), np.array(4.0)]])
    assert opt.get_slots()[1][1] == 4.0
    assert opt.scalar_names() == ["u_product"] and opt.get_scalars() == [1.0]
    opt.set_scalars([0.5])
    assert opt.get_scalars() == [0.5]
    with pytest.raises(ValueError, match="expected 1 values"):
        opt.set_scalars([])


def test_native_config_parser():
    parsed = _core.optimizer_config({"name": "Adam", "clipnorm": None, "weight_decay": None, "amsgrad": np.bool_(True)})
    assert parsed["name"] == "adam" and parsed["clipnorm"] == 0.0 and parsed["amsgrad"] is True
    for bad, message in [
        ({"name": "adam", "beta3": 0.1}, "unknown key 'beta3'"),
        ({"name": "adamx"}, "unknown optimizer 'adamx'"),
        ({"learning_rate": 0.1}, "missing 'name'"),
        ({"name": "adam", "epsilon": None}, "expected a number"),
        ({"name": "adam", "beta_1": "0.9"}, "expected a number"),
        ({"name": "adam", "beta_1": math.inf}, "finite"),
        ({"name": "sgd", "nesterov": 1}, "True or False"),
    ]:
        with pytest.raises(ValueError, match=message):
            _core.optimizer_config(bad)
    with pytest.raises(ValueError, match="dtype"):
        _core.Optimizer({"name": "sgd"}, "float16")


def test_native_regularizer_spec_parser():
    assert _core.regularizer_spec(None) == {"l1": 0.0, "l2": 0.0}
    assert _core.regularizer_spec({"l1": 0.01, "l2": None}) == {"l1": 0.01, "l2": 0.0}
    for bad in [{"l3": 0.1}, {"l1": -1.0}, {"l2": "x"}, [0.1]]:
        with pytest.raises(ValueError):
            _core.regularizer_spec(bad)


# ---------------------------------------------------------------------------------------------
# Schedules

SCHEDULE_CASES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.9)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.9, staircase=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.5, decay_steps=3, decay_rate=0.7)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.5, decay_steps=3, decay_rate=0.7, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[5, 20, 50], values=[1.0, 0.5, 0.1, 0.01])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=40)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=40, end_learning_rate=0.01, power=0.5, cycle=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=60, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=60, warmup_target=0.2, warmup_steps=10)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=1.0, m_mul=0.5, alpha=0.05)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=8, t_mul=1.5, m_mul=0.8)),
]
STEPS = [0, 1, 2, 5, 6, 9, 10, 11, 20, 37, 50, 51, 69, 70, 100, 1000]


@pytest.mark.parametrize("name,kwargs", SCHEDULE_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULE_CASES)])
def test_schedules_match_tf_keras(keras, name, kwargs):
    ours = getattr(schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    want = np.array([float(theirs(step)) for step in STEPS], dtype=np.float32)
    # Both evaluate in float32; cos/log/pow implementations may differ in the last ulp.
    np.testing.assert_allclose(ours(np.array(STEPS)), want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose([ours(step) for step in STEPS], want, rtol=1e-6, atol=1e-9)
    assert ours.get_config() == theirs.get_config()
    assert list(ours.get_config()) == list(theirs.get_config())
    assert schedules.serialize(ours) == keras.optimizers.schedules.serialize(theirs)


def test_schedules_follow_the_documented_formulas():
    # The schedules compute in float32 (like Keras); at step 1000 the exponent 1000/7 multiplies
    # the float32 rounding of the exponent by |ln 0.9 * 143| ~ 15, hence 1e-5 there.
    steps = np.array(STEPS)
    np.testing.assert_allclose(schedules.ExponentialDecay(0.1, 7, 0.9)(steps), 0.1 * 0.9 ** (steps / 7), rtol=1e-5)
    np.testing.assert_allclose(
        schedules.InverseTimeDecay(0.5, 3, 0.7, staircase=True)(steps), 0.5 / (1 + 0.7 * np.floor(steps / 3)), rtol=1e-6
    )
    piecewise = schedules.PiecewiseConstantDecay([5, 20], [1.0, 0.5, 0.1])
    assert [float(piecewise(s)) for s in (5, 6, 20, 21)] == [1.0, 0.5, 0.5, pytest.approx(0.1)]
    cosine = schedules.CosineDecay(0.1, 60, alpha=0.1)(steps)
    s = np.minimum(steps, 60)
    np.testing.assert_allclose(cosine, 0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * s / 60)) + 0.1), rtol=1e-6, atol=1e-9)
    warm = schedules.CosineDecay(0.0, 60, warmup_target=0.2, warmup_steps=10)
    assert float(warm(5)) == pytest.approx(0.1) and float(warm(10)) == pytest.approx(0.2)
    assert float(warm(70)) == pytest.approx(0.0, abs=1e-8)
    restarts = schedules.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5)
    # Periods: [0, 10) at full height, [10, 30) at half height, [30, 70) at a quarter.
    assert [float(restarts(s)) for s in (0, 10, 30)] == pytest.approx([0.1, 0.05, 0.025])
    assert float(restarts(20)) == pytest.approx(0.05 * 0.5 * (1 + np.cos(np.pi * 0.5)))


def test_schedule_config_round_trip_and_validation():
    for name, kwargs in SCHEDULE_CASES:
        schedule = getattr(schedules, name)(**kwargs)
        rebuilt = schedules.deserialize(schedules.serialize(schedule))
        assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.9)
    with pytest.raises(ValueError, match="length of boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1])
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"class_name": "ExpDecay", "config": {}})


def test_custom_schedule_subclass():
    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / 2**step

        def get_config(self):
            return {}

    opt = optimizers.SGD(learning_rate=Halving())
    np.testing.assert_array_equal(opt._learning_rates(0, 3), [1.0, 0.5, 0.25])
    w = np.zeros(1)
    opt.apply([np.ones(1)], [w])
    opt.apply([np.ones(1)], [w])
    np.testing.assert_allclose(w, [-1.5])
