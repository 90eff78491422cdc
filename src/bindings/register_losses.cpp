// Loss configuration parsing and the standalone loss evaluation used by fastdense.losses.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "bindings/arrays.h"
#include "bindings/specs.h"
#include "engine/Loss.h"

namespace fd::bind {

namespace {

// The canonical Keras 3 function names; fastdense.losses resolves aliases before this point.
const std::pair<const char*, LossKind> kLossNames[] = {
    {"mean_squared_error", LossKind::MeanSquaredError},
    {"mean_absolute_error", LossKind::MeanAbsoluteError},
    {"mean_absolute_percentage_error", LossKind::MeanAbsolutePercentageError},
    {"mean_squared_logarithmic_error", LossKind::MeanSquaredLogarithmicError},
    {"binary_crossentropy", LossKind::BinaryCrossentropy},
    {"categorical_crossentropy", LossKind::CategoricalCrossentropy},
    {"sparse_categorical_crossentropy", LossKind::SparseCategoricalCrossentropy},
    {"huber", LossKind::Huber},
    {"hinge", LossKind::Hinge},
    {"squared_hinge", LossKind::SquaredHinge},
    {"categorical_hinge", LossKind::CategoricalHinge},
    {"kl_divergence", LossKind::KLDivergence},
    {"poisson", LossKind::Poisson},
    {"log_cosh", LossKind::LogCosh},
    {"cosine_similarity", LossKind::CosineSimilarity},
};

LossKind loss_kind(const std::string& name) {
  for (const auto& [known, kind] : kLossNames)
    if (name == known) return kind;
  std::string names;
  for (const auto& entry : kLossNames) names += (names.empty() ? "" : ", ") + std::string(entry.first);
  throw py::value_error("loss config: unknown loss name '" + name + "'; expected one of " + names);
}

bool is_crossentropy(LossKind kind) {
  return kind == LossKind::BinaryCrossentropy || kind == LossKind::CategoricalCrossentropy ||
         kind == LossKind::SparseCategoricalCrossentropy;
}

// A parameter that the named loss does not use must keep its neutral value, so a misrouted
// setting fails loudly instead of being ignored.
void require_neutral(bool neutral, const std::string& key, const std::string& name) {
  if (!neutral) throw py::value_error("loss config: '" + key + "' does not apply to loss '" + name + "'");
}

// config[key] converted to V, or `fallback` when the key is absent.
template <typename V>
V config_value(const py::dict& config, const char* key, V fallback) {
  if (!config.contains(key)) return fallback;
  try {
    return py::cast<V>(config[key]);
  } catch (const py::cast_error&) {
    throw py::value_error(std::string("loss config: invalid value for '") + key +
                          "': " + std::string(py::repr(config[key])));
  }
}

template <typename T>
py::tuple evaluate(const LossSpec& spec, const py::handle& y_true_obj, const py::handle& y_pred_obj,
                   const py::handle& weight_obj, double grad_scale, bool with_grad) {
  auto y_pred = matrix<T>(y_pred_obj, "y_pred");
  const Index rows = y_pred.shape(0), cols = y_pred.shape(1);
  if (cols < 1) throw ShapeError("y_pred: expected at least one column, got shape " + shape_of(y_pred));
  auto y_true = matrix<T>(y_true_obj, "y_true", rows, loss_target_cols(spec, cols));
  Array<T> weight;
  const T* weight_data = nullptr;
  if (!weight_obj.is_none()) {
    weight = vector<T>(weight_obj, "sample_weight", rows);
    weight_data = weight.data();
  }
  Array<T> per_sample(rows);
  Array<T> grad;
  T* grad_data = nullptr;
  if (with_grad) {
    grad = Array<T>({rows, cols});
    grad_data = grad.mutable_data();
  }
  const T* y_true_data = y_true.data();
  const T* y_pred_data = y_pred.data();
  T* per_sample_data = per_sample.mutable_data();
  double loss;
  {
    py::gil_scoped_release release;
    loss = loss_evaluate<T>(spec, y_true_data, y_pred_data, weight_data, rows, cols, per_sample_data, grad_data,
                            grad_scale);
  }
  py::object grad_out = with_grad ? py::object(std::move(grad)) : py::object(py::none());
  return py::make_tuple(loss, std::move(per_sample), grad_out);
}

// Keras's reduction names that reduce to one number ('none' keeps per-sample values, which
// the engine cannot train on).
LossReduction loss_reduction(const std::string& name) {
  if (name == "sum_over_batch_size" || name == "mean") return LossReduction::SumOverBatchSize;
  if (name == "sum") return LossReduction::Sum;
  if (name == "mean_with_sample_weight") return LossReduction::MeanWithSampleWeight;
  throw py::value_error("loss config: unknown reduction '" + name +
                        "'; expected sum_over_batch_size, mean, sum or mean_with_sample_weight");
}

}  // namespace

LossSpec loss_spec(const py::dict& config) {
  for (const auto& item : config) {
    const std::string key = py::str(item.first);
    if (key != "name" && key != "from_logits" && key != "label_smoothing" && key != "delta" && key != "reduction")
      throw py::value_error("loss config: unknown key '" + key +
                            "'; expected name, from_logits, label_smoothing, delta, reduction");
  }
  if (!config.contains("name")) throw py::value_error("loss config: missing 'name'");
  const std::string name = config_value<std::string>(config, "name", "");
  LossSpec spec;
  spec.kind = loss_kind(name);
  spec.from_logits = config_value(config, "from_logits", spec.from_logits);
  spec.label_smoothing = config_value(config, "label_smoothing", spec.label_smoothing);
  spec.delta = config_value(config, "delta", spec.delta);
  spec.reduction = loss_reduction(config_value<std::string>(config, "reduction", "sum_over_batch_size"));

  require_neutral(!spec.from_logits || is_crossentropy(spec.kind), "from_logits", name);
  const bool smoothable = spec.kind == LossKind::BinaryCrossentropy || spec.kind == LossKind::CategoricalCrossentropy;
  require_neutral(spec.label_smoothing == 0.0 || smoothable, "label_smoothing", name);
  require_neutral(spec.delta == 1.0 || spec.kind == LossKind::Huber, "delta", name);
  return spec;
}

void register_losses(py::module_& m) {
  m.def(
      "loss_evaluate",
      [](const py::dict& config, const py::handle& y_true, const py::handle& y_pred, const py::handle& sample_weight,
         double grad_scale, bool with_grad) {
        const LossSpec spec = loss_spec(config);
        if (!py::isinstance<py::array>(y_pred))
          throw ShapeError("y_pred: expected a numpy array, got " +
                           std::string(py::str(py::type::handle_of(y_pred).attr("__name__"))));
        return dispatch_dtype(py::reinterpret_borrow<py::array>(y_pred), "y_pred", [&](auto scalar) {
          using T = decltype(scalar);
          return evaluate<T>(spec, y_true, y_pred, sample_weight, grad_scale, with_grad);
        });
      },
      py::arg("config"), py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = py::none(),
      py::arg("grad_scale") = 1.0, py::arg("with_grad") = true,
      "Evaluates a loss on 2-D float32/float64 arrays of one dtype.\n"
      "Returns (loss, per_sample, grad): the weighted sum_over_batch_size loss, the unweighted\n"
      "per-sample losses (rows,), and d(loss)/d(y_pred) * grad_scale (None when with_grad=False).");
}

}  // namespace fd::bind
