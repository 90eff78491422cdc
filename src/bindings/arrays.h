// Checks of numpy arrays at the native boundary, done before native code touches their memory:
//   exact / matrix / vector   an argument as a C-contiguous array of exactly T, of the given rank
//                             and shape, without copying (the Python layer converts user data once)
//   dispatch_dtype            float32 or float64 chosen by an array's dtype
//   dataset / sample_order    the user's inputs, targets, sample weights and row order for a
//                             Network's train/evaluate/predict, checked against the network
//   engine_rows               the latency entries' reading of an argument: nullptr (decline, the
//                             caller takes the checked path) unless an array of that width of T
//                             or of integers
//   all_finite                no NaN or infinity in an array's values
// A failure raises fd::ShapeError (ValueError) naming the argument and the offending shape; a
// row index past the data, fd::OutOfRangeError; a non-positive batch size, fd::ConfigError.
// Arrays returned by Python callbacks are checked separately (python_callbacks.h: callback_array).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/Tensor.h"

namespace fd {
template <typename T>
struct Dataset;  // engine/Network.h, complete wherever dataset() is used
}  // namespace fd

namespace fd::bind {

namespace py = pybind11;

template <typename T>
using Array = py::array_t<T, py::array::c_style>;

inline std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// The array as a C-contiguous T array without copying; raises if dtype or layout differ
// (the Python layer converts user data once, before any loop).
template <typename T>
Array<T> exact(const py::handle& obj, const char* what) {
  if (!py::isinstance<py::array>(obj))
    throw ShapeError(std::string(what) + ": expected a numpy array, got " +
                     std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<T>()))
    throw ShapeError(std::string(what) + ": expected dtype " + std::string(py::str(py::dtype::of<T>())) +
                     ", got " + std::string(py::str(a.dtype())));
  if (!(a.flags() & py::array::c_style))
    throw ShapeError(std::string(what) + ": array must be C-contiguous");
  return py::reinterpret_borrow<Array<T>>(a);
}

// A 2-D (rows, cols) view; -1 leaves a dimension unchecked.
template <typename T>
Array<T> matrix(const py::handle& obj, const char* what, Index rows = -1, Index cols = -1) {
  auto a = exact<T>(obj, what);
  if (a.ndim() != 2)
    throw ShapeError(std::string(what) + ": expected a 2-D array, got shape " + shape_of(a));
  if ((rows >= 0 && a.shape(0) != rows) || (cols >= 0 && a.shape(1) != cols))
    throw ShapeError(std::string(what) + ": expected shape " +
                     shape_str(rows, cols) + " (-1 = any), got " + shape_of(a));
  return a;
}

template <typename T>
Array<T> vector(const py::handle& obj, const char* what, Index size = -1) {
  auto a = exact<T>(obj, what);
  if (a.ndim() != 1 || (size >= 0 && a.shape(0) != size))
    throw ShapeError(std::string(what) + ": expected shape (" + std::to_string(size) + ",), got " + shape_of(a));
  return a;
}

// Calls fn.template operator()<T>() with T = float or double, chosen by the array's dtype.
template <typename Fn>
decltype(auto) dispatch_dtype(const py::array& a, const char* what, Fn&& fn) {
  if (a.dtype().is(py::dtype::of<float>())) return fn(float{});
  if (a.dtype().is(py::dtype::of<double>())) return fn(double{});
  throw ShapeError(std::string(what) + ": expected float32 or float64, got " + std::string(py::str(a.dtype())));
}

// The values of a (rows, cols) array (or a (rows,) one, cols = 1) of S, any strides, as a C-order
// copy of T in `copy` (memcpy per value: a strided view need not be aligned for S).
template <typename T, typename S>
const T* copy_rows_as(const py::array& a, Index rows, Index cols, std::vector<T>& copy) {
  const char* base = static_cast<const char*>(a.data());
  const py::ssize_t row_stride = a.strides(0), col_stride = a.ndim() == 2 ? a.strides(1) : 0;
  copy.resize(size_t(rows * cols));
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) {
      S value;
      std::memcpy(&value, base + i * row_stride + j * col_stride, sizeof(S));
      copy[size_t(i * cols + j)] = static_cast<T>(value);
    }
  return copy.data();
}

// The rows of `obj` as the engine reads them, C-order T, when `obj` is a numpy array of `cols`
// columns and at least one row, (rows, cols) or, for one column, (rows,): its own memory when
// it is a C-contiguous array of T (the dtype object itself, as `exact` requires), else a copy
// made in `copy` from T of other strides (a slice of a Fortran-ordered array) or from int32 /
// int64 (class ids), converted as NumPy's astype converts them. The number of rows goes to
// `rows`. nullptr for anything else, without raising: the latency entries (Network's
// predict_array, train_batch, evaluate_batch) then decline, and the Python layer takes its
// checked path, which converts the data or raises the error that names the problem.
template <typename T>
const T* engine_rows(const py::handle& obj, Index cols, Index& rows, std::vector<T>& copy) {
  if (!py::isinstance<py::array>(obj)) return nullptr;
  const auto a = py::reinterpret_borrow<py::array>(obj);
  const bool shaped = (a.ndim() == 2 && a.shape(1) == cols) || (a.ndim() == 1 && cols == 1);
  if (!shaped || a.shape(0) < 1) return nullptr;
  rows = a.shape(0);
  const py::dtype dtype = a.dtype();
  if (dtype.is(py::dtype::of<T>()))
    return (a.flags() & py::array::c_style) ? static_cast<const T*>(a.data()) : copy_rows_as<T, T>(a, rows, cols, copy);
  if (dtype.is(py::dtype::of<std::int64_t>())) return copy_rows_as<T, std::int64_t>(a, rows, cols, copy);
  if (dtype.is(py::dtype::of<std::int32_t>())) return copy_rows_as<T, std::int32_t>(a, rows, cols, copy);
  return nullptr;
}

// True when no value is NaN or infinite: x * 0 is 0 for every finite x and NaN otherwise, and the
// sum of those products vectorizes (omp simd allows the reordered float sum).
template <typename T>
bool all_finite(const T* p, py::ssize_t n) {
  T sum = 0;
#ifdef _OPENMP
#pragma omp simd reduction(+ : sum)
#endif
  for (py::ssize_t i = 0; i < n; ++i) sum += p[i] * T(0);
  return sum == T(0);
}

// ---------------------------------------------------------------------------------------------
// The user's data for a Network (Net: engine/Network.h's Network<T>)

// Checks the user's arrays against the network and returns the engine's view of them.
template <typename T, typename Net>
Dataset<T> dataset(const Net& net, const py::list& inputs, const py::list& targets, const py::handle& sample_weight,
                   std::vector<py::object>& keep_alive) {
  if (inputs.size() != net.num_inputs())
    throw ShapeError("expected " + std::to_string(net.num_inputs()) + " input array(s), got " +
                     std::to_string(inputs.size()));
  Dataset<T> data;
  for (size_t k = 0; k < inputs.size(); ++k) {
    auto x = matrix<T>(inputs[k], "input", -1, net.input_width(k));
    if (k == 0) data.rows = x.shape(0);
    if (x.shape(0) != data.rows)
      throw ShapeError("input " + std::to_string(k) + " has " + std::to_string(x.shape(0)) + " rows, input 0 has " +
                       std::to_string(data.rows));
    data.inputs.push_back(x.data());
    keep_alive.push_back(x);
  }
  if (!targets.empty() && targets.size() != net.num_outputs())
    throw ShapeError("expected " + std::to_string(net.num_outputs()) + " target array(s), got " +
                     std::to_string(targets.size()));
  for (size_t o = 0; o < targets.size(); ++o) {
    auto y = matrix<T>(targets[o], "target", data.rows, net.target_cols(o));
    data.targets.push_back(y.data());
    keep_alive.push_back(y);
  }
  if (!sample_weight.is_none()) {
    auto w = vector<T>(sample_weight, "sample_weight", data.rows);
    data.sample_weight = w.data();
    keep_alive.push_back(w);
  }
  return data;
}

inline Array<int64_t> checked_index(const py::handle& index, Index rows) {
  auto idx = vector<int64_t>(index, "index");
  const int64_t* p = idx.data();
  for (py::ssize_t i = 0; i < idx.shape(0); ++i)
    if (p[i] < 0 || p[i] >= rows)
      throw OutOfRangeError("index: entry " + std::to_string(i) + " is " + std::to_string(p[i]) + ", outside [0, " +
                       std::to_string(rows) + ")");
  return idx;
}

// The sample order for train/evaluate: the rows of `index`, checked, or every row in order for None.
struct SampleOrder {
  Array<int64_t> storage;
  const int64_t* order = nullptr;  // nullptr: rows 0, 1, ..., count - 1
  Index count = 0;
};
inline SampleOrder sample_order(const py::object& index, Index rows) {
  SampleOrder result;
  result.count = rows;
  if (!index.is_none()) {
    result.storage = checked_index(index, rows);
    result.order = result.storage.data();
    result.count = result.storage.shape(0);
  }
  return result;
}

inline void check_batch_size(Index batch_size) {
  if (batch_size <= 0) throw ConfigError("batch_size must be positive, got " + std::to_string(batch_size));
}

}  // namespace fd::bind
