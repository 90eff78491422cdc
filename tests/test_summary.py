"""model.summary(): the exact text of Keras 3's summary (tf.keras's print_fn output) for the same
models, and without TensorFlow against a text recorded from tf.keras (print_summary in
keras/src/utils/summary_utils.py)."""

import numpy as np
import pytest

import fastdense as fd


@pytest.fixture(autouse=True)
def terminal_width(monkeypatch):
    # Both libraries size the table from the terminal; fix it so the text does not depend on it.
    monkeypatch.setenv("COLUMNS", "80")


def summary_of(model, **kwargs):
    printed = []
    model.summary(print_fn=printed.append, **kwargs)
    assert len(printed) == 1  # Keras hands print_fn the whole text at once
    return printed[0]


def sequential(lib):
    return lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="relu", name="dense"),
                           lib.layers.Dense(1, name="dense_1")], name="sequential")


def dag_with_merges(lib):
    layers = lib.layers
    a, b = lib.Input((6,), name="a"), lib.Input((3,), name="b")
    h, g = layers.Dense(8, name="h")(a), layers.Dense(8, name="g")(b)
    total = layers.Add(name="add")([h, g])
    joined = layers.Concatenate(name="cat")([total, h, g])
    out = layers.Dense(2, name="out")(layers.Dropout(0.3, name="drop")(joined))
    side = layers.Dense(1, name="a_rather_long_layer_name_that_wraps_in_the_cell")(total)
    return lib.Model([a, b], [out, side], name="dag")


def functional_chain(lib):
    inputs = lib.Input((5,), name="inp")
    x = lib.layers.Dense(1000, name="big")(inputs)
    x = lib.layers.Dense(300, activation="relu", name="mid")(x)
    return lib.Model(inputs, lib.layers.Dense(1, name="head")(x), name="chain")


def shared_layer(lib):
    inputs = lib.Input((5,), name="x")
    shared = lib.layers.Dense(5, name="shared")
    return lib.Model(inputs, shared(shared(inputs)), name="shared_model")


def nested(lib):
    inner = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, name="in1"), lib.layers.Dense(2, name="in2")],
                           name="inner")
    inputs = lib.Input((4,), name="xin")
    return lib.Model(inputs, lib.layers.Dense(1, name="final")(inner(inputs)), name="outer")


def partly_frozen(lib):
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2, name="frozen"), lib.layers.Dense(1, name="free")],
                           name="partly_frozen")
    model.layers[0].trainable = False
    return model


def unbuilt(lib):
    return lib.Sequential([lib.layers.Dense(3, name="d1"), lib.layers.Dense(1, name="d2")], name="unbuilt")


MODELS = [sequential, dag_with_merges, functional_chain, shared_layer, nested, partly_frozen, unbuilt]
OPTIONS = [{}, {"show_trainable": True}, {"expand_nested": True}, {"line_length": 70}]


@pytest.mark.parametrize("build", MODELS, ids=[m.__name__ for m in MODELS])
@pytest.mark.parametrize("options", OPTIONS, ids=["default", "trainable", "nested", "narrow"])
def test_summary_text_equals_keras(keras, build, options):
    assert summary_of(build(fd), **options) == summary_of(build(keras), **options)


def test_custom_positions_and_a_table_wider_than_the_terminal_equal_keras(keras):
    options = {"line_length": 60, "positions": [0.5, 0.7, 0.85, 1.0]}
    assert summary_of(dag_with_merges(fd), **options) == summary_of(dag_with_merges(keras), **options)
    assert summary_of(sequential(fd), line_length=120) == summary_of(sequential(keras), line_length=120)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "nadam"])
def test_summary_before_and_after_compile_and_fit_equals_keras(keras, optimizer):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)).astype(np.float32), rng.normal(size=(16, 1)).astype(np.float32)
    texts = []
    for lib in (keras, fd):
        model = sequential(lib)
        model.compile(optimizer, "mse")
        compiled = summary_of(model)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        texts.append((compiled, summary_of(model)))
    assert texts[1] == texts[0]
    assert "Optimizer params" not in texts[1][0] and "Optimizer params" in texts[1][1]


REFERENCE_AFTER_ADAM = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 3)              │            15 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 1)              │             4 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 59 (240.00 B)
 Trainable params: 19 (76.00 B)
 Non-trainable params: 0 (0.00 B)
 Optimizer params: 40 (164.00 B)
"""


def test_summary_matches_the_reference_example(capsys):
    fd.backend.clear_session()
    model = fd.Sequential([fd.Input((4,)), fd.layers.Dense(3), fd.layers.Dense(1)])
    model.compile("adam", "mse")
    before = summary_of(model)
    assert before.splitlines()[-3:] == [" Total params: 19 (76.00 B)", " Trainable params: 19 (76.00 B)",
                                        " Non-trainable params: 0 (0.00 B)"]
    model.fit(np.ones((4, 4), np.float32), np.ones((4, 1), np.float32), verbose=0)
    assert summary_of(model) == REFERENCE_AFTER_ADAM
    model.summary()  # no print_fn: the same text on stdout
    assert capsys.readouterr().out == REFERENCE_AFTER_ADAM


def test_thousands_separators_memory_units_and_connections(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    rows = [line for line in summary_of(dag_with_merges(fd)).splitlines() if line.startswith("│")]
    connected_to = {row.split("│")[1].split()[0]: row.split("│")[4].strip() for row in rows if row.split("│")[1].strip()}
    assert connected_to["a"] == "-" and connected_to["h"] == "a[0][0]"
    assert connected_to["add"] == "h[0][0], g[0][0]"
    assert connected_to["cat"] == "add[0][0], h[0][0],"  # wraps: "g[0][0]" is on the cell's next line
    assert len(rows[0]) == 108  # the default width of a graph's table
    big = summary_of(functional_chain(fd))
    assert " Total params: 306,601 (1.17 MB)" in big


def test_positions_must_match_the_columns():
    with pytest.raises(ValueError, match="positions"):
        summary_of(dag_with_merges(fd), positions=[0.5, 0.8, 1.0])
    with pytest.raises(ValueError, match="Insufficient console width"):
        summary_of(sequential(fd), line_length=8)
