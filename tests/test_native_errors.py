"""The engine's error kinds (src/engine/Error.h) reach Python as the builtin type a Python user
expects, each also a `_core.Error`."""

import numpy as np
import pytest

from fastdense import _core


def _network_with_input():
    net = _core.Network("float32")
    return net, net.add_input(3)


def test_every_kind_is_a_core_error_and_the_expected_builtin():
    assert issubclass(_core.ShapeError, (_core.Error, ValueError))
    assert issubclass(_core.ConfigError, ValueError) and issubclass(_core.ConfigError, _core.Error)
    assert issubclass(_core.UnknownNameError, _core.ConfigError)
    assert issubclass(_core.OutOfRangeError, IndexError) and issubclass(_core.OutOfRangeError, ValueError)
    assert issubclass(_core.StateError, RuntimeError) and issubclass(_core.StateError, _core.Error)
    assert not issubclass(_core.ShapeError, RuntimeError)


def test_a_wrong_shape_is_a_shape_error():
    net, x = _network_with_input()
    with pytest.raises(_core.ShapeError, match="has 3 features, expected 4"):
        net.add_dense(x, np.ones((4, 2), np.float32), None, {"name": "linear"})


def test_an_unknown_name_is_an_unknown_name_error():
    net, x = _network_with_input()
    with pytest.raises(_core.UnknownNameError, match="unknown constraint 'clip'"):
        net.add_layer_normalization(x, np.ones(3, np.float32), None, gamma_constraint={"name": "clip"})
    with pytest.raises(_core.UnknownNameError, match="unknown merge"):
        net.add_merge("blend", [x, x])
    with pytest.raises(_core.UnknownNameError, match="unknown key"):
        _core.optimizer_config({"name": "sgd", "speed": 1.0})


def test_a_value_out_of_its_domain_is_a_config_error():
    net, x = _network_with_input()
    with pytest.raises(_core.ConfigError, match="rate must be in"):
        net.add_dropout(x, 1.5)
    with pytest.raises(_core.ConfigError, match="dtype must be"):
        _core.Network("int8")


def test_an_index_past_the_end_is_an_out_of_range_error():
    net, x = _network_with_input()
    with pytest.raises(IndexError, match="no layer with id 7"):
        net.add_dropout(7, 0.5)
    opt = _core.Optimizer({"name": "sgd"}, "float32")
    opt.build([(2,)])
    with pytest.raises(_core.OutOfRangeError, match="out of range"):
        opt.apply([np.zeros(2, np.float32)], [np.zeros(2, np.float32)], 0.1, [5])


def test_a_call_made_at_the_wrong_time_is_a_state_error():
    opt = _core.Optimizer({"name": "adam"}, "float32")
    with pytest.raises(_core.StateError, match="not built"):
        opt.apply([np.zeros(2, np.float32)], [np.zeros(2, np.float32)], 0.1)
    net, x = _network_with_input()
    net.add_output(net.add_dense(x, np.ones((3, 1), np.float32), None, {"name": "linear"}),
                   {"name": "mean_squared_error"})
    with pytest.raises(RuntimeError, match="no optimizer"):
        net.train([np.ones((2, 3), np.float32)], [np.ones((2, 1), np.float32)], None, None, 2, 0.1)
    with pytest.raises(_core.StateError, match="last_batch"):
        net.last_batch()
