// The fastdense._core extension module: one register_* function per engine family.
#include <pybind11/pybind11.h>

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
  py::register_exception<fd::ShapeError>(m, "ShapeError", PyExc_ValueError);
  fd::bind::register_runtime(m);
  fd::bind::register_losses(m);
  fd::bind::register_optimizers(m);
  fd::bind::register_network(m);
  fd::bind::register_activations(m);
  fd::bind::register_lowp(m);
}
