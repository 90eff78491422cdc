"""The engine's latency entries: one native call per repeated predict, train_on_batch or
test_on_batch on arrays of the network's widths, of its dtype or of integers
(src/bindings/register_network.cpp:
`predict_array`, `train_batch`, `evaluate_batch`). Each takes the arrays themselves and returns
None, having run nothing, for any data it would have to convert or reject; the caller then takes
its checked path, which converts the data or raises the error that names the problem.
"""

from fastdense import _core
from fastdense.native.python_metrics import NetworkWithPythonMetrics


def predict_entry(network):
    """`predict_array(x, batch_size)` of a network (a training network's own, whose metrics do
    not take part in predictions): a list of output arrays, or None; batch_size 0 runs all rows
    as one batch."""
    if isinstance(network, NetworkWithPythonMetrics):
        network = network._network
    return network.predict_array


def batch_entries(network):
    """(train_batch, evaluate_batch) of a training network whose metrics are all native:
    `train_batch(x, y, learning_rate, sparse_classes)` and `evaluate_batch(x, y, sparse_classes)`
    reset the running means, run x and y as one batch, and return `results()`, or None.
    None when some metric runs in Python (python_metrics.py updates it around each batch)."""
    if type(network) is not _core.Network:
        return None
    return network.train_batch, network.evaluate_batch
