"""The three compile calls of the seed document, quoted in issue 3 (Keras-compatible model API), train
identically (no tf.keras needed; the parity of each with tf.keras is in test_parity_api)."""

import numpy as np

import fastdense
from fastdense import losses, metrics, optimizers

FORMS = {
    "instances": lambda: dict(optimizer=optimizers.RMSprop(), loss=losses.MeanSquaredError(), metrics=[metrics.mae]),
    "function": lambda: dict(optimizer=optimizers.RMSprop(), loss=losses.mean_squared_error, metrics=[metrics.mae]),
    "strings": lambda: dict(optimizer="RMSprop", loss="mean_squared_error", metrics=["mae"]),
}


def train(form, initial_weights):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 10)).astype(np.float32)
    y = x @ rng.normal(size=(10, 1)).astype(np.float32) + 0.5
    inputs = fastdense.Input((10,))
    model = fastdense.Model(inputs, fastdense.layers.Dense(1)(inputs))
    model.set_weights(initial_weights)
    model.compile(**FORMS[form]())
    fastdense.utils.set_random_seed(1)  # the same shuffles
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=[x[:8], y[:8]])
    return model.get_weights(), history.history, model.evaluate(x, y, verbose=0)


def test_the_three_seed_compile_forms_train_identically():
    initial = [np.linspace(-1, 1, 10, dtype=np.float32).reshape(10, 1), np.zeros(1, np.float32)]
    reference_weights, reference_history, reference_results = train("instances", initial)
    for form in ("function", "strings"):
        weights, history, results = train(form, initial)
        for a, b in zip(weights, reference_weights):
            np.testing.assert_array_equal(a, b)
        assert list(history.values()) == list(reference_history.values())
        assert results == reference_results
    # The function's name keys its History entries; the string keys them as written.
    assert list(reference_history) == ["loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"]
    assert list(history) == ["loss", "mae", "val_loss", "val_mae"]
