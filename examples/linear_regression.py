"""The tutorial's example, y = A·X + b, written for tf.keras and run on fastdense.

The only change from the tutorial is the import line (and the tutorial's missing
`history = ` before `model.fit`). Pass --quick for a shorter run.
"""

import os
import random
import sys
import tempfile
import time

import numpy as np

from fastdense import layers, losses, metrics, models, optimizers

param_count = 10  # number of parameters
epochs = 10 if "--quick" in sys.argv else 100

# random parameters
random_a = [random.randint(20, 100) for _ in range(param_count)]
random_b = random.randint(2, 8) * (1 - 2 * random.randint(0, 1))


# data: y = A·X + b, with noise
def createData(count):
    X = np.array([np.linspace(-1, 1, count) for _ in range(param_count)]).T
    Y = np.dot(X, np.array(random_a)) + np.full((count,), random_b) + np.random.randn(count) * 0.1 * min(random_a)
    return X, Y


train_X, train_Y = createData(100)
test_X, test_Y = createData(30)

# the model (functional API)
inputs = layers.Input(shape=(param_count,))
layer1 = layers.Dense(64)(inputs)
layer2 = layers.Dense(64)(layer1)
outputs = layers.Dense(1)(layer2)
model = models.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=optimizers.RMSprop(), loss=losses.mean_squared_error, metrics=[metrics.mae])

# training
started = time.perf_counter()
history = model.fit(train_X, train_Y, epochs=epochs, validation_data=[test_X, test_Y])
print(f"fit: {epochs} epochs in {time.perf_counter() - started:.3f} s")

# checking
print(model.evaluate(test_X, test_Y))

# the loss curve
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.plot(np.arange(len(history.history["loss"])), history.history["loss"])
    plt.title("Model accuracy")
    plt.ylabel("loss")
    plt.xlabel("epoch")
    plt.legend(["Train"], loc="upper right")
    plot_path = os.path.join(tempfile.gettempdir(), "fastdense_linear_regression_loss.png")
    plt.savefig(plot_path)
    print(f"loss curve saved to {plot_path}")
except ImportError:
    print("matplotlib is not installed: skipping the loss plot (pip install 'fastdense[plot]')")

# saving
t = time.localtime()
filename = os.path.join(tempfile.gettempdir(),
                        f"keras_{t.tm_year}_{t.tm_mon}_{t.tm_mday}_{t.tm_hour}_{t.tm_min}_{t.tm_sec}.h5")
model.save(filename)
del model

# using
the_model = models.load_model(filename)
x_predict = np.array([random.sample(range(-10, 10), 10) for _ in range(param_count)]).T
y_predict = the_model.predict(x_predict)
y_should = np.dot(x_predict, random_a) + np.full((10,), random_b)
print(x_predict, y_predict.T[0], y_should)
os.remove(filename)
