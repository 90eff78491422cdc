// Validation of numpy arrays at the native boundary. Every array is checked for dtype, rank,
// shape and contiguity before native code touches its memory; failures raise ValueError
// (via fd::ShapeError) naming the argument and the offending shape.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "engine/Tensor.h"

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

}  // namespace fd::bind
