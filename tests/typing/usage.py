"""The tutorial's workflow written with types, checked by mypy (tests/test_typing.py).

It is also an ordinary script: running it builds, trains, saves and reloads a small model. Each
`assert_type` states the type a user's checker sees for a public call; mypy fails if the
annotation changes.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from typing_extensions import assert_type

from fastdense import callbacks, layers, losses, models, optimizers
from fastdense.callbacks import History
from fastdense.layers.input_layer import KerasTensor


class Scale(layers.Layer):
    """A custom layer as the README writes one (its `call` narrows the base's signature)."""

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        width = input_shape[-1]
        assert width is not None
        self.s = self.add_weight(shape=(width,), initializer="ones")

    def call(self, x: np.ndarray) -> np.ndarray:
        return x * self.s + np.sin(x)


def build_functional(width: int) -> models.Model:
    inputs = layers.Input(shape=(width,))
    assert_type(inputs, KerasTensor)
    hidden = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(1)(hidden)
    return models.Model(inputs=inputs, outputs=outputs)


def build_sequential(width: int) -> models.Sequential:
    model = models.Sequential([layers.Input((width,)), layers.Dense(16, activation="tanh"), Scale(),
                               layers.Dropout(0.1, seed=0), layers.Dense(1)])
    model.add(layers.Activation("linear"))
    return model


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 10)).astype("float32")
    y = x @ rng.normal(size=(10, 1)).astype("float32")

    model = build_functional(10)
    optimizer = optimizers.RMSprop(learning_rate=1e-3)
    assert_type(optimizers.get("adam"), "optimizers.Optimizer | None")
    model.compile(optimizer=optimizer, loss=losses.mean_squared_error, metrics=["mae"])
    history = model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0,
                        callbacks=[callbacks.EarlyStopping(monitor="val_loss", patience=2)])
    assert_type(history, History)
    losses_per_epoch: list[float] = history.history["loss"]
    assert len(losses_per_epoch) == 2

    predictions: np.ndarray = model.predict(x[:4], verbose=0)
    assert predictions.shape == (4, 1)
    score = model.evaluate(x, y, verbose=0)
    assert len(score) == 2
    step: dict[str, float] = model.train_on_batch(x[:32], y[:32], return_dict=True)
    assert set(step) == {"loss", "mae"}

    weights = model.get_weights()
    assert_type(weights, list[np.ndarray])
    model.set_weights(weights)
    assert_type(model.get_layer(index=1), layers.Layer)
    assert_type(model.count_params(), int)
    assert_type(model.to_json(), str)
    assert_type(model.layers, list[layers.Layer])

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        predictions = model.predict(x[:4], verbose=0)  # after train_on_batch's step
        reloaded: models.Model = models.load_model(path)  # load_model is typed Any: saving imports no model
        np.testing.assert_allclose(reloaded.predict(x[:4], verbose=0), predictions, rtol=1e-6)
        model.save_weights(os.path.join(directory, "model.weights.h5"))
        model.load_weights(os.path.join(directory, "model.weights.h5"))

    clone = models.clone_model(model)
    assert_type(clone, models.Model)
    from_json: models.Model = models.model_from_json(model.to_json())
    assert from_json.count_params() == model.count_params()

    sequential = build_sequential(10)
    sequential.compile(optimizer=optimizers.Adam(learning_rate=optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9)),
                       loss=losses.MeanSquaredError())
    sequential.fit(x, y, epochs=1, verbose=0)
    sequential.summary(print_fn=lambda line, *args, **kwargs: None)


if __name__ == "__main__":
    main()
