"""The keras.io tabular recipe end to end, fastdense against tf.keras: a synthetic heart-like table
(numeric, integer-categorical and string-categorical columns), FeatureSpace (adapt included),
Dense(32, relu) → Dropout(0.5) → Dense(1, sigmoid), Adam, binary cross-entropy, 10 epochs.

tf.keras runs the recipe as keras.io writes it: a tf.data Dataset of (dict, label) batches,
`FeatureSpace.adapt` on it, `dataset.map(lambda x, y: (feature_space(x), y))`, fit of a model on
the encoded features. fastdense takes the DataFrame's columns (`dict(df)`), adapts the
FeatureSpace on them and fits the model from its Inputs (the preprocessing runs once per fit).
Each library runs in its own process; times are wall-clock seconds, best of --repeats.

    python bench/tabular.py [--rows 200000] [--epochs 10] [--batch-size 32] [--repeats 1] [--only fastdense|keras]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from machine import cpu_model  # noqa: E402  (bench/ is the script's directory)

FEATURES = {
    "sex": ("integer_categorical", {"num_oov_indices": 0}), "cp": ("integer_categorical", {"num_oov_indices": 0}),
    "fbs": ("integer_categorical", {"num_oov_indices": 0}), "restecg": ("integer_categorical", {"num_oov_indices": 0}),
    "exang": ("integer_categorical", {"num_oov_indices": 0}), "ca": ("integer_categorical", {"num_oov_indices": 0}),
    "thal": ("string_categorical", {"num_oov_indices": 0}), "age": ("float_discretized", {"num_bins": 30}),
    "trestbps": ("float_normalized", {}), "chol": ("float_normalized", {}), "thalach": ("float_normalized", {}),
    "oldpeak": ("float_normalized", {}), "slope": ("float_normalized", {}),
}


def table(rows, seed=1337):
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(29, 78, rows), "sex": rng.integers(0, 2, rows), "cp": rng.integers(0, 5, rows),
        "trestbps": rng.normal(131, 17, rows).round(), "chol": rng.normal(246, 51, rows).round(),
        "fbs": rng.integers(0, 2, rows), "restecg": rng.integers(0, 3, rows),
        "thalach": rng.normal(150, 23, rows).round(), "exang": rng.integers(0, 2, rows),
        "oldpeak": rng.exponential(1.0, rows).round(1), "slope": rng.integers(1, 4, rows),
        "ca": rng.integers(0, 4, rows), "thal": rng.choice(["fixed", "normal", "reversible"], rows),
    })
    score = (0.8 * (frame["thal"] == "reversible") + 0.5 * frame["exang"] + 0.4 * frame["ca"]
             - 0.03 * (frame["thalach"] - 150) + 0.3 * frame["oldpeak"] - 1.0)
    frame["target"] = (score + rng.logistic(0, 0.5, rows) > 0).astype(int)
    return frame


def feature_space(space_class):
    features = {name: getattr(space_class, kind)(**kwargs) for name, (kind, kwargs) in FEATURES.items()}
    return space_class(features=features, crosses=[("sex", "age"), ("thal", "ca")], crossing_dim=32,
                       output_mode="concat")


def head(layers, encoded):
    x = layers.Dense(32, activation="relu")(encoded)
    x = layers.Dropout(0.5)(x)
    return layers.Dense(1, activation="sigmoid")(x)


def run_fastdense(frame, epochs, batch_size):
    import fastdense
    from fastdense.utils import FeatureSpace

    started = time.perf_counter()
    labels = frame.pop("target").to_numpy()
    columns = dict(frame)
    space = feature_space(FeatureSpace)
    space.adapt(columns)
    adapted = time.perf_counter()
    model = fastdense.Model(inputs=space.get_inputs(), outputs=head(fastdense.layers, space.get_encoded_features()))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(columns, labels, batch_size=batch_size, epochs=epochs, verbose=0)
    finished = time.perf_counter()
    return {"adapt": adapted - started, "fit": finished - adapted, "total": finished - started,
            "final_loss": history.history["loss"][-1], "final_accuracy": history.history["accuracy"][-1]}


def run_keras(frame, epochs, batch_size):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import keras
    from keras.utils import FeatureSpace

    started = time.perf_counter()
    labels = frame.pop("target")
    train_ds = tf.data.Dataset.from_tensor_slices((dict(frame), labels))
    train_ds = train_ds.shuffle(buffer_size=len(frame)).batch(batch_size)
    space = feature_space(FeatureSpace)
    space.adapt(train_ds.map(lambda x, _: x))
    adapted = time.perf_counter()
    preprocessed = train_ds.map(lambda x, y: (space(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    preprocessed = preprocessed.prefetch(tf.data.AUTOTUNE)
    encoded = space.get_encoded_features()
    model = keras.Model(inputs=encoded, outputs=head(keras.layers, encoded))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(preprocessed, epochs=epochs, verbose=0)
    finished = time.perf_counter()
    return {"adapt": adapted - started, "fit": finished - adapted, "total": finished - started,
            "final_loss": history.history["loss"][-1], "final_accuracy": history.history["accuracy"][-1]}


def child(args):
    frame = table(args.rows)
    run = run_fastdense if args.only == "fastdense" else run_keras
    print(json.dumps(run(frame, args.epochs, args.batch_size)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", choices=["fastdense", "keras"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.only:
        return child(args)
    results = {}
    for library in ("fastdense", "keras"):
        runs = []
        for _ in range(args.repeats):
            command = [sys.executable, __file__, "--only", library, "--rows", str(args.rows), "--epochs",
                       str(args.epochs), "--batch-size", str(args.batch_size)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(output.strip().splitlines()[-1]))
        results[library] = min(runs, key=lambda r: r["total"])
    report = {"cpu": cpu_model(), "cores": os.cpu_count(), "rows": args.rows, "epochs": args.epochs,
              "batch_size": args.batch_size, "results": results,
              "speedup": results["keras"]["total"] / results["fastdense"]["total"]}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['cpu']}, {report['cores']} cores; {args.rows} rows, {args.epochs} epochs, batch {args.batch_size}")
    for library, r in results.items():
        print(f"{library:>9}: total {r['total']:8.2f} s (adapt {r['adapt']:6.2f} s, fit {r['fit']:8.2f} s), "
              f"final loss {r['final_loss']:.4f}, accuracy {r['final_accuracy']:.4f}")
    print(f"fastdense is {report['speedup']:.1f}x faster end to end")


if __name__ == "__main__":
    main()
