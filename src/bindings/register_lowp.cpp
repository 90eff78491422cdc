// Reduced precision: which path this CPU takes, and the bf16 and int8 products themselves
// (tests compare every path against NumPy; the layers reach them through the engine).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

#include "engine/lowp/Bfloat16.h"
#include "engine/lowp/Dispatch.h"
#include "engine/lowp/GemmBf16.h"
#include "engine/lowp/GemmInt8.h"
#include "engine/lowp/PackedKernelCache.h"

namespace fd::bind {

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Int8Array = py::array_t<std::int8_t, py::array::c_style>;

lowp::Bf16Path bf16_path_named(const py::object& name) {
  if (name.is_none()) return lowp::bf16_path();
  const auto text = name.cast<std::string>();
  const auto& f = lowp::cpu_features();
  if (text == "amx" && f.amx_bf16) return lowp::Bf16Path::Amx;
  if (text == "avx512bf16" && f.avx512bf16) return lowp::Bf16Path::Avx512Bf16;
  if (text == "emulated") return lowp::Bf16Path::Emulated;
  throw ShapeError("path: this CPU has no bfloat16 path '" + text + "'");
}

lowp::Int8Path int8_path_named(const py::object& name) {
  if (name.is_none()) return lowp::int8_path();
  const auto text = name.cast<std::string>();
  const auto& f = lowp::cpu_features();
  if (text == "amx" && f.amx_int8) return lowp::Int8Path::Amx;
  if (text == "avx512vnni" && f.avx512vnni) return lowp::Int8Path::Avx512Vnni;
  if (text == "avxvnni" && f.avxvnni) return lowp::Int8Path::AvxVnni;
  if (text == "portable") return lowp::Int8Path::Portable;
  throw ShapeError("path: this CPU has no int8 path '" + text + "'");
}

std::vector<std::string> available_bf16_paths() {
  const auto& f = lowp::cpu_features();
  std::vector<std::string> paths;
  if (f.amx_bf16) paths.push_back("amx");
  if (f.avx512bf16) paths.push_back("avx512bf16");
  paths.push_back("emulated");
  return paths;
}

std::vector<std::string> available_int8_paths() {
  const auto& f = lowp::cpu_features();
  std::vector<std::string> paths;
  if (f.amx_int8) paths.push_back("amx");
  if (f.avx512vnni) paths.push_back("avx512vnni");
  if (f.avxvnni) paths.push_back("avxvnni");
  paths.push_back("portable");
  return paths;
}

}  // namespace

void register_lowp(py::module_& m) {
  m.def("lowp_info", []() {
    const auto& f = lowp::cpu_features();
    py::dict info;
    info["bfloat16"] = lowp::name_of(lowp::bf16_path());
    info["int8"] = lowp::name_of(lowp::int8_path());
    info["bfloat16_paths"] = available_bf16_paths();
    info["int8_paths"] = available_int8_paths();
    py::dict isa;
    isa["amx_tile"] = f.amx_tile;
    isa["amx_bf16"] = f.amx_bf16;
    isa["amx_int8"] = f.amx_int8;
    isa["avx512f"] = f.avx512f;
    isa["avx512_bf16"] = f.avx512bf16;
    isa["avx512_vnni"] = f.avx512vnni;
    isa["avx_vnni"] = f.avxvnni;
    isa["avx2"] = f.avx2;
    info["isa"] = isa;
    return info;
  }, "The reduced-precision paths this CPU takes and the instruction sets they rest on.");
  m.def("lowp_force_path", [](const std::string& name) {
    try {
      lowp::set_forced_path(name);
    } catch (const std::invalid_argument& e) {
      throw ShapeError(e.what());
    }
  }, py::arg("name"), "Forces the paths as FASTDENSE_LOWP does ('' = automatic).");
  m.def("set_bf16_weight_cache", [](bool enabled) { lowp::kernel_caching() = enabled; }, py::arg("enabled"),
        "Whether mixed_bfloat16 training steps after the first of a train call read the Dense kernels the previous "
        "update packed (on by default; FASTDENSE_BF16_WEIGHT_CACHE=0 turns it off at import). The results are the same.");
  m.def("bf16_weight_cache", []() { return lowp::kernel_caching().load(); },
        "Whether mixed_bfloat16 training keeps packed kernels between steps (set_bf16_weight_cache).");
  m.def("bf16_weight_cache_reads", []() { return lowp::packed_kernel_reads().load(); },
        "How many bf16 products so far read a kernel packed by the previous update instead of packing it.");
  m.def("round_to_bfloat16", [](FloatArray x) {
    FloatArray out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    const float* src = x.data();
    float* dst = out.mutable_data();
    lowp::round_floats_to_bf16(src, dst, x.size());  // the emulated path's own loop
    return out;
  }, py::arg("x"), "x rounded to bfloat16 (nearest even), as float32.");
  m.def("floats_to_bfloat16_bits", [](FloatArray x) {
    py::array_t<std::uint16_t> out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
    lowp::floats_to_bf16(x.data(), out.mutable_data(), x.size());
    return out;
  }, py::arg("x"), "The bfloat16 bit patterns of x, converted as the packing code converts operands.");
  m.def("gemm_bf16", [](FloatArray a, FloatArray b, bool transpose_a, bool transpose_b, const py::object& path) {
    if (a.ndim() != 2 || b.ndim() != 2) throw ShapeError("gemm_bf16: a and b must be 2-D");
    const Index m = transpose_a ? a.shape(1) : a.shape(0), k = transpose_a ? a.shape(0) : a.shape(1);
    const Index kb = transpose_b ? b.shape(1) : b.shape(0), n = transpose_b ? b.shape(0) : b.shape(1);
    if (k != kb) throw ShapeError("gemm_bf16: inner dimensions differ (" + std::to_string(k) + " vs " +
                                  std::to_string(kb) + ")");
    const auto chosen = bf16_path_named(path);
    FloatArray c({m, n});
    {
      py::gil_scoped_release release;
      lowp::gemm_bf16(chosen, transpose_a, transpose_b, m, n, k, a.data(), b.data(), c.mutable_data(), false);
    }
    return c;
  }, py::arg("a"), py::arg("b"), py::arg("transpose_a") = false, py::arg("transpose_b") = false,
     py::arg("path") = py::none(), "op(a) @ op(b) with bfloat16 operands and float32 accumulation.");
  m.def("gemm_int8", [](Int8Array a, Int8Array b, const py::object& path) {
    if (a.ndim() != 2 || b.ndim() != 2) throw ShapeError("gemm_int8: a and b must be 2-D");
    if (a.shape(1) != b.shape(0))
      throw ShapeError("gemm_int8: inner dimensions differ (" + std::to_string(a.shape(1)) + " vs " +
                       std::to_string(b.shape(0)) + ")");
    const auto chosen = int8_path_named(path);
    py::array_t<std::int32_t> c({a.shape(0), b.shape(1)});
    {
      py::gil_scoped_release release;
      const auto packed = lowp::pack_int8_matrix(b.data(), b.shape(0), b.shape(1));
      lowp::gemm_int8(chosen, a.data(), a.shape(0), packed, c.mutable_data());
    }
    return c;
  }, py::arg("a"), py::arg("b"), py::arg("path") = py::none(), "a @ b for int8 a, b with exact int32 sums.");
}

}  // namespace fd::bind
