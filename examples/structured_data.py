"""keras.io's "Structured data classification with FeatureSpace", run on fastdense.

The recipe's model and preprocessing are unchanged: the same FeatureSpace (integer and string
categorical columns one-hot encoded, age discretized, the other numbers normalized, two hashed
crosses), Dense(32, relu) → Dropout(0.5) → Dense(1, sigmoid), Adam and binary cross-entropy.
Differences, each said where it happens:
- the table is synthetic (generated here, shaped like the recipe's heart.csv), not downloaded;
- the data goes in as pandas columns (`dict(dataframe)`) instead of a tf.data pipeline (with
  TensorFlow installed, the recipe's `train_ds.map(lambda x, y: (feature_space(x), y))` works
  too: tests/test_feature_space_recipe.py), so the preprocessed training data is
  `feature_space(train_x)`.
As in the recipe, the training model starts at the encoded features (`Model(inputs=
encoded_features, ...)`) and the inference model at the raw columns, sharing the same layers.
Pass --quick for a shorter run.
"""

import sys

import numpy as np
import pandas as pd

import fastdense as keras
from fastdense.utils import FeatureSpace

epochs = 5 if "--quick" in sys.argv else 20
rows = 2000 if "--quick" in sys.argv else 20000


def synthetic_heart_table(rows, seed=1337):
    """Columns of heart.csv: integer categories, one string category, numbers; the target depends
    on a few of them so that the model has something to learn."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.integers(29, 78, rows),
        "sex": rng.integers(0, 2, rows),
        "cp": rng.integers(0, 5, rows),
        "trestbps": rng.normal(131, 17, rows).round(),
        "chol": rng.normal(246, 51, rows).round(),
        "fbs": rng.integers(0, 2, rows),
        "restecg": rng.integers(0, 3, rows),
        "thalach": rng.normal(150, 23, rows).round(),
        "exang": rng.integers(0, 2, rows),
        "oldpeak": rng.exponential(1.0, rows).round(1),
        "slope": rng.integers(1, 4, rows),
        "ca": rng.integers(0, 4, rows),
        "thal": rng.choice(["fixed", "normal", "reversible"], rows, p=[0.1, 0.55, 0.35]),
    })
    score = (0.8 * (frame["thal"] == "reversible") + 0.5 * frame["exang"] + 0.4 * frame["ca"]
             - 0.03 * (frame["thalach"] - 150) + 0.3 * frame["oldpeak"] + 0.3 * (frame["cp"] == 0) - 1.0)
    frame["target"] = (score + rng.logistic(0, 0.5, rows) > 0).astype(int)
    return frame


dataframe = synthetic_heart_table(rows)
val_dataframe = dataframe.sample(frac=0.2, random_state=1337)
train_dataframe = dataframe.drop(val_dataframe.index)
print(f"Using {len(train_dataframe)} samples for training and {len(val_dataframe)} for validation")


def dataframe_to_columns(dataframe):
    """The recipe's dataframe_to_dataset, as (dict of columns, labels) instead of a tf.data Dataset."""
    dataframe = dataframe.copy()
    labels = dataframe.pop("target")
    return dict(dataframe), labels


train_x, train_y = dataframe_to_columns(train_dataframe)
val_x, val_y = dataframe_to_columns(val_dataframe)

feature_space = FeatureSpace(
    features={
        # Categorical features encoded as integers
        "sex": FeatureSpace.integer_categorical(num_oov_indices=0),
        "cp": FeatureSpace.integer_categorical(num_oov_indices=0),
        "fbs": FeatureSpace.integer_categorical(num_oov_indices=0),
        "restecg": FeatureSpace.integer_categorical(num_oov_indices=0),
        "exang": FeatureSpace.integer_categorical(num_oov_indices=0),
        "ca": FeatureSpace.integer_categorical(num_oov_indices=0),
        # Categorical feature encoded as string
        "thal": FeatureSpace.string_categorical(num_oov_indices=0),
        # Numerical features to discretize
        "age": FeatureSpace.float_discretized(num_bins=30),
        # Numerical features to normalize
        "trestbps": FeatureSpace.float_normalized(),
        "chol": FeatureSpace.float_normalized(),
        "thalach": FeatureSpace.float_normalized(),
        "oldpeak": FeatureSpace.float_normalized(),
        "slope": FeatureSpace.float_normalized(),
    },
    # We create additional features by hashing value co-occurrences for the following groups of
    # categorical features.
    crosses=[("sex", "age"), ("thal", "ca")],
    # The hashing space for these co-occurrences will be 32-dimensional.
    crossing_dim=32,
    # Our utility will one-hot encode all categorical features and concat all features into a
    # single vector (one vector per sample).
    output_mode="concat",
)

feature_space.adapt(train_x)

preprocessed_x = feature_space({name: column[:32] for name, column in train_x.items()})
print("preprocessed_x.shape:", preprocessed_x.shape)
print("preprocessed_x.dtype:", preprocessed_x.dtype)

dict_inputs = feature_space.get_inputs()
encoded_features = feature_space.get_encoded_features()

x = keras.layers.Dense(32, activation="relu")(encoded_features)
x = keras.layers.Dropout(0.5)(x)
predictions = keras.layers.Dense(1, activation="sigmoid")(x)

training_model = keras.Model(inputs=encoded_features, outputs=predictions)
training_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])

inference_model = keras.Model(inputs=dict_inputs, outputs=predictions)

preprocessed_train = (feature_space(train_x), train_y)
preprocessed_val = (feature_space(val_x), val_y)
history = training_model.fit(*preprocessed_train, batch_size=32, epochs=epochs, validation_data=preprocessed_val,
                             verbose=2)
loss, accuracy = training_model.evaluate(*preprocessed_val, verbose=0)
print(f"validation accuracy: {accuracy:.3f}")

sample = {
    "age": 60, "sex": 1, "cp": 1, "trestbps": 145, "chol": 233, "fbs": 1, "restecg": 2, "thalach": 150,
    "exang": 0, "oldpeak": 2.3, "slope": 3, "ca": 0, "thal": "fixed",
}
input_dict = {name: np.array([value]) for name, value in sample.items()}
prediction = inference_model.predict(input_dict, verbose=0)
print(f"This particular patient had a {100 * prediction[0][0]:.2f}% probability of having a heart disease, "
      "as evaluated by our model.")
