// The spec parsers of the families without bindings of their own (declared in specs.h):
// weight constraints and the native metrics.
#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "bindings/specs.h"

namespace fd::bind {

ConstraintSpec constraint_spec(const py::handle& config) {
  ConstraintSpec spec;
  if (config.is_none()) return spec;
  auto d = py::reinterpret_borrow<py::dict>(config);
  const auto name = d["name"].cast<std::string>();
  if (name == "max_norm") spec.kind = ConstraintKind::MaxNorm;
  else if (name == "non_neg") spec.kind = ConstraintKind::NonNeg;
  else if (name == "unit_norm") spec.kind = ConstraintKind::UnitNorm;
  else if (name == "min_max_norm") spec.kind = ConstraintKind::MinMaxNorm;
  else throw UnknownNameError("unknown constraint '" + name + "'");
  if (d.contains("max_value")) spec.max_value = d["max_value"].cast<double>();
  if (d.contains("min_value")) spec.min_value = d["min_value"].cast<double>();
  if (d.contains("rate")) spec.rate = d["rate"].cast<double>();
  if (d.contains("axis")) spec.axis = d["axis"].cast<int>();
  if (spec.axis != 0 && spec.axis != 1 && spec.axis != -1)
    throw ConfigError("constraint axis must be 0 or -1 for a 2-D weight, got " + std::to_string(spec.axis));
  if (spec.axis == -1) spec.axis = 1;
  return spec;
}

MetricSpec metric_spec(const py::dict& d) {
  static const std::pair<const char*, MetricKind> kinds[] = {
      {"loss", MetricKind::Loss},
      {"binary_accuracy", MetricKind::BinaryAccuracy},
      {"categorical_accuracy", MetricKind::CategoricalAccuracy},
      {"sparse_categorical_accuracy", MetricKind::SparseCategoricalAccuracy},
      {"top_k_categorical_accuracy", MetricKind::TopKCategoricalAccuracy},
      {"sparse_top_k_categorical_accuracy", MetricKind::SparseTopKCategoricalAccuracy}};
  MetricSpec spec;
  const auto kind = d["kind"].cast<std::string>();
  bool found = false;
  for (const auto& [name, value] : kinds)
    if (kind == name) spec.kind = value, found = true;
  if (!found) throw UnknownNameError("unknown native metric kind '" + kind + "'");
  if (spec.kind == MetricKind::Loss) spec.loss = loss_spec(d["loss"].cast<py::dict>());
  if (d.contains("threshold")) spec.threshold = d["threshold"].cast<double>();
  if (d.contains("k")) spec.k = d["k"].cast<int>();
  if (d.contains("weighted")) spec.weighted = d["weighted"].cast<bool>();
  if (d.contains("negate")) spec.negate = d["negate"].cast<bool>();
  if (d.contains("root")) spec.root = d["root"].cast<bool>();
  return spec;
}

}  // namespace fd::bind
