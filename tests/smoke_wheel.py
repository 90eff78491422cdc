"""Smoke test of an installed fastdense wheel, run by tools/build_portable_wheel.sh (and by
cibuildwheel's test-command) in a virtual environment that holds the wheel and nothing built
locally: import, the tutorial's model, a few epochs of fit, predict, a .keras round trip.

It is a script, not a pytest module (its name does not start with test_): it runs without pytest,
from outside the source tree, so that `import fastdense` finds the installed wheel.

    python tests/smoke_wheel.py
"""

import os
import sys
import tempfile

import numpy as np

import fastdense
from fastdense import layers, losses, metrics, models, optimizers


def main():
    here = os.path.dirname(os.path.abspath(fastdense.__file__))
    source_tree = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.dirname(here) == source_tree:
        sys.exit(f"fastdense was imported from the source tree ({here}), not from the installed wheel")
    kernel = fastdense._core.product_kernel() if hasattr(fastdense._core, "product_kernel") else "n/a"
    print(f"fastdense {fastdense.__version__} from {here}")
    print(f"native build: {fastdense.core_isa}; matrix products: {kernel}")

    # The tutorial's model (examples/linear_regression.py): y = A·X + b, functional API, RMSprop.
    rng = np.random.default_rng(0)
    a, b = rng.integers(20, 100, size=10).astype("float64"), 5.0
    x = rng.uniform(-1, 1, size=(200, 10))
    y = x @ a + b
    inputs = layers.Input(shape=(10,))
    hidden = layers.Dense(64)(layers.Dense(64)(inputs))
    model = models.Model(inputs=inputs, outputs=layers.Dense(1)(hidden))
    model.compile(optimizer=optimizers.RMSprop(), loss=losses.mean_squared_error, metrics=[metrics.mae])
    history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    loss = history.history["loss"]
    print(f"fit: loss {loss[0]:.1f} -> {loss[-1]:.1f}")
    if not all(np.isfinite(loss)) or loss[-1] >= loss[0]:
        sys.exit(f"training did not reduce the loss: {loss}")

    predicted = model.predict(x[:16], verbose=0)
    if predicted.shape != (16, 1) or not np.all(np.isfinite(predicted)):
        sys.exit(f"predict returned {predicted.shape} / non-finite values")

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        reloaded = models.load_model(path)
        np.testing.assert_allclose(reloaded.predict(x[:16], verbose=0), predicted, rtol=1e-6, atol=1e-6)
    print("save/load .keras: predictions equal")
    print("smoke test passed")


if __name__ == "__main__":
    main()
