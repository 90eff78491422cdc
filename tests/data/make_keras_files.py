"""Regenerates the Keras-written fixture files in tests/data/keras_files/.

    python tests/data/make_keras_files.py keras3    # needs tensorflow (Keras 3)
    python tests/data/make_keras_files.py keras2    # needs the tf-keras package (Keras 2)

Two small trained models, saved in every format that version writes:
    seq: Input(4) -> Dense(3, relu, L2 kernel regularizer) -> Dropout(0.2) -> Dense(1)
    fun: x(4) -> d1 = Dense(3), d2 = Dense(3, tanh) -> add -> concatenate with d1 -> out = Dense(1)
The tests compute the expected predictions from the stored arrays with NumPy.
"""

import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_files")


def build(keras):
    layers = keras.layers
    rng = np.random.default_rng(0)
    x = rng.random((32, 4)).astype("float32")
    y = rng.random((32, 1)).astype("float32")
    seq = keras.Sequential([
        keras.Input((4,)),
        layers.Dense(3, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01)),
        layers.Dropout(0.2),
        layers.Dense(1),
    ])
    seq.compile(optimizer="adam", loss="mse", metrics=["mae"])
    seq.fit(x, y, epochs=2, batch_size=8, verbose=0)
    inputs = keras.Input((4,), name="x")
    d1 = layers.Dense(3, name="d1")(inputs)
    d2 = layers.Dense(3, activation="tanh", name="d2")(inputs)
    merged = layers.Concatenate(name="cat")([layers.Add(name="sum")([d1, d2]), d1])
    fun = keras.Model(inputs, layers.Dense(1, name="out")(merged))
    fun.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    fun.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return seq, fun


def main(version):
    if version == "keras3":
        import keras

        seq, fun = build(keras)
        prefix = "k3"
        seq.save_weights(os.path.join(HERE, f"{prefix}_seq.weights.h5"))
    else:
        import tf_keras as keras

        seq, fun = build(keras)
        prefix = "k2"
        seq.save_weights(os.path.join(HERE, f"{prefix}_seq_weights.h5"))
        seq.save_weights(os.path.join(HERE, f"{prefix}_seq.weights.h5"))
    # .keras first: Keras 3's .h5 save drops the optimizer from the model's compile config.
    seq.save(os.path.join(HERE, f"{prefix}_seq.keras"))
    fun.save(os.path.join(HERE, f"{prefix}_fun.keras"))
    seq.save(os.path.join(HERE, f"{prefix}_seq.h5"))
    fun.save(os.path.join(HERE, f"{prefix}_fun.h5"))
    with open(os.path.join(HERE, f"{prefix}_fun.json"), "w") as f:
        f.write(fun.to_json())
    with open(os.path.join(HERE, f"{prefix}_seq.json"), "w") as f:
        f.write(seq.to_json())


if __name__ == "__main__":
    main(sys.argv[1])
