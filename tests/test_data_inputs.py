"""Data from other libraries wherever Keras takes arrays: pandas DataFrames and Series, polars,
objects with __array__, dicts of columns keyed by Input names, scipy sparse matrices (densified
a chunk of batches at a time), tf.data Datasets and PyTorch DataLoaders (read as NumPy), and
the errors for data that is not numeric. Also Model.input_shape / output_shape / input / output.

Each kind of data is checked against the same model trained on the equivalent NumPy arrays
(fastdense's own array path, which the parity suites hold to tf.keras), and against tf.keras
itself where tf.keras accepts that kind of data.
"""

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import fastdense
from fastdense import layers, models
from fastdense.trainers import data as data_utils
from parity import assert_close, assert_same_run, train_both

RNG = np.random.default_rng(0)
ROWS = 40
X = RNG.normal(size=(ROWS, 3)).astype(np.float32)
Y = RNG.normal(size=ROWS).astype(np.float32)
WEIGHTS = RNG.uniform(0.5, 2.0, size=ROWS).astype(np.float32)


def regression_model(inputs=3, seed=1):
    fastdense.utils.set_random_seed(seed)
    model = fastdense.Sequential([fastdense.Input((inputs,)), layers.Dense(4, activation="tanh"), layers.Dense(1)])
    model.compile("adam", "mse", metrics=["mae"])
    return model


def column_model(names=("a", "b", "c"), seed=1):
    """One Input(shape=(1,)) per column, as the keras.io structured-data recipe builds it."""
    fastdense.utils.set_random_seed(seed)
    inputs = [fastdense.Input((1,), name=name) for name in names]
    output = layers.Dense(1)(layers.Dense(4, activation="relu")(layers.concatenate(inputs)))
    model = fastdense.Model(inputs, output)
    model.compile("adam", "mse")
    return model


def same_training(run_given, run_arrays):
    """Both runs (a function of a fresh model, returning History, evaluate and predict results)
    produce the same numbers."""
    given, arrays = run_given(regression_model()), run_arrays(regression_model())
    assert given[0].history == arrays[0].history
    np.testing.assert_array_equal(given[1], arrays[1])
    np.testing.assert_array_equal(given[2], arrays[2])


class Batches(fastdense.utils.Sequence):
    """The batches of 8 rows of X and Y, as a Sequence (the reference for batch sources)."""

    def __len__(self):
        return ROWS // 8

    def __getitem__(self, index):
        return X[index * 8:(index + 1) * 8], Y[index * 8:(index + 1) * 8]


def fit_evaluate_predict(x, y, **fit_kwargs):
    def run(model):
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, **fit_kwargs)
        return history, model.evaluate(x, y, verbose=0), model.predict(x, verbose=0)

    return run


# ---------------------------------------------------------------------------------- pandas
def frame(columns=("a", "b", "c")):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=list(columns))


def test_dataframe_and_series_train_evaluate_and_predict_as_their_arrays():
    pd = pytest.importorskip("pandas")
    df, y = frame(), pd.Series(Y, name="target")
    same_training(fit_evaluate_predict(df, y, sample_weight=pd.Series(WEIGHTS), validation_data=(df, y)),
                  fit_evaluate_predict(X, Y, sample_weight=WEIGHTS, validation_data=(X, Y)))


def test_dataframe_with_integer_column_labels_and_a_target_frame():
    """Integer labels (pd.DataFrame(array)) once failed with a shape error: a DataFrame is read
    by column position, never with df[0]."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X)
    same_training(fit_evaluate_predict(df, pd.DataFrame({"t": Y})), fit_evaluate_predict(X, Y))


def test_on_batch_methods_take_dataframes():
    pd = pytest.importorskip("pandas")
    df, y = frame(), pd.Series(Y)
    model, reference = regression_model(), regression_model()
    assert model.train_on_batch(df, y) == reference.train_on_batch(X, Y)
    assert model.test_on_batch(df, y) == reference.test_on_batch(X, Y)
    np.testing.assert_array_equal(model.predict_on_batch(df), reference.predict_on_batch(X))
    np.testing.assert_array_equal(model(df), reference(X))


def test_mixed_numeric_column_dtypes_convert_to_the_model_float_type():
    """bool, int, float64 and float32 columns: each is cast to float32, as Keras casts a
    DataFrame to floatx (df.to_numpy() alone would give an object array for bools and ints)."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"flag": X[:, 0] > 0, "count": (X[:, 1] * 10).astype(np.int64),
                       "value": X[:, 2].astype(np.float64)})
    as_float = np.stack([(X[:, 0] > 0), (X[:, 1] * 10).astype(np.int64), X[:, 2]], axis=1).astype(np.float32)
    same_training(fit_evaluate_predict(df, Y), fit_evaluate_predict(as_float, Y))
    # NumPy object arrays of numbers (df.values of such a frame) convert the same way.
    np.testing.assert_array_equal(regression_model().predict(df.values, verbose=0),
                                  regression_model().predict(as_float, verbose=0))


def test_dict_of_series_feeds_one_input_per_column():
    """dict(df) as in the keras.io structured-data recipe: Series of shape (n,) feed
    Input(shape=(1,)) as (n, 1); a DataFrame given to that model feeds it by column name
    (tf.keras raises there); extra columns are left out."""
    pd = pytest.importorskip("pandas")
    df = frame().assign(unused=np.arange(ROWS))
    columns = {name: X[:, k:k + 1] for k, name in enumerate("abc")}
    for given in (dict(df), df):
        model, reference = column_model(), column_model()
        history = model.fit(given, pd.Series(Y), epochs=2, batch_size=8, shuffle=False, verbose=0)
        assert history.history == reference.fit(columns, Y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
        np.testing.assert_array_equal(model.predict(given, verbose=0), reference.predict(columns, verbose=0))


def test_dataframe_missing_a_named_input_is_reported():
    with pytest.raises(ValueError, match=r"no column\(s\) \['c'\]"):
        column_model().predict(frame(("a", "b", "x")), verbose=0)


def test_dataframe_target_for_several_outputs_by_name():
    pd = pytest.importorskip("pandas")
    inputs = fastdense.Input((3,))
    hidden = layers.Dense(4)(inputs)
    model = fastdense.Model(inputs, {"price": layers.Dense(1)(hidden), "rooms": layers.Dense(1)(hidden)})
    model.compile("sgd", "mse")
    targets = pd.DataFrame({"rooms": Y * 2, "price": Y})
    evaluated = model.evaluate(X, targets, verbose=0, return_dict=True)
    assert evaluated == model.evaluate(X, {"rooms": Y * 2, "price": Y}, verbose=0, return_dict=True)


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_non_numeric_column_is_named(method):
    """A string, object or category column fed to a numeric input: a ValueError naming the
    column (also a TypeError, which fastdense raised before for non-numeric arrays)."""
    pd = pytest.importorskip("pandas")
    for column in (pd.Series(["x", "y"] * (ROWS // 2)), pd.Categorical(["u", "v"] * (ROWS // 2)),
                   pd.Series([object()] * ROWS)):
        df = frame().assign(c=column)
        args = (df,) if method == "predict" else (df, Y)
        with pytest.raises(ValueError, match="Column 'c' of the DataFrame passed as input is not numeric"):
            getattr(regression_model(), method)(*args, verbose=0)
        with pytest.raises(TypeError):
            getattr(regression_model(), method)(*args, verbose=0)


def test_non_numeric_series_and_numpy_strings_are_rejected():
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="The Series 'b' passed as input 'b' is not numeric"):
        column_model().predict({"a": X[:, 0], "b": pd.Series(["x"] * ROWS, name="b"), "c": X[:, 2]}, verbose=0)
    with pytest.raises(ValueError, match="must be numeric, got dtype <U1"):
        regression_model().predict(np.full((ROWS, 3), "a"), verbose=0)
    with pytest.raises(ValueError, match="Input 0 .* is not numeric .*'a'"):
        regression_model().fit(np.full((ROWS, 3), "a", dtype=object), Y, verbose=0)


def test_nullable_columns_are_numeric_and_missing_values_are_nan():
    """pandas's nullable Int64 / Float64 / boolean columns convert like their NumPy kinds; a
    missing value is NaN: fit reports it, predict gives NaN for that sample (as Keras does)."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": pd.array((X[:, 0] * 10).astype(np.int64), dtype="Int64"),
                       "b": pd.array(X[:, 1] > 0, dtype="boolean"), "c": pd.array(X[:, 2], dtype="Float64")})
    as_float = np.column_stack([(X[:, 0] * 10).astype(np.int64), X[:, 1] > 0, X[:, 2]]).astype(np.float32)
    np.testing.assert_array_equal(regression_model().predict(df, verbose=0),
                                  regression_model().predict(as_float, verbose=0))
    df.loc[3, "b"] = pd.NA
    assert np.isnan(regression_model().predict(df, verbose=0)[3]).all()
    with pytest.raises(ValueError, match="Input 0 contains NaN"):
        regression_model().fit(df, Y, verbose=0)


def test_categorical_column_of_numbers_is_numeric():
    pd = pytest.importorskip("pandas")
    codes = (X[:, 2] > 0).astype(np.int64)
    df = frame().assign(c=pd.Categorical(codes))
    as_float = np.column_stack([X[:, :2], codes]).astype(np.float32)
    np.testing.assert_array_equal(regression_model().predict(df, verbose=0),
                                  regression_model().predict(as_float, verbose=0))


# ----------------------------------------------------------------------- other array-likes
def test_polars_dataframe_and_series():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]})
    same_training(fit_evaluate_predict(df, pl.Series(Y)), fit_evaluate_predict(X, Y))
    with pytest.raises(ValueError, match="Column 's' .* is not numeric"):
        regression_model(4).predict(df.with_columns(pl.lit("x").alias("s")), verbose=0)


def test_objects_with_array_interface():
    class Wrapped:
        def __init__(self, array):
            self.array = array

        def __array__(self, dtype=None, copy=None):
            return self.array

        def __len__(self):  # indexable and sized, like a Sequence, yet data
            return len(self.array)

        def __getitem__(self, index):
            return self.array[index]

    same_training(fit_evaluate_predict(Wrapped(X), Wrapped(Y)), fit_evaluate_predict(X, Y))


# ---------------------------------------------------------------------------------- sparse
@pytest.mark.parametrize("kind", ["csr_matrix", "csc_matrix", "coo_matrix", "csr_array"])
def test_sparse_matrices_train_as_their_dense_arrays(kind):
    sparse = pytest.importorskip("scipy.sparse")
    dense = np.where(np.abs(X) > 0.8, X, 0).astype(np.float32)
    matrix = getattr(sparse, kind)(dense.astype(np.float64))
    same_training(fit_evaluate_predict(matrix, Y, validation_split=0.25),
                  fit_evaluate_predict(dense, Y, validation_split=0.25))


def test_sparse_rows_are_densified_a_chunk_at_a_time(monkeypatch):
    """A sparse matrix whose dense form would be 800 MB trains, evaluates and predicts with
    batch-sized dense slices: the largest NumPy allocation stays a few chunks' worth."""
    sparse = pytest.importorskip("scipy.sparse")
    rows, cols = 20_000, 10_000
    per_row = 2  # built from its parts: sparse.random takes seconds for this shape
    rng = np.random.default_rng(3)
    matrix = sparse.csr_matrix((rng.normal(size=rows * per_row).astype(np.float32),
                                rng.integers(0, cols, size=rows * per_row), np.arange(0, rows * per_row + 1, per_row)),
                               shape=(rows, cols))
    y = np.asarray(matrix.sum(axis=1)).ravel()
    model = fastdense.Sequential([fastdense.Input((cols,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    densified = []
    rows_at = data_utils.ArrayData.rows_at
    monkeypatch.setattr(data_utils.ArrayData, "rows_at",
                        lambda self, index: densified.append(len(np.arange(self.rows)[index])) or rows_at(self, index))
    tracemalloc.start()
    try:
        model.fit(matrix, y, batch_size=64, epochs=1, verbose=0)
        model.evaluate(matrix, y, batch_size=64, verbose=0)
        predicted = model.predict(matrix, batch_size=64, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    chunk = data_utils.ArrayData([matrix]).rows_per_chunk(64)
    assert chunk % 64 == 0 and chunk * cols * 4 <= 8 << 20
    assert max(densified) <= chunk and sum(densified) == 3 * rows
    assert peak < 60e6, f"{peak / 1e6:.0f} MB allocated at once"
    assert predicted.shape == (rows, 1)


# --------------------------------------------------------------------------- batch sources
def test_tf_data_dataset_trains_as_its_batches():
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(8)
    batches = [(X[i:i + 8], Y[i:i + 8]) for i in range(0, ROWS, 8)]
    model, reference = regression_model(), regression_model()
    history = model.fit(dataset, epochs=3, verbose=0, validation_data=dataset)
    expected = reference.fit(Batches(), epochs=3, shuffle=False, verbose=0, validation_data=Batches())
    assert history.history == expected.history
    assert model.evaluate(dataset, verbose=0) == reference.evaluate(Batches(), verbose=0)
    # predict in batches of 8 rows: float32 products blocked differently from one of 40 rows
    assert_close(model.predict(dataset, verbose=0), reference.predict(X, verbose=0), "predict", rtol=1e-6)
    only_x = tf.data.Dataset.from_tensor_slices(X).batch(8)
    assert_close(model.predict(only_x, verbose=0), reference.predict(X, verbose=0), "predict x only", rtol=1e-6)


def test_tf_data_dataset_with_steps_per_epoch_reads_on_across_epochs():
    """steps_per_epoch=3 of a 5-batch dataset: epoch 2 continues at batch 4 and ends after
    batch 5 (the data ran out); epoch 3 starts a new pass (Keras's EpochIterator)."""
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(8)
    batches = [(X[i:i + 8], Y[i:i + 8]) for i in range(0, ROWS, 8)]
    model, reference = regression_model(), regression_model()
    model.fit(dataset, epochs=3, steps_per_epoch=3, verbose=0)
    for epoch_batches in (batches[:3], batches[3:], batches[:3]):
        reference.fit(iter(epoch_batches), epochs=1, steps_per_epoch=3, verbose=0)
    assert model.optimizer.iterations == 8
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_torch_dataloader_trains_as_its_batches():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=8)
    model, reference = regression_model(), regression_model()
    history = model.fit(loader, epochs=2, verbose=0, validation_data=loader)
    expected = reference.fit(Batches(), epochs=2, shuffle=False, verbose=0, validation_data=Batches())
    assert history.history == expected.history
    assert model.evaluate(loader, verbose=0) == reference.evaluate(Batches(), verbose=0)
    assert_close(model.predict(loader, verbose=0), reference.predict(X, verbose=0), "predict", rtol=1e-6)


def test_shuffling_dataloader_gives_a_new_order_each_epoch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=8, shuffle=True)
    seen = []

    class Record(fastdense.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs["loss"])

    model = regression_model()
    model.compile("sgd", "mse")
    model.fit(loader, epochs=2, verbose=0, callbacks=[Record()])
    assert len(seen) == 2 and model.optimizer.iterations == 10


# --------------------------------------------------------------------------------- parity
def test_dataframe_training_matches_tf_keras():
    tf = pytest.importorskip("tensorflow")
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": X[:, 0].astype(np.float64), "b": (X[:, 1] * 5).astype(np.int64), "c": X[:, 2]})
    y = pd.Series(Y.astype(np.float64))

    def build(k):
        return k.Sequential([k.Input((3,)), k.layers.Dense(4, activation="tanh"), k.layers.Dense(1)])

    actual, expected = train_both(
        tf.keras, fastdense, build, lambda k: dict(optimizer="adam", loss="mse", metrics=["mae"]),
        lambda k: dict(x=df, y=y, batch_size=8, epochs=2, validation_data=(df, y), sample_weight=pd.Series(WEIGHTS)),
        evaluate_kwargs=dict(x=df, y=y, batch_size=16), predict_x=df)
    assert_same_run(actual, expected)


def test_dict_of_series_matches_tf_keras():
    tf = pytest.importorskip("tensorflow")
    pd = pytest.importorskip("pandas")
    df = frame()

    def build(k):
        inputs = [k.Input((1,), name=name) for name in "abc"]
        return k.Model(inputs, k.layers.Dense(1)(k.layers.Dense(4, activation="relu")(k.layers.concatenate(inputs))))

    actual, expected = train_both(tf.keras, fastdense, build, lambda k: dict(optimizer="adam", loss="mse"),
                                  lambda k: dict(x=dict(df), y=pd.Series(Y), batch_size=8, epochs=2),
                                  predict_x=dict(df))
    assert_same_run(actual, expected)


def test_sparse_training_matches_tf_keras():
    tf = pytest.importorskip("tensorflow")
    sparse = pytest.importorskip("scipy.sparse")
    matrix = sparse.csr_matrix(np.where(np.abs(X) > 0.8, X, 0))

    def build(k):
        return k.Sequential([k.Input((3,)), k.layers.Dense(4, activation="tanh"), k.layers.Dense(1)])

    actual, expected = train_both(tf.keras, fastdense, build, lambda k: dict(optimizer="adam", loss="mse"),
                                  lambda k: dict(x=matrix, y=Y, batch_size=8, epochs=2), eager=False)
    assert_same_run(actual, expected)
    assert_close(actual.model.predict(matrix, verbose=0), expected.model.predict(matrix, verbose=0), "predict")


# ----------------------------------------------------------------------- import isolation
def test_importing_fastdense_imports_no_data_library():
    code = ("import sys, fastdense; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pandas', 'scipy', 'polars', 'pyarrow', 'tensorflow', 'torch', 'keras', 'jax'}))")
    root = os.path.dirname(os.path.dirname(fastdense.__file__))  # the fastdense under test, source or installed
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=root, env=dict(os.environ, PYTHONPATH=root))
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


# ---------------------------------------------------------------------------- model surface
def two_input_model(k, dict_io=False):
    a, b = k.Input((4,), name="a"), k.Input((2,), name="b")
    first, second = k.layers.Dense(1, name="o1")(k.layers.concatenate([a, b])), k.layers.Dense(2, name="o2")(a)
    if dict_io:
        return k.Model({"b": b, "a": a}, {"z": first, "y": second})
    return k.Model([a, b], [first, second])


def surface(model):
    """What Keras reports: shapes, and the names of the tensors of inputs / outputs."""
    result = {}
    for attribute in ("input_shape", "output_shape", "inputs", "outputs"):
        try:
            value = getattr(model, attribute)
        except AttributeError:
            result[attribute] = AttributeError
            continue
        if attribute in ("inputs", "outputs"):
            value = [tuple(t.shape) for t in value]
        result[attribute] = value
    return result


SURFACE_CASES = {
    "sequential with Input": lambda k: k.Sequential([k.Input((4,)), k.layers.Dense(3)]),
    "sequential built by build()": lambda k: _built(k.Sequential([k.layers.Dense(3), k.layers.Dense(1)])),
    "functional, one input": lambda k: (lambda x: k.Model(x, k.layers.Dense(2)(x)))(k.Input((5,))),
    "functional, one input in a list": lambda k: (lambda x: k.Model([x], [k.layers.Dense(2)(x)]))(k.Input((5,))),
    "functional, two inputs and outputs": two_input_model,
    "functional, dicts": lambda k: two_input_model(k, dict_io=True),
}


def _built(model):
    model.build((None, 4))
    return model


@pytest.mark.parametrize("case", sorted(SURFACE_CASES))
def test_model_surface_matches_tf_keras(case):
    tf = pytest.importorskip("tensorflow")
    assert surface(SURFACE_CASES[case](fastdense)) == surface(SURFACE_CASES[case](tf.keras))


def test_model_surface_without_tensorflow():
    model = fastdense.Sequential([layers.Dense(3)])
    for attribute in ("input_shape", "output_shape"):
        assert not hasattr(model, attribute)
    model.build((None, 4))
    assert (model.input_shape, model.output_shape) == ((None, 4), (None, 3))
    functional = two_input_model(fastdense, dict_io=True)
    assert functional.input_shape == [(None, 4), (None, 2)] and functional.output_shape == [(None, 2), (None, 1)]
    assert list(functional.input) == ["b", "a"] and list(functional.output) == ["z", "y"]
    extractor = fastdense.Model(functional.input, functional.output["y"])  # the feature-extractor idiom
    assert extractor.output_shape == (None, 2)


def test_subclassed_model_reports_shapes_once_built_from_data():
    """tf.keras's subclassed models never report them (AttributeError); fastdense builds a graph
    from call() on first data, and reports its shapes from then on."""
    class TwoLayers(fastdense.Model):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = layers.Dense(4), layers.Dense(2)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = TwoLayers()
    assert not hasattr(model, "input_shape")
    model.predict(X, verbose=0)
    assert (model.input_shape, model.output_shape) == ((None, 3), (None, 2))


def test_dataframe_with_string_and_integer_columns_feeds_preprocessing_inputs():
    """The keras.io structured-data recipe: one Input per column, string and integer columns
    into lookups; dict(df), the DataFrame itself and a dict of NumPy columns give one answer."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(40, 10, 120), "city": rng.choice(["a", "b", "c"], 120),
                       "kids": rng.integers(0, 4, 120)})
    y = rng.integers(0, 2, 120)
    age = layers.Input((1,), name="age")
    city = layers.Input((1,), name="city", dtype="string")
    kids = layers.Input((1,), name="kids", dtype="int64")
    norm, cities, counts = layers.Normalization(), layers.StringLookup(output_mode="one_hot"), \
        layers.IntegerLookup(output_mode="one_hot")
    norm.adapt(df[["age"]])
    cities.adapt(df["city"])
    counts.adapt(df["kids"])
    hidden = layers.Dense(4, activation="relu")(layers.concatenate([norm(age), cities(city), counts(kids)]))
    model = models.Model({"age": age, "city": city, "kids": kids}, layers.Dense(1, activation="sigmoid")(hidden))
    model.compile("adam", "binary_crossentropy")
    history = model.fit(dict(df), y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    columns = {name: df[name].to_numpy() for name in df.columns}
    expected = model.predict(columns, verbose=0)
    np.testing.assert_array_equal(model.predict(dict(df), verbose=0), expected)
    np.testing.assert_array_equal(model.predict(df, verbose=0), expected)
