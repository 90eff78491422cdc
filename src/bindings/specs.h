// Conversions from the Python-side configuration dicts to engine specs. Each is implemented
// beside the bindings of its family (register_<family>.cpp) and reused by the network bindings.
// Unknown names or keys raise ValueError.
#pragma once

#include <pybind11/pybind11.h>

#include "engine/Activation.h"
#include "engine/Loss.h"
#include "engine/Regularizer.h"
#include "engine/optimizer/Optimizer.h"

namespace fd::bind {

namespace py = pybind11;

// {"name": "relu", "alpha": 0.0, "max_value": None, "threshold": 0.0, "approximate": False}
ActivationSpec activation_spec(const py::dict& config);
// {"name": "binary_crossentropy", "from_logits": False, "label_smoothing": 0.0, "delta": 1.0}
LossSpec loss_spec(const py::dict& config);
// {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, ...}: keys as OptimizerConfig fields.
OptimizerConfig optimizer_config(const py::dict& config);
// None or {"l1": 0.0, "l2": 0.01}
RegularizerSpec regularizer_spec(const py::handle& config);

}  // namespace fd::bind
