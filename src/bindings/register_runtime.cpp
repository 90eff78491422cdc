// Threading and build information.
#include <pybind11/pybind11.h>

#include "engine/Tensor.h"

namespace fd::bind {

namespace py = pybind11;

void register_runtime(py::module_& m) {
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw ShapeError("set_num_threads: expected a positive thread count, got " + std::to_string(n));
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    engine_threads() = n;
    Eigen::setNbThreads(n);
  }, py::arg("n"), "Sets the number of threads used by the native engine.");
  m.def("get_num_threads", []() { return engine_threads(); });
  m.def("build_info", []() {
    py::dict info;
#ifdef _OPENMP
    info["openmp"] = true;
#else
    info["openmp"] = false;
#endif
    info["eigen_version"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                            "." + std::to_string(EIGEN_MINOR_VERSION);
    info["simd"] = Eigen::SimdInstructionSetsInUse();
    return info;
  });
}

}  // namespace fd::bind
