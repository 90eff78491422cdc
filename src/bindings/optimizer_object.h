// The object behind fastdense._core.Optimizer: one engine optimizer, float32 or float64, plus the
// parameter shapes it was built for (every numpy array handed to it is checked against them).
// Other bindings (the native Network) can take a _core.Optimizer argument, py::cast it to
// OptimizerObject& and drive engine<T>() directly, so that Python and the network share one state.
// Ownership: the engine optimizer is created once, with this object, and never replaced
// (reconfigure changes its settings in place), so a pointer from engine<T>() stays valid for as
// long as the holder keeps a reference to this object's Python handle (the Network does).
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/optimizer/Optimizer.h"

namespace fd::bind {

namespace py = pybind11;

class OptimizerObject {
 public:
  using Shape = std::vector<Index>;

  OptimizerObject(const OptimizerConfig& config, const std::string& dtype);

  bool is_double() const { return static_cast<bool>(f64_); }
  std::string dtype() const { return is_double() ? "float64" : "float32"; }
  const OptimizerConfig& config() const;

  // The engine optimizer; ShapeError if T is not this object's dtype.
  template <typename T>
  Optimizer<T>& engine();

  void build(const std::vector<Shape>& shapes);
  bool built() const;
  const std::vector<Shape>& shapes() const { return shapes_; }

  // Replaces the hyper-parameters in place and keeps the state (iterations, slots, scalars);
  // the slot layout must stay the same once built (e.g. SGD momentum cannot go from 0 to 0.9).
  void reconfigure(const OptimizerConfig& config);

  // params/grads: lists of arrays in build order (or the parameters listed in `which`).
  void apply(const py::list& params, const py::list& grads, double learning_rate, const py::object& which);

  int64_t iterations() const;
  void set_iterations(int64_t value);
  std::vector<std::vector<std::string>> slot_groups() const;
  std::vector<std::string> slot_names() const;
  std::vector<std::string> scalar_names() const;
  std::vector<double> scalars() const;
  void set_scalars(const std::vector<double>& values);
  // slots[param][slot] as arrays shaped like the parameter (copies).
  py::list get_slots() const;
  void set_slots(const py::list& slots);

 private:
  template <typename Fn>
  decltype(auto) visit(Fn&& fn);
  template <typename Fn>
  decltype(auto) visit(Fn&& fn) const;
  template <typename T>
  void apply_typed(const py::list& params, const py::list& grads, double learning_rate, const py::object& which);
  template <typename T>
  void set_slots_typed(const py::list& slots);

  std::unique_ptr<Optimizer<float>> f32_;
  std::unique_ptr<Optimizer<double>> f64_;
  std::vector<Shape> shapes_;
};

template <typename T>
Optimizer<T>& OptimizerObject::engine() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
  if constexpr (std::is_same_v<T, float>) {
    if (f32_) return *f32_;
  } else {
    if (f64_) return *f64_;
  }
  throw ShapeError(std::string("optimizer: this optimizer works on ") + dtype() + " parameters, not " +
                   (std::is_same_v<T, float> ? "float32" : "float64"));
}

}  // namespace fd::bind
