// The fastdense._core extension module: one register_* function per engine family.
#include <pybind11/pybind11.h>

#include <initializer_list>

#include "engine/Tensor.h"

namespace py = pybind11;

namespace fd::bind {
void register_runtime(py::module_& m);
void register_losses(py::module_& m);
void register_optimizers(py::module_& m);
void register_network(py::module_& m);
void register_activations(py::module_& m);
void register_lowp(py::module_& m);
}  // namespace fd::bind

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastdense native engine (Eigen + OpenMP)";
  // fd::Error and its kinds (engine/Error.h) as Python exceptions: each is a _core.Error (catch
  // them all) and the builtin type a Python user expects. pybind11 tries the most recently
  // registered translator first, so the base is registered before the kinds derived from it.
  const auto bases = [](std::initializer_list<py::handle> types) {
    py::tuple tuple(types.size());
    size_t i = 0;
    for (py::handle t : types) tuple[i++] = py::reinterpret_borrow<py::object>(t);
    return tuple;
  };
  auto error = py::register_exception<fd::Error>(m, "Error", PyExc_Exception);
  py::register_exception<fd::ShapeError>(m, "ShapeError", bases({error, PyExc_ValueError}));
  auto config = py::register_exception<fd::ConfigError>(m, "ConfigError", bases({error, PyExc_ValueError}));
  py::register_exception<fd::UnknownNameError>(m, "UnknownNameError", config);
  py::register_exception<fd::OutOfRangeError>(m, "OutOfRangeError",
                                              bases({error, PyExc_IndexError, PyExc_ValueError}));
  py::register_exception<fd::StateError>(m, "StateError", bases({error, PyExc_RuntimeError}));
  fd::bind::register_runtime(m);
  fd::bind::register_losses(m);
  fd::bind::register_optimizers(m);
  fd::bind::register_network(m);
  fd::bind::register_activations(m);
  fd::bind::register_lowp(m);
}
