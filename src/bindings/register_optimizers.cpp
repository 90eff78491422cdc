// fastdense._core.Optimizer and the optimizer/regularizer config parsers used by all bindings.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "bindings/arrays.h"
#include "bindings/optimizer_object.h"
#include "bindings/specs.h"
#include "engine/FlushDenormals.h"
#include "engine/ParameterLock.h"

namespace fd::bind {

namespace {

const char* const kOptimizerKinds[] = {"sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta", "adamax", "nadam"};

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

std::string text_of(const py::handle& value) { return std::string(py::repr(value)); }

// A finite real number (bools are refused: they are never meant as a rate or a threshold).
double finite_number(const py::handle& value, const std::string& what) {
  if (value.is_none() || py::isinstance<py::bool_>(value) || py::isinstance<py::str>(value))
    throw ConfigError(what + ": expected a number, got " + text_of(value));
  double x;
  try {
    x = py::float_(py::reinterpret_borrow<py::object>(value)).cast<double>();
  } catch (const py::error_already_set&) {
    throw ConfigError(what + ": expected a number, got " + text_of(value));
  }
  if (!std::isfinite(x)) throw ConfigError(what + ": expected a finite number, got " + text_of(value));
  return x;
}

// True/False or a numpy bool.
bool boolean(const py::handle& value, const std::string& what) {
  const bool numpy_bool = py::hasattr(value, "dtype") && py::str(value.attr("dtype")).cast<std::string>() == "bool";
  if (!py::isinstance<py::bool_>(value) && !numpy_bool)
    throw ConfigError(what + ": expected True or False, got " + text_of(value));
  return PyObject_IsTrue(value.ptr()) == 1;
}

std::string shape_text(const OptimizerObject::Shape& shape) {
  std::string s = "(";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

Index element_count(const OptimizerObject::Shape& shape) {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

bool same_shape(const py::array& a, const OptimizerObject::Shape& shape) {
  if (a.ndim() != static_cast<py::ssize_t>(shape.size())) return false;
  for (size_t d = 0; d < shape.size(); ++d)
    if (a.shape(d) != shape[d]) return false;
  return true;
}

// The array as exactly T, C-contiguous, shaped `shape`; writable when the engine writes to it.
template <typename T>
Array<T> checked_array(const py::handle& obj, const std::string& what, const OptimizerObject::Shape& shape,
                       bool writable) {
  auto a = exact<T>(obj, what.c_str());
  if (!same_shape(a, shape))
    throw ShapeError(what + ": expected shape " + shape_text(shape) + ", got " + shape_of(a));
  if (writable && !a.writeable()) throw ShapeError(what + ": array is read-only");
  return a;
}

py::dict config_to_dict(const OptimizerConfig& c) {
  py::dict d;
  d["name"] = c.kind;
  d["learning_rate"] = c.learning_rate;
  d["momentum"] = c.momentum;
  d["nesterov"] = c.nesterov;
  d["rho"] = c.rho;
  d["epsilon"] = c.epsilon;
  d["centered"] = c.centered;
  d["beta_1"] = c.beta_1;
  d["beta_2"] = c.beta_2;
  d["amsgrad"] = c.amsgrad;
  d["weight_decay"] = c.weight_decay;
  d["initial_accumulator_value"] = c.initial_accumulator_value;
  d["clipnorm"] = c.clipnorm;
  d["clipvalue"] = c.clipvalue;
  d["global_clipnorm"] = c.global_clipnorm;
  return d;
}

std::vector<OptimizerObject::Shape> shapes_from(const py::iterable& shapes) {
  std::vector<OptimizerObject::Shape> out;
  for (py::handle item : shapes) {
    OptimizerObject::Shape shape;
    if (py::isinstance<py::int_>(item)) {
      shape.push_back(item.cast<Index>());
    } else {
      try {
        shape = item.cast<OptimizerObject::Shape>();
      } catch (const py::cast_error&) {
        throw ShapeError("Optimizer.build: expected each shape to be a tuple of ints, got " + text_of(item));
      }
    }
    for (Index d : shape)
      if (d < 0) throw ShapeError("Optimizer.build: negative dimension in shape " + shape_text(shape));
    out.push_back(std::move(shape));
  }
  return out;
}

}  // namespace

OptimizerConfig optimizer_config(const py::dict& config) {
  // Keys that are numbers; those marked "may be None" are switched off by None (stored as 0).
  struct NumberField {
    double OptimizerConfig::*field;
    bool may_be_none;
  };
  static const std::map<std::string, NumberField> numbers = {
      {"learning_rate", {&OptimizerConfig::learning_rate, false}},
      {"momentum", {&OptimizerConfig::momentum, false}},
      {"rho", {&OptimizerConfig::rho, false}},
      {"epsilon", {&OptimizerConfig::epsilon, false}},
      {"beta_1", {&OptimizerConfig::beta_1, false}},
      {"beta_2", {&OptimizerConfig::beta_2, false}},
      {"initial_accumulator_value", {&OptimizerConfig::initial_accumulator_value, false}},
      {"weight_decay", {&OptimizerConfig::weight_decay, true}},
      {"clipnorm", {&OptimizerConfig::clipnorm, true}},
      {"clipvalue", {&OptimizerConfig::clipvalue, true}},
      {"global_clipnorm", {&OptimizerConfig::global_clipnorm, true}},
  };
  static const std::map<std::string, bool OptimizerConfig::*> flags = {
      {"nesterov", &OptimizerConfig::nesterov},
      {"centered", &OptimizerConfig::centered},
      {"amsgrad", &OptimizerConfig::amsgrad},
  };

  OptimizerConfig c;
  bool named = false;
  for (auto item : config) {
    if (!py::isinstance<py::str>(item.first))
      throw ConfigError("optimizer config: keys must be strings, got " + text_of(item.first));
    const std::string key = item.first.cast<std::string>();
    const std::string what = "optimizer config '" + key + "'";
    if (key == "name") {
      if (!py::isinstance<py::str>(item.second)) throw ConfigError(what + ": expected a string, got " + text_of(item.second));
      c.kind = lowercase(item.second.cast<std::string>());
      named = true;
    } else if (auto n = numbers.find(key); n != numbers.end()) {
      c.*(n->second.field) =
          (item.second.is_none() && n->second.may_be_none) ? 0.0 : finite_number(item.second, what);
    } else if (auto f = flags.find(key); f != flags.end()) {
      c.*(f->second) = boolean(item.second, what);
    } else {
      throw UnknownNameError("optimizer config: unknown key '" + key + "'");
    }
  }
  if (!named) throw ConfigError("optimizer config: missing 'name' (sgd, rmsprop, adam, adamw, adagrad, adadelta, adamax or nadam)");
  if (std::none_of(std::begin(kOptimizerKinds), std::end(kOptimizerKinds),
                   [&](const char* kind) { return c.kind == kind; }))
    throw UnknownNameError("optimizer config: unknown optimizer '" + c.kind +
                     "' (expected sgd, rmsprop, adam, adamw, adagrad, adadelta, adamax or nadam)");
  return c;
}

RegularizerSpec regularizer_spec(const py::handle& config) {
  RegularizerSpec spec;
  if (config.is_none()) return spec;
  if (!py::isinstance<py::dict>(config))
    throw ConfigError("regularizer config: expected None or a dict {'l1': ..., 'l2': ...}, got " + text_of(config));
  for (auto item : py::reinterpret_borrow<py::dict>(config)) {
    const std::string key = py::str(item.first);
    const std::string what = "regularizer config '" + key + "'";
    double* target = key == "l1" ? &spec.l1 : key == "l2" ? &spec.l2 : nullptr;
    if (!target) throw UnknownNameError("regularizer config: unknown key '" + key + "' (expected 'l1' and 'l2')");
    *target = item.second.is_none() ? 0.0 : finite_number(item.second, what);
    if (*target < 0) throw ConfigError(what + ": expected a non-negative factor, got " + text_of(item.second));
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------
// OptimizerObject

OptimizerObject::OptimizerObject(const OptimizerConfig& config, const std::string& dtype) {
  if (dtype == "float32")
    f32_ = make_optimizer<float>(config);
  else if (dtype == "float64")
    f64_ = make_optimizer<double>(config);
  else
    throw ConfigError("Optimizer: dtype must be 'float32' or 'float64', got '" + dtype + "'");
}

template <typename Fn>
decltype(auto) OptimizerObject::visit(Fn&& fn) {
  if (f64_) return fn(*f64_);
  return fn(*f32_);
}

template <typename Fn>
decltype(auto) OptimizerObject::visit(Fn&& fn) const {
  if (f64_) return fn(static_cast<const Optimizer<double>&>(*f64_));
  return fn(static_cast<const Optimizer<float>&>(*f32_));
}

const OptimizerConfig& OptimizerObject::config() const {
  return visit([](const auto& opt) -> const OptimizerConfig& { return opt.config(); });
}

bool OptimizerObject::built() const {
  return visit([](const auto& opt) { return opt.built(); });
}

void OptimizerObject::build(const std::vector<Shape>& shapes) {
  std::vector<Index> sizes;
  for (const auto& shape : shapes) sizes.push_back(element_count(shape));
  py::gil_scoped_release release;
  std::unique_lock<std::shared_mutex> lock(parameter_lock());
  visit([&](auto& opt) { opt.build(sizes); });
  shapes_ = shapes;
}

// In place (Optimizer::reconfigure): a native Network that trains with this optimizer holds a
// pointer to the engine object, which therefore lives exactly as long as this OptimizerObject.
void OptimizerObject::reconfigure(const OptimizerConfig& config) {
  py::gil_scoped_release release;  // parameter_lock() is taken without the GIL (ParameterLock.h)
  std::unique_lock<std::shared_mutex> lock(parameter_lock());
  visit([&](auto& opt) { opt.reconfigure(config); });
}

int64_t OptimizerObject::iterations() const {
  return visit([](const auto& opt) { return opt.iterations; });
}

void OptimizerObject::set_iterations(int64_t value) {
  if (value < 0) throw ConfigError("Optimizer.iterations: expected a count >= 0, got " + std::to_string(value));
  py::gil_scoped_release release;
  std::unique_lock<std::shared_mutex> lock(parameter_lock());
  visit([&](auto& opt) { opt.iterations = value; });
}

std::vector<std::vector<std::string>> OptimizerObject::slot_groups() const {
  return visit([](const auto& opt) { return opt.slot_groups(); });
}

std::vector<std::string> OptimizerObject::slot_names() const {
  return visit([](const auto& opt) { return opt.slot_names(); });
}

std::vector<std::string> OptimizerObject::scalar_names() const {
  return visit([](const auto& opt) { return opt.scalar_names(); });
}

std::vector<double> OptimizerObject::scalars() const {
  return visit([](const auto& opt) { return opt.scalars(); });
}

void OptimizerObject::set_scalars(const std::vector<double>& values) {
  visit([&](auto& opt) {
    const auto names = opt.scalar_names();
    if (values.size() != names.size())
      throw ShapeError("Optimizer.set_scalars: expected " + std::to_string(names.size()) + " values, got " +
                       std::to_string(values.size()));
    py::gil_scoped_release release;
    std::unique_lock<std::shared_mutex> lock(parameter_lock());
    opt.set_scalars(values);
  });
}

void OptimizerObject::apply(const py::list& params, const py::list& grads, double learning_rate,
                            const py::object& which) {
  if (f64_) apply_typed<double>(params, grads, learning_rate, which);
  else apply_typed<float>(params, grads, learning_rate, which);
}

template <typename T>
void OptimizerObject::apply_typed(const py::list& params, const py::list& grads, double learning_rate,
                                  const py::object& which_obj) {
  Optimizer<T>& opt = engine<T>();
  if (!opt.built()) throw StateError("Optimizer.apply: the optimizer is not built; call build(shapes) first");
  if (!std::isfinite(learning_rate))
    throw ConfigError("Optimizer.apply: learning_rate must be finite, got " + std::to_string(learning_rate));

  std::vector<Index> which;
  if (which_obj.is_none()) {
    for (size_t p = 0; p < shapes_.size(); ++p) which.push_back(static_cast<Index>(p));
  } else {
    which = which_obj.cast<std::vector<Index>>();
  }
  if (params.size() != which.size() || grads.size() != which.size())
    throw ShapeError("Optimizer.apply: expected " + std::to_string(which.size()) + " parameters and gradients, got " +
                     std::to_string(params.size()) + " parameters and " + std::to_string(grads.size()) + " gradients");
  std::vector<bool> seen(shapes_.size(), false);
  for (Index p : which) {
    if (p < 0 || p >= static_cast<Index>(shapes_.size()))
      throw OutOfRangeError("Optimizer.apply: parameter index " + std::to_string(p) + " out of range (built for " +
                       std::to_string(shapes_.size()) + " parameters)");
    if (seen[p]) throw ConfigError("Optimizer.apply: parameter index " + std::to_string(p) + " given twice");
    seen[p] = true;
  }

  // Every array is checked before the engine touches any of them; `keep` holds references
  // while the GIL is released.
  std::vector<Array<T>> keep;
  std::vector<T*> param_ptrs, grad_ptrs;
  for (size_t i = 0; i < which.size(); ++i) {
    const Shape& shape = shapes_[which[i]];
    auto p = checked_array<T>(params[i], "Optimizer.apply: params[" + std::to_string(i) + "]", shape, true);
    auto g = checked_array<T>(grads[i], "Optimizer.apply: grads[" + std::to_string(i) + "]", shape, true);
    param_ptrs.push_back(p.mutable_data());
    grad_ptrs.push_back(g.mutable_data());
    keep.push_back(std::move(p));
    keep.push_back(std::move(g));
  }
  py::gil_scoped_release release;
  std::unique_lock<std::shared_mutex> lock(parameter_lock());
  FlushDenormals flush;  // the update computes as the engine's steps do (engine/FlushDenormals.h)
  opt.apply_to(which, param_ptrs, grad_ptrs, learning_rate);
}

py::list OptimizerObject::get_slots() const {
  return visit([&](const auto& opt) {
    using T = typename std::decay_t<decltype(opt)>::Slot::Scalar;
    py::list out;
    for (size_t p = 0; p < opt.slots().size(); ++p) {
      py::list per_param;
      for (const auto& slot : opt.slots()[p]) {
        Array<T> a(std::vector<py::ssize_t>(shapes_[p].begin(), shapes_[p].end()));
        std::copy(slot.data(), slot.data() + slot.size(), a.mutable_data());
        per_param.append(std::move(a));
      }
      out.append(std::move(per_param));
    }
    return out;
  });
}

template <typename T>
void OptimizerObject::set_slots_typed(const py::list& slots) {
  Optimizer<T>& opt = engine<T>();
  if (!opt.built()) throw StateError("Optimizer.set_slots: the optimizer is not built; call build(shapes) first");
  const size_t per_param = opt.slot_names().size();
  if (slots.size() != shapes_.size())
    throw ShapeError("Optimizer.set_slots: expected " + std::to_string(shapes_.size()) + " lists (one per parameter), got " +
                     std::to_string(slots.size()));
  // Validate everything first so that a bad array leaves the state untouched.
  std::vector<std::vector<Array<T>>> arrays(shapes_.size());
  for (size_t p = 0; p < shapes_.size(); ++p) {
    const std::string where = "Optimizer.set_slots: slots[" + std::to_string(p) + "]";
    if (!py::isinstance<py::sequence>(slots[p]) || py::isinstance<py::array>(slots[p]))
      throw ShapeError(where + ": expected a list of " + std::to_string(per_param) + " arrays");
    auto seq = py::reinterpret_borrow<py::sequence>(slots[p]);
    if (seq.size() != per_param)
      throw ShapeError(where + ": expected " + std::to_string(per_param) + " arrays, got " + std::to_string(seq.size()));
    for (size_t k = 0; k < per_param; ++k)
      arrays[p].push_back(checked_array<T>(seq[k], where + "[" + std::to_string(k) + "]", shapes_[p], false));
  }
  py::gil_scoped_release release;
  std::unique_lock<std::shared_mutex> lock(parameter_lock());
  for (size_t p = 0; p < shapes_.size(); ++p)
    for (size_t k = 0; k < per_param; ++k)
      std::copy(arrays[p][k].data(), arrays[p][k].data() + arrays[p][k].size(), opt.slots()[p][k].data());
}

void OptimizerObject::set_slots(const py::list& slots) {
  if (f64_) set_slots_typed<double>(slots);
  else set_slots_typed<float>(slots);
}

// ---------------------------------------------------------------------------------------------

void register_optimizers(py::module_& m) {
  py::class_<OptimizerObject>(m, "Optimizer", R"doc(
Native Keras 3 optimizer (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta, Adamax, Nadam) over
numpy parameters of one dtype. Optimizer(config: dict, dtype: "float32" | "float64").
)doc")
      .def(py::init([](const py::dict& config, const std::string& dtype) {
             return std::make_unique<OptimizerObject>(optimizer_config(config), dtype);
           }),
           py::arg("config"), py::arg("dtype") = "float32")
      .def_property_readonly("dtype", &OptimizerObject::dtype)
      .def("get_config", [](const OptimizerObject& self) { return config_to_dict(self.config()); },
           "The parsed configuration (None-valued switches appear as 0).")
      .def("reconfigure", [](OptimizerObject& self, const py::dict& config) { self.reconfigure(optimizer_config(config)); },
           py::arg("config"), "New hyper-parameters; keeps iterations, slots and scalars.")
      .def("build", [](OptimizerObject& self, const py::iterable& shapes) { self.build(shapes_from(shapes)); },
           py::arg("shapes"), "Creates fresh slots for parameters of these shapes.")
      .def_property_readonly("built", &OptimizerObject::built)
      .def_property_readonly("shapes", [](const OptimizerObject& self) {
        py::list out;
        for (const auto& shape : self.shapes()) out.append(py::tuple(py::cast(shape)));
        return out;
      })
      .def("apply", &OptimizerObject::apply, py::arg("params"), py::arg("grads"), py::arg("learning_rate"),
           py::arg("indices") = py::none(),
           "One step: params updated in place, grads clipped in place. indices: which built parameters "
           "the lists hold (default: all, in build order).")
      .def_property("iterations", &OptimizerObject::iterations, &OptimizerObject::set_iterations)
      .def("slot_names", &OptimizerObject::slot_names, "Slot names of one parameter (the order of get_slots()[p]).")
      .def("slot_groups", &OptimizerObject::slot_groups,
           "Slot names grouped as Keras creates them: Keras lists variables group by group, parameter by parameter.")
      .def("scalar_names", &OptimizerObject::scalar_names)
      .def("get_slots", &OptimizerObject::get_slots)
      .def("set_slots", &OptimizerObject::set_slots, py::arg("slots"))
      .def("get_scalars", &OptimizerObject::scalars)
      .def("set_scalars", &OptimizerObject::set_scalars, py::arg("values"));

  m.def("optimizer_config", [](const py::dict& config) { return config_to_dict(optimizer_config(config)); },
        py::arg("config"), "Parses and validates an optimizer config dict (as the engine sees it).");
  m.def("regularizer_spec", [](const py::object& config) {
        const RegularizerSpec spec = regularizer_spec(config);
        py::dict d;
        d["l1"] = spec.l1;
        d["l2"] = spec.l2;
        return d;
      }, py::arg("config"), "Parses and validates a regularizer config (None or {'l1', 'l2'}).");
}

}  // namespace fd::bind
