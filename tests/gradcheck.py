"""Gradient checks shared by the tests: central finite differences and the relative error they are
judged by, and the native optimizer through which one training step reveals a gradient."""

import numpy as np

from fastdense import _core

STEP = 1e-6
SGD_LR1 = {"name": "sgd", "learning_rate": 1.0}


def central_differences(loss, params, step=STEP):
    """d loss() / d p for every array p of params, one element at a time: (loss(p + h) - loss(p - h)) / 2h.

    loss() takes no argument and reads the arrays, which are changed in place and restored.
    """
    gradients = []
    for p in params:
        grad = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            saved = p[i]
            p[i] = saved + step
            up = loss()
            p[i] = saved - step
            down = loss()
            p[i] = saved
            grad[i] = (up - down) / (2 * step)
        gradients.append(grad)
    return gradients


def numerical_gradient(scalar_fn, x, step=STEP):
    """The gradient of scalar_fn at x by central differences, computed on a float64 copy of x."""
    x = np.array(x, dtype=np.float64)
    return central_differences(lambda: scalar_fn(x), [x], step)[0]


def _flat(values):
    if isinstance(values, (list, tuple)):
        return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in values])
    return np.asarray(values, dtype=np.float64)


def relative_error(a, b):
    """|a - b| / (|a| + |b|) in the 2-norm (the denominator at least 1e-8); a and b are arrays or
    lists of arrays, a list standing for all its elements in order."""
    a, b = _flat(a), _flat(b)
    return np.linalg.norm(a - b) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(b))


def attach_optimizer(net, weights, config=SGD_LR1):
    """A native optimizer built for `weights` (the network's trainable arrays) and set on net.

    With the default SGD(learning_rate=1) one step moves each weight by minus its gradient, so
    ``before - after`` is the gradient the engine computed.
    """
    optimizer = _core.Optimizer(config, weights[0].dtype.name)
    optimizer.build([w.shape for w in weights])
    net.set_optimizer(optimizer, weights)
    return optimizer
