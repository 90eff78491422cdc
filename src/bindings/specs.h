// Conversions from the Python-side configuration dicts to engine specs, parsed once when a
// network or optimizer is built (never per step). Each is implemented beside the bindings of its
// family (register_<family>.cpp), or in specs.cpp for the families without bindings of their own
// (constraints, native metrics). An unknown name or key raises fd::UnknownNameError, a value out
// of its domain fd::ConfigError (both ValueError in Python).
#pragma once

#include <pybind11/pybind11.h>

#include "engine/Activation.h"
#include "engine/Constraint.h"
#include "engine/Loss.h"
#include "engine/Metric.h"
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
// None or {"name": "max_norm", "max_value": 2.0, "axis": 0}: max_norm, non_neg, unit_norm, min_max_norm.
ConstraintSpec constraint_spec(const py::handle& config);
// {"kind": "binary_accuracy", "threshold": 0.5, ...}; {"kind": "loss", "loss": {...}} for a loss as a metric.
MetricSpec metric_spec(const py::dict& config);

}  // namespace fd::bind
