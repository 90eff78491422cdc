"""A float64 native network trained by SGD(lr=1) one full batch at a time, so that one step
reveals the gradient the engine computed (w_before − w_after), and its loss for finite differences."""

import numpy as np

from gradcheck import attach_optimizer


class OneBatch:
    def __init__(self, net, params, inputs, targets):
        self.net, self.params, self.inputs, self.targets = net, params, inputs, targets
        self.rows = len(inputs[0])
        attach_optimizer(net, params)

    def train(self, learning_rate):
        self.net.reset_metrics()
        index = np.arange(self.rows, dtype=np.int64)
        self.net.train(self.inputs, self.targets, None, index, self.rows, np.array([learning_rate]))
        return self.net.results()[0]

    def loss(self):
        """The training loss; SGD with lr=0 changes no weight."""
        return self.train(0.0)

    def gradient_by_one_step(self):
        before = [p.copy() for p in self.params]
        self.train(1.0)
        gradient = [b - p for b, p in zip(before, self.params)]
        for p, b in zip(self.params, before):
            p[...] = b
        return gradient
