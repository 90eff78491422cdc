// Activation configs (dict -> ActivationSpec) and the _core.activation_forward/backward functions.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "bindings/arrays.h"
#include "bindings/specs.h"
#include "engine/Activation.h"

namespace fd::bind {

namespace {

struct NamedKind {
  const char* name;
  ActivationKind kind;
};

// Keras 3 names, then its aliases (swish -> silu, hard_swish -> hard_silu).
constexpr NamedKind kActivationNames[] = {
    {"linear", ActivationKind::Linear},
    {"relu", ActivationKind::Relu},
    {"sigmoid", ActivationKind::Sigmoid},
    {"softmax", ActivationKind::Softmax},
    {"log_softmax", ActivationKind::LogSoftmax},
    {"tanh", ActivationKind::Tanh},
    {"elu", ActivationKind::Elu},
    {"selu", ActivationKind::Selu},
    {"softplus", ActivationKind::Softplus},
    {"softsign", ActivationKind::Softsign},
    {"silu", ActivationKind::Silu},
    {"swish", ActivationKind::Silu},
    {"gelu", ActivationKind::Gelu},
    {"exponential", ActivationKind::Exponential},
    {"hard_sigmoid", ActivationKind::HardSigmoid},
    {"hard_silu", ActivationKind::HardSilu},
    {"hard_swish", ActivationKind::HardSilu},
    {"leaky_relu", ActivationKind::LeakyRelu},
    {"relu6", ActivationKind::Relu6},
    {"mish", ActivationKind::Mish},
    {"celu", ActivationKind::Celu},
    {"hard_tanh", ActivationKind::HardTanh},
    {"log_sigmoid", ActivationKind::LogSigmoid},
    {"soft_shrink", ActivationKind::SoftShrink},
    {"hard_shrink", ActivationKind::HardShrink},
    {"tanh_shrink", ActivationKind::TanhShrink},
    {"squareplus", ActivationKind::Squareplus},
    {"sparse_plus", ActivationKind::SparsePlus},
    {"sparse_sigmoid", ActivationKind::SparseSigmoid},
    {"threshold", ActivationKind::Threshold},
};

constexpr const char* kConfigKeys = "name, alpha, negative_slope, max_value, threshold, approximate, b, default_value";

ActivationKind kind_named(const std::string& name) {
  for (const auto& entry : kActivationNames)
    if (name == entry.name) return entry.kind;
  std::string known;
  for (const auto& entry : kActivationNames) known += (known.empty() ? "" : ", ") + std::string(entry.name);
  throw py::value_error("activation config: unknown activation name '" + name + "'; expected one of " + known);
}

// The parameters present in a config; None counts as absent.
struct ActivationParams {
  std::optional<double> slope;  // "alpha" or "negative_slope"
  std::optional<double> max_value;
  std::optional<double> threshold;
  std::optional<bool> approximate;
  std::optional<double> b;
  std::optional<double> default_value;
};

double number(const py::handle& value, const std::string& key) {
  double x;
  try {
    x = value.cast<double>();
  } catch (const py::cast_error&) {
    throw py::value_error("activation config: '" + key + "' must be a number, got " +
                          std::string(py::str(py::repr(value))));
  }
  if (std::isnan(x)) throw py::value_error("activation config: '" + key + "' must not be NaN");
  return x;
}

double finite_number(const py::handle& value, const std::string& key) {
  const double x = number(value, key);
  if (!std::isfinite(x))
    throw py::value_error("activation config: '" + key + "' must be finite, got " + std::to_string(x));
  return x;
}

bool boolean(const py::handle& value, const std::string& key) {
  try {
    return value.cast<bool>();
  } catch (const py::cast_error&) {
    throw py::value_error("activation config: '" + key + "' must be a bool, got " +
                          std::string(py::str(py::repr(value))));
  }
}

ActivationParams read_params(const py::dict& config) {
  ActivationParams params;
  for (const auto& [key_obj, value] : config) {
    if (!py::isinstance<py::str>(key_obj))
      throw py::value_error("activation config: keys must be strings, got " +
                            std::string(py::str(py::repr(key_obj))));
    const std::string key = py::str(key_obj);
    if (key == "name") continue;
    if (key != "alpha" && key != "negative_slope" && key != "max_value" && key != "threshold" &&
        key != "approximate" && key != "b" && key != "default_value")
      throw py::value_error("activation config: unknown key '" + key + "'; expected " + kConfigKeys);
    if (value.is_none()) continue;
    if (key == "alpha" || key == "negative_slope") {
      const double slope = finite_number(value, key);
      if (params.slope && *params.slope != slope)
        throw py::value_error("activation config: 'alpha' and 'negative_slope' name the same parameter "
                              "but differ (" + std::to_string(*params.slope) + " vs " +
                              std::to_string(slope) + ")");
      params.slope = slope;
    } else if (key == "max_value") {
      params.max_value = number(value, key);
      if (*params.max_value == -std::numeric_limits<double>::infinity())
        throw py::value_error("activation config: 'max_value' must not be -inf");
    } else if (key == "threshold") {
      params.threshold = finite_number(value, key);
    } else if (key == "b") {
      params.b = finite_number(value, key);
    } else if (key == "default_value") {
      params.default_value = finite_number(value, key);
    } else {
      params.approximate = boolean(value, key);
    }
  }
  return params;
}

// What an activation reads from its config. A parameter it does not take may still be present
// with its neutral value, so a full {"name", "alpha", "max_value", "threshold", "approximate"}
// dict works for every activation.
enum Takes : unsigned { kNone = 0, kSlope = 1, kMaxValue = 2, kThreshold = 4, kApproximate = 8, kB = 16,
                        kDefaultValue = 32 };

void reject_unused(const std::string& name, const ActivationParams& params, unsigned takes) {
  auto reject = [&](const char* key, const std::string& value) {
    throw py::value_error("activation config: '" + name + "' does not take '" + key + "' (got " + value + ")");
  };
  if (!(takes & kSlope) && params.slope && *params.slope != 0.0) reject("alpha", std::to_string(*params.slope));
  if (!(takes & kMaxValue) && params.max_value && std::isfinite(*params.max_value))
    reject("max_value", std::to_string(*params.max_value));
  if (!(takes & kThreshold) && params.threshold && *params.threshold != 0.0)
    reject("threshold", std::to_string(*params.threshold));
  if (!(takes & kApproximate) && params.approximate && *params.approximate) reject("approximate", "True");
  if (!(takes & kB) && params.b) reject("b", std::to_string(*params.b));
  if (!(takes & kDefaultValue) && params.default_value && *params.default_value != 0.0)
    reject("default_value", std::to_string(*params.default_value));
}

}  // namespace

ActivationSpec activation_spec(const py::dict& config) {
  if (!config.contains("name")) throw py::value_error("activation config: missing required key 'name'");
  const py::object name_obj = config["name"];
  if (!py::isinstance<py::str>(name_obj))
    throw py::value_error("activation config: 'name' must be a string, got " +
                          std::string(py::str(py::repr(name_obj))));
  const std::string name = py::str(name_obj);

  ActivationSpec spec;
  spec.kind = kind_named(name);
  const ActivationParams params = read_params(config);
  switch (spec.kind) {
    case ActivationKind::Relu:
      reject_unused(name, params, kSlope | kMaxValue | kThreshold);
      spec.alpha = params.slope.value_or(0.0);
      spec.max_value = params.max_value.value_or(std::numeric_limits<double>::infinity());
      spec.threshold = params.threshold.value_or(0.0);
      break;
    case ActivationKind::LeakyRelu:
      reject_unused(name, params, kSlope);
      spec.alpha = params.slope.value_or(0.2);  // keras.activations.leaky_relu's default
      break;
    case ActivationKind::Elu:
    case ActivationKind::Celu:
      reject_unused(name, params, kSlope);
      spec.alpha = params.slope.value_or(1.0);
      if (spec.kind == ActivationKind::Celu && spec.alpha == 0.0)
        throw py::value_error("activation config: 'celu' needs a nonzero alpha (it divides by it)");
      break;
    case ActivationKind::Gelu:
      reject_unused(name, params, kApproximate);
      spec.approximate = params.approximate.value_or(false);  // Keras's activation default: exact erf
      break;
    case ActivationKind::SoftShrink:
    case ActivationKind::HardShrink:
      reject_unused(name, params, kThreshold);
      spec.threshold = params.threshold.value_or(0.5);
      break;
    case ActivationKind::Squareplus:
      reject_unused(name, params, kB);
      spec.b = params.b.value_or(4.0);
      if (spec.b < 0.0) throw py::value_error("activation config: 'squareplus' needs b >= 0, got " + std::to_string(spec.b));
      break;
    case ActivationKind::Threshold:
      reject_unused(name, params, kThreshold | kDefaultValue);
      spec.threshold = params.threshold.value_or(0.0);
      spec.default_value = params.default_value.value_or(0.0);
      break;
    default:
      reject_unused(name, params, kNone);
      break;
  }
  return spec;
}

namespace {

py::array any_array(const py::handle& obj, const char* what) {
  if (!py::isinstance<py::array>(obj))
    throw ShapeError(std::string(what) + ": expected a numpy array, got " +
                     std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  return py::reinterpret_borrow<py::array>(obj);
}

py::array forward(const py::dict& config, const py::handle& z_obj) {
  const ActivationSpec spec = activation_spec(config);
  const py::array z_any = any_array(z_obj, "z");
  return dispatch_dtype(z_any, "z", [&](auto scalar) -> py::array {
    using T = decltype(scalar);
    const Array<T> z = matrix<T>(z_any, "z");
    const Index rows = z.shape(0), cols = z.shape(1);
    Array<T> y({rows, cols});
    const T* z_data = z.data();
    T* y_data = y.mutable_data();
    {
      py::gil_scoped_release no_gil;
      activation_forward<T>(spec, z_data, y_data, rows, cols);
    }
    return std::move(y);
  });
}

py::array backward(const py::dict& config, const py::handle& z_obj, const py::handle& y_obj,
                   const py::handle& dy_obj) {
  const ActivationSpec spec = activation_spec(config);
  const py::array z_any = any_array(z_obj, "z");
  return dispatch_dtype(z_any, "z", [&](auto scalar) -> py::array {
    using T = decltype(scalar);
    const Array<T> z = matrix<T>(z_any, "z");
    const Index rows = z.shape(0), cols = z.shape(1);
    const Array<T> y = matrix<T>(y_obj, "y", rows, cols);
    const Array<T> dy = matrix<T>(dy_obj, "dy", rows, cols);
    Array<T> dz({rows, cols});
    const T *z_data = z.data(), *y_data = y.data(), *dy_data = dy.data();
    T* dz_data = dz.mutable_data();
    {
      py::gil_scoped_release no_gil;
      activation_backward<T>(spec, z_data, y_data, dy_data, dz_data, rows, cols);
    }
    return std::move(dz);
  });
}

}  // namespace

void register_activations(py::module_& m) {
  m.def("activation_forward", &forward, py::arg("config"), py::arg("z"),
        "y = activation(z) for a 2-D C-contiguous float32/float64 array z, as a new array.\n"
        "config: {'name': ..., 'alpha' | 'negative_slope', 'max_value', 'threshold', 'approximate'}.");
  m.def("activation_backward", &backward, py::arg("config"), py::arg("z"), py::arg("y"), py::arg("dy"),
        "dz = dy * activation'(z) (the Jacobian-vector product for softmax/log_softmax), given z,\n"
        "y = activation(z) and dy, all of the same shape and dtype; returns a new array.");
}

}  // namespace fd::bind
