// Threading, build information, and the finiteness check the Python data path runs on inputs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.h"
#include "engine/MatrixProduct.h"
#include "engine/Tensor.h"

namespace fd::bind {

namespace py = pybind11;

namespace {

template <typename T>
bool array_all_finite(py::array_t<T, py::array::c_style> array) {
  return all_finite(array.data(), array.size());
}

}  // namespace

void register_runtime(py::module_& m) {
  configure_matrix_products();
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw ConfigError("set_num_threads: expected a positive thread count, got " + std::to_string(n));
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    engine_threads() = n;  // products split across these threads themselves; Eigen's own count stays 1
  }, py::arg("n"), "Sets the number of threads used by the native engine.");
  m.def("get_num_threads", []() { return engine_threads(); });
  m.def("product_kernel", &product_kernel_description,
        "The matrix-product path in use: 'openblas (<core>)' or 'eigen (<instruction sets>)'.");
  m.def("product_kernels", &available_product_kernels, "The matrix-product paths this build has.");
  m.def("set_product_kernel", &select_product_kernel, py::arg("name"),
        "Selects the matrix-product path (as FASTDENSE_KERNEL does at import); for tests and benchmarks.");
  m.def("all_finite", &array_all_finite<float>, py::arg("array"));
  m.def("all_finite", &array_all_finite<double>, py::arg("array"),
        "True when a float32/float64 array holds no NaN or infinity (C-contiguous, any shape).");
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
    info["matrix_product"] = matrix_product_library();
    return info;
  });
}

}  // namespace fd::bind
