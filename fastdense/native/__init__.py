"""The bridge to the native engine: the one package that talks to `fastdense._core` for models.

The Keras-shaped API (layers, models, trainers) reaches the engine only through these names:

- `build_network(model, compiled_outputs=None, y_true_shapes=None)` -> `(network, output_infos)`:
  the model's graph lowered to one `_core.Network`, for training (with its losses, metrics and
  optimizer) or for inference; `OutputInfo` describes each output to the data conversion.
- `LogLayout.of(compiled_outputs)` and `read_logs(network, layout)`: the engine's running means as
  Keras logs, in Keras's key order.
- `check_finite(array, what)`: the native NaN/infinity check of converted data.
- `latency`: `predict_entry(network)` and `batch_entries(network)`, the one-call native entries
  of repeated predict / train_on_batch / test_on_batch on data already in the engine's layout.
- `python_nodes`: a user's layer, activation, regularizer or constraint inside the native network
  (`add_layer`, `add_activation`, `network_regularizer`, `network_constraint`), used by the
  layers' `_lower` methods.

Its modules: network.py (lowering), losses.py (a compiled loss as the engine takes it),
logs.py, arrays.py, latency.py, python_nodes.py (engine callbacks running NumPy code through
autodiff) and python_metrics.py (metrics the engine lacks, updated from each batch's predictions). Nothing here
imports layers, models or trainers: imports flow API -> native -> `_core`.

Outside this package only the families whose objects are native themselves import `_core`:
activations.py and autodiff/native.py (activation and loss kernels), optimizers/base.py (the
native optimizer a Network updates with), and the package's `__init__` (thread settings).
"""

from fastdense.native import latency, python_nodes
from fastdense.native.arrays import check_finite
from fastdense.native.logs import LogLayout, read_logs
from fastdense.native.network import OutputInfo, build_network

__all__ = ["LogLayout", "OutputInfo", "build_network", "check_finite", "latency", "python_nodes", "read_logs"]
