// Python callables as engine callbacks: custom layers and activations, losses, penalties
// (regularizers) and constraints.
//
// The engine runs with the GIL released; each callback takes it (py::gil_scoped_acquire) only
// while Python runs. Engine memory reaches Python as read-only numpy views (no copy) that are
// valid during the call only. What Python returns is converted to the network's dtype,
// validated, and copied into the engine's buffers here: Python never writes into native memory.
// A Python exception leaves as py::error_already_set through the engine (which holds no lock
// and no partial state across batches) and reaches the caller of train/evaluate/predict.
// Every call is counted (PythonCall): the Python code may assign any weight, which makes what a
// train call derived from the weights stale (engine/ExternalCode.h).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.h"
#include "engine/Constraint.h"
#include "engine/ExternalCode.h"
#include "engine/Loss.h"
#include "engine/Regularizer.h"
#include "engine/layer/CallbackLayer.h"

namespace fd::bind {

// The GIL for a call into Python from engine code, counted as code outside the engine
// (engine/ExternalCode.h) before it runs.
class PythonCall {
 public:
  PythonCall() { count_external_call(); }

 private:
  py::gil_scoped_acquire gil_;
};

using Shape = std::vector<py::ssize_t>;
template <typename T>
using CallbackArray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// A Python object held by an engine callback. std::function copies its callable, and the engine
// copies callbacks without the GIL (Network::predict's workspaces clone the layers); a py::object
// copy would touch the reference count, so the reference is shared instead, and the last owner
// takes the GIL to release it.
class SharedPyObject {
 public:
  explicit SharedPyObject(py::object object)
      : object_(new py::object(std::move(object)), [](py::object* o) {
          PythonCall call;  // the last reference: Python may run a finalizer
          delete o;
        }) {}
  template <typename... Args>
  py::object operator()(Args&&... args) const {
    return (*object_)(std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<py::object> object_;
};

// A Python callable given where a config dict (or None) is also accepted.
inline bool is_callback(const py::handle& obj) {
  return !obj.is_none() && !py::isinstance<py::dict>(obj) && PyCallable_Check(obj.ptr());
}

inline std::string shape_text(const Shape& shape) {
  std::string s = "(";
  for (size_t d = 0; d < shape.size(); ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// A read-only numpy view of engine memory holding exactly prod(shape) values.
template <typename T>
py::array_t<T> readonly_view(const T* data, const Shape& shape) {
  py::array_t<T> view(shape, data, py::none());  // with a base object pybind11 does not copy
  view.attr("setflags")(py::arg("write") = false);
  return view;
}

// What a callback returned, as a C-contiguous T array of `size` values whose first axis has
// `rows` entries (rows < 0: any shape). Other float dtypes are converted (one copy).
template <typename T>
CallbackArray<T> callback_array(const py::handle& obj, const std::string& what, Index size, Index rows = -1) {
  auto a = CallbackArray<T>::ensure(obj);
  if (!a)
    throw ShapeError(what + ": expected an array of numbers, got " +
                     std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  const bool rows_match = rows < 0 || (a.ndim() >= 1 && a.shape(0) == rows);
  if (!rows_match || a.size() != size) {
    const std::string expected =
        rows < 0 ? std::to_string(size) + " values" : "shape (" + std::to_string(rows) + ", ...) with " +
                                                          std::to_string(size) + " values";
    throw ShapeError(what + ": expected " + expected + ", got shape " + shape_of(a));
  }
  return a;
}

// The (first, second) items of a callback's 2-tuple result.
inline std::pair<py::object, py::object> pair_of(const py::object& result, const std::string& what) {
  if (!py::isinstance<py::tuple>(result) || py::len(result) != 2)
    throw ShapeError(what + ": expected a tuple of 2 items, got " +
                     std::string(py::str(py::type::handle_of(result).attr("__name__"))));
  auto t = py::reinterpret_borrow<py::tuple>(result);
  return {t[0], t[1]};
}

// fn(values, with_grad) -> (penalty, d(penalty)/d(values) or None). Python sees the values in
// `shape` (the weight's own shape), or as (rows, cols) when shape is empty (layer outputs).
template <typename T>
CustomPenalty<T> python_penalty(py::object fn, Shape shape, std::string what) {
  return [fn = SharedPyObject(std::move(fn)), shape = std::move(shape), what = std::move(what)](
             const T* values, Index rows, Index cols, T* grad, double scale) {
    PythonCall call;
    const Shape view_shape = shape.empty() ? Shape{rows, cols} : shape;
    auto [value, gradient] = pair_of(fn(readonly_view(values, view_shape), grad != nullptr), what);
    const double penalty = py::cast<double>(value);
    if (grad) {
      auto g = callback_array<T>(gradient, what + " gradient", rows * cols);
      VectorMap<T>(grad, rows * cols) += T(scale) * ConstVectorMap<T>(g.data(), rows * cols);
    }
    return scale * penalty;
  };
}

// fn(values) -> the projected values, copied over the weight.
template <typename T>
CustomConstraint<T> python_constraint(py::object fn, Shape shape, std::string what) {
  return [fn = SharedPyObject(std::move(fn)), shape = std::move(shape), what = std::move(what)](T* values, Index rows, Index cols) {
    PythonCall call;
    auto projected = callback_array<T>(fn(readonly_view<T>(values, shape)), what + " result", rows * cols);
    std::memmove(values, projected.data(), sizeof(T) * size_t(rows * cols));
  };
}

// fn(y_true, y_pred, sample_weight or None, with_grad) -> (reduced loss, d(loss)/d(y_pred) or None).
template <typename T>
CustomLoss<T> python_loss(py::object fn) {
  return [fn = SharedPyObject(std::move(fn))](const T* y_true, Index target_cols, const T* y_pred, Index cols, const T* sample_weight,
                              Index rows, T* grad, double grad_scale) {
    PythonCall call;
    py::object weights = sample_weight ? py::object(readonly_view(sample_weight, {rows})) : py::object(py::none());
    auto [value, gradient] = pair_of(fn(readonly_view(y_true, {rows, target_cols}), readonly_view(y_pred, {rows, cols}),
                                        weights, grad != nullptr),
                                     "custom loss");
    const double loss = py::cast<double>(value);
    if (grad) {
      auto g = callback_array<T>(gradient, "custom loss gradient", rows * cols, rows);
      MatrixMap<T>(grad, rows, cols) = T(grad_scale) * ConstMatrixMap<T>(g.data(), rows, cols);
    }
    return loss;
  };
}

// forward(inputs, training, differentiate or None) -> output;
// backward(output_grad) -> ([dLoss/dInput or None per input], [dLoss/dWeight per weight]).
template <typename T>
typename CallbackLayer<T>::Forward python_forward(py::object fn, std::string name) {
  return [fn = SharedPyObject(std::move(fn)), name = std::move(name)](const std::vector<ConstMatrixMap<T>>& inputs, MatrixMap<T> output,
                                                      bool training, const std::vector<bool>* differentiate) {
    PythonCall call;
    py::list views;
    for (const auto& x : inputs) views.append(readonly_view(x.data(), {x.rows(), x.cols()}));
    py::object wanted = py::none();
    if (differentiate) wanted = py::cast(*differentiate);
    auto y = callback_array<T>(fn(views, training, wanted), name + " output", output.size(), output.rows());
    std::memcpy(output.data(), y.data(), sizeof(T) * size_t(output.size()));
  };
}

template <typename T>
typename CallbackLayer<T>::Backward python_backward(py::object fn, std::string name) {
  return [fn = SharedPyObject(std::move(fn)), name = std::move(name)](ConstMatrixMap<T> output_grad,
                                                      std::vector<MatrixMap<T>>& input_grads,
                                                      std::vector<MatrixMap<T>>& parameter_grads) {
    PythonCall call;
    const std::string what = name + " backward";
    auto [dx, dw] = pair_of(fn(readonly_view(output_grad.data(), {output_grad.rows(), output_grad.cols()})), what);
    auto dx_list = py::cast<py::sequence>(dx), dw_list = py::cast<py::sequence>(dw);
    if (py::len(dx_list) != input_grads.size() || py::len(dw_list) != parameter_grads.size())
      throw ShapeError(what + ": expected " + std::to_string(input_grads.size()) + " input gradient(s) and " +
                       std::to_string(parameter_grads.size()) + " weight gradient(s), got " +
                       std::to_string(py::len(dx_list)) + " and " + std::to_string(py::len(dw_list)));
    // Everything is checked before anything is written.
    std::vector<std::optional<CallbackArray<T>>> dx_arrays(input_grads.size());
    std::vector<CallbackArray<T>> dw_arrays;
    for (size_t k = 0; k < input_grads.size(); ++k)
      if (input_grads[k].size() > 0 && !dx_list[k].is_none())
        dx_arrays[k] = callback_array<T>(dx_list[k], what + ": gradient of input " + std::to_string(k),
                                         input_grads[k].size(), input_grads[k].rows());
    for (size_t j = 0; j < parameter_grads.size(); ++j)
      dw_arrays.push_back(callback_array<T>(dw_list[j], what + ": gradient of weight " + std::to_string(j),
                                            parameter_grads[j].size()));
    for (size_t k = 0; k < input_grads.size(); ++k)
      if (dx_arrays[k])
        input_grads[k] += ConstMatrixMap<T>(dx_arrays[k]->data(), input_grads[k].rows(), input_grads[k].cols());
    for (size_t j = 0; j < parameter_grads.size(); ++j)
      parameter_grads[j] = ConstMatrixMap<T>(dw_arrays[j].data(), parameter_grads[j].rows(), parameter_grads[j].cols());
  };
}

}  // namespace fd::bind
