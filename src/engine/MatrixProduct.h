// The engine's one matrix product, C = op(A) op(B) (or C += …). Dense spends nearly all of its
// time here. On a CPU with AVX-512 float32 products go to fastdense's own kernel (kernels/Gemm.h;
// its AVX2 build is selectable, see library_default()); otherwise, and for float64, to OpenBLAS
// (the scipy-openblas32 wheel) when the build found it: on the workload shapes OpenBLAS measured
// 1.4-2x Eigen's product (bench/gemm_shapes.cpp). On that OpenBLAS path the small float32 slabs
// run on fastdense's AVX2 kernel where the CPU has AVX2 (kOpenBLASSlabWork). Eigen's product is
// the fallback, and also runs the tiny products whose per-call set-up dominates, except those of
// one column or of depth one (plain loops, thin_product) and, on fastdense's own kernels, those at
// least 16 columns wide.
// FASTDENSE_KERNEL=avx512|avx2|openblas|eigen (read when the module loads) picks the path for
// every product, so that each path can be measured and tested on any machine that has it.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "Tensor.h"
#include "kernels/Gemm.h"

#ifdef FASTDENSE_OPENBLAS
#include <cblas.h>  // scipy-openblas32's header: every symbol carries the scipy_ prefix
#endif

namespace fd {

enum class Transpose { No, Yes };
// Bfloat16: both operands rounded to bfloat16 as fastdense's own kernel packs them (the emulated
// mixed_bfloat16 product, kernels::sgemm_bf16_operands); only on those kernels.
enum class OperandRounding { None, Bfloat16 };

// What a product does to each value of c as it finishes it: c + bias[j] (bias: one value per
// column, or none), then max(0, ·) when relu (NaN and -0 kept, as Eigen's max(0) keeps them).
// fastdense's own kernels do it in the stores that write c (kernels::ProductEpilogue); every other
// path in a pass over its own slab right after the product. A Dense layer's bias and relu then
// cost no pass of their own.
template <typename T>
struct BiasRelu {
  const T* bias = nullptr;
  bool relu = false;
  bool any() const { return bias || relu; }
};

// Below this many multiply-adds Eigen's product beats OpenBLAS's fixed per-call cost (buffer
// allocation, packing): the tutorial's 64→1 layer. Measured in one process, alternating: the
// 10-64-64-1 training step 6% faster; moving the bar to 32×64×64 products made it slower.
constexpr double kTinyProductWork = double(1 << 15);

// On the OpenBLAS path (the default on CPUs without AVX-512), a float32 slab of fewer multiply-adds
// runs on fastdense's AVX2 kernel instead, where the CPU has AVX2 and FMA, if it is at least 16
// columns wide and 16 deep (narrower, a 6x16 tile is mostly masked lanes; tiny products: see
// slab_kernel_isa): OpenBLAS packs both operands on every call, which small products do not repay,
// and the kernel fuses Dense's bias and relu into its stores. Measured on the Sapphire Rapids VM
// held to AVX2 (x86-64-v3 module, OPENBLAS_CORETYPE=Haswell, 2026-12-06): the tutorial's
// train_on_batch 18.9-21.2 -> 15.3-16.3 us (runs of both modules alternating); one process
// alternating per epoch: 784-64-64-10 at batch 32 5-8% faster, 784-256-256-10 at batch 32 and 128
// and 784-1024-1024-10 unchanged. Larger slabs stay on OpenBLAS although a harness on hot
// operands put them level or ahead up to 2^22 (bench/gemm_kernels.cpp): in the step, slabs up to
// 2^22 made 784-256-256-10 at batch 32 5% slower, and without the width rule its 256->10 layer's
// products made batch 128 4-6% slower.
constexpr int kOpenBLASSlabWorkLog2 = 20;
constexpr double kOpenBLASSlabWork = double(1 << kOpenBLASSlabWorkLog2);

namespace detail {

// Every engine thread only for a product large enough to gain from them (kParallelProductWork).
inline int product_threads(Index rows, Index depth, Index cols) {
  return fork_pays(double(rows) * double(depth) * double(cols), kParallelProductWork) ? engine_threads() : 1;
}

#ifdef FASTDENSE_OPENBLAS
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, Index m, Index n, Index k, const float* a,
                      Index lda, const float* b, Index ldb, float beta, float* c, Index ldc) {
  scipy_cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, Index m, Index n, Index k, const double* a,
                      Index lda, const double* b, Index ldb, double beta, double* c, Index ldc) {
  scipy_cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, beta, c, ldc);
}
#endif

// Eigen's product, c = op_a(a) · op_b(b) (or c += …).
template <typename C, typename A, typename B>
void eigen_product(C& c, const A& a, Transpose op_a, const B& b, Transpose op_b, bool accumulate) {
  const auto assign = [&](const auto& lhs, const auto& rhs) {
    if (accumulate)
      c.noalias() += lhs * rhs;
    else
      c.noalias() = lhs * rhs;
  };
  if (op_a == Transpose::Yes && op_b == Transpose::Yes)
    assign(a.transpose(), b.transpose());
  else if (op_a == Transpose::Yes)
    assign(a.transpose(), b);
  else if (op_b == Transpose::Yes)
    assign(a, b.transpose());
  else
    assign(a, b);
}

}  // namespace detail

// What does the products, for fastdense's build information.
inline std::string matrix_product_library() {
#ifdef FASTDENSE_OPENBLAS
  return std::string("OpenBLAS (scipy-openblas32): ") + scipy_openblas_get_config();
#else
  return "Eigen";
#endif
}

// The path that runs the products above the tiny ones (those always run on Eigen's). Avx512 and
// Avx2 are fastdense's own float32 kernels; float64 products then go to OpenBLAS (or Eigen
// without it).
enum class ProductKernel { Avx512, Avx2, OpenBLAS, Eigen };

// Where the CPU lacks AVX-512: OpenBLAS when the build has it (with its small slabs on the AVX2
// kernel, kOpenBLASSlabWork), else the AVX2 kernel where the CPU has AVX2 and FMA, else Eigen.
// OpenBLAS keeps the larger products there because, held to AVX2 on the Sapphire Rapids VM
// (2026-12-06, x86-64-v3 module, OPENBLAS_CORETYPE=Haswell, alternating runs), the AVX2 kernel on
// every product took the tutorial's train_on_batch from 16.4-16.8 to 13.2-14.0 us and
// 784-256-256-10 prediction up 1-5%, but that model's training 6-10% down (one thread, the same
// process switching paths each epoch: 219-221 against 207-208 ms), although bench/gemm_kernels.cpp
// put its products at 0.95-1.26x OpenBLAS's: that harness repeats each product on operands hot in
// cache, the step does not (a depth loop unrolled 4 times measured 5% faster there and 10% slower
// in the step). FASTDENSE_KERNEL=avx2 selects it for every product.
inline ProductKernel library_default() {
#ifdef FASTDENSE_OPENBLAS
  return ProductKernel::OpenBLAS;
#else
  return kernels::gemm_supported(kernels::Isa::Avx2) ? ProductKernel::Avx2 : ProductKernel::Eigen;
#endif
}

inline ProductKernel& product_kernel() {
  static ProductKernel kernel =
      kernels::gemm_supported(kernels::Isa::Avx512) ? ProductKernel::Avx512 : library_default();
  return kernel;
}

// The fewest rows each thread runs through the network at a time in predict (Network::predict's
// chunk, whatever the call's batch_size, while the call has that many rows a thread): 256 for a
// float32 network on the openblas path, where OpenBLAS packs both operands of every product, so a
// chunk's rows repay the packing of the weights; else one (a chunk is one batch). Measured on the
// AMD EPYC (Zen 3, 2 threads, 2026-12-06; predict's batch_size alternating in one process, 60k
// rows of 784-256-256-10, seven processes of 10-24 rounds): 256-row chunks 1.02-1.19x the GFLOP/s
// of 128-row ones (medians per process; 165-176 GFLOP/s against 135-170, never slower), 1.13x
// those of 32 rows (Keras's default batch); 512 rows no better than 256. The own kernels pack
// the weights once per call instead (Dense::reserve_packed_kernel). Float64 networks, whose
// products are OpenBLAS's on every path, are left as they were (not measured). Only for networks
// whose layers all infer by rows (Network::predict): another layer sees its batch as Keras gives it.
constexpr Index kOpenBLASPredictRows = 256;

// Whether float32 products run on one of fastdense's own kernels, and on which instruction set.
inline bool own_kernel() {
  return product_kernel() == ProductKernel::Avx512 || product_kernel() == ProductKernel::Avx2;
}
inline kernels::Isa own_kernel_isa() {
  return product_kernel() == ProductKernel::Avx2 ? kernels::Isa::Avx2 : kernels::Isa::Avx512;
}

template <typename T>
Index least_prediction_chunk() {
  return std::is_same_v<T, float> && product_kernel() == ProductKernel::OpenBLAS ? kOpenBLASPredictRows : 1;
}

// The instruction set whose own kernel runs a float32 slab of rows x cols x k multiply-adds (of a
// product below kTinyProductWork when `tiny`), if any: every slab on the avx512 and avx2 paths; on
// the openblas path, the small ones the AVX2 kernel takes (kOpenBLASSlabWork) when the CPU has AVX2
// and FMA, a tiny product's at any depth (product_slab then applies own_kernel_takes_small, as on
// the own paths: the tutorial's 10-deep first layer measured 0.1-0.5 us faster a step so); none on
// the eigen path.
inline std::optional<kernels::Isa> slab_kernel_isa(Index rows, Index cols, Index k, bool tiny) {
  if (own_kernel()) return own_kernel_isa();
  static const bool avx2 = kernels::gemm_supported(kernels::Isa::Avx2);
  if (product_kernel() == ProductKernel::OpenBLAS && avx2 && cols >= 16 && (tiny || k >= 16) &&
      double(rows) * double(cols) * double(k) < kOpenBLASSlabWork)
    return kernels::Isa::Avx2;
  return std::nullopt;
}

// The paths this build has on this CPU, the default first.
inline std::vector<std::string> available_product_kernels() {
  std::vector<std::string> names;
  if (kernels::gemm_supported(kernels::Isa::Avx512)) names.push_back("avx512");
#ifdef FASTDENSE_OPENBLAS
  names.push_back("openblas");
#endif
  if (kernels::gemm_supported(kernels::Isa::Avx2)) names.push_back("avx2");
  names.push_back("eigen");
  return names;
}

// "avx512", "avx2", "openblas" or "eigen", with what runs in parentheses (the kernel's register tile,
// OpenBLAS's core, Eigen's instruction sets): the benchmark records it beside its numbers.
inline std::string product_kernel_description() {
  const std::string eigen = std::string("eigen (") + Eigen::SimdInstructionSetsInUse() + ")";
#ifdef FASTDENSE_OPENBLAS
  const std::string openblas_core = scipy_openblas_get_corename();
  const std::string openblas = "openblas (" + openblas_core + ")";
#else
  const std::string openblas_core, openblas = eigen;
#endif
  switch (product_kernel()) {
    case ProductKernel::Avx512:
    case ProductKernel::Avx2:
      return std::string(product_kernel() == ProductKernel::Avx512 ? "avx512" : "avx2") +
             " (fastdense float32 kernel, " + kernels::gemm_blocking(own_kernel_isa()) + " tiles; float64: " +
             openblas + ")";
    case ProductKernel::OpenBLAS:
      if (!kernels::gemm_supported(kernels::Isa::Avx2)) return openblas;
      return "openblas (" + openblas_core + "; float32 slabs under 2^" + std::to_string(kOpenBLASSlabWorkLog2) +
             " multiply-adds: fastdense's avx2 kernel, " + kernels::gemm_blocking(kernels::Isa::Avx2) + " tiles)";
    default: return eigen;
  }
}

// Selects the path by name (FASTDENSE_KERNEL's values); ShapeError for one this build or CPU lacks.
inline void select_product_kernel(const std::string& name) {
  const auto names = available_product_kernels();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw ShapeError("FASTDENSE_KERNEL: unknown or unavailable matrix-product kernel '" + name +
                     "' (this build and CPU have: " + known + ")");
  }
  product_kernel() = name == "eigen"    ? ProductKernel::Eigen
                     : name == "avx512" ? ProductKernel::Avx512
                     : name == "avx2"   ? ProductKernel::Avx2
                                        : ProductKernel::OpenBLAS;
}

// Called once when the module loads: every product runs single-threaded inside the engine's one
// OpenMP pool (multiply() splits the result into one slab per thread), so OpenBLAS's and Eigen's
// own thread counts are set to 1 here, once, and never touched per product (setting them per
// product wrote a global from several threads at once during predict's row split).
// fastdense/__init__.py also loads OpenBLAS with OPENBLAS_NUM_THREADS=1, so that its pool's
// threads are never created (perf showed blas_thread_server running beside OpenMP's pool).
inline void configure_matrix_products() {
#ifdef FASTDENSE_OPENBLAS
  scipy_openblas_set_num_threads(1);
#endif
  Eigen::setNbThreads(1);
  const char* requested = std::getenv("FASTDENSE_KERNEL");
  if (requested && *requested) select_product_kernel(requested);
}

namespace detail {

// A tiny product with one column (a matrix times a vector: a layer of one unit, its weight
// gradient) or a depth of one (an outer product: the input gradient of such a layer), as plain
// vectorized loops; false (nothing done) for any other shape. The general kernels pack and tile
// for blocks of columns and depth that these shapes do not have: on the 10-64-64-1 training step
// (Xeon VM, one thread) 32x64 by 64x1 took 150 ns here against Eigen's 210 ns, (32x64)ᵀ by 32x1
// 130 against 320, 32x1 by (64x1)ᵀ 150 against 360, and one sample's 64x1 output 7 against 96.
// rows/cols/pointers describe the slab (product_slab), ldc the whole result's row stride.
inline bool thin_column(Index cols, Index ldb, bool tb, Index ldc) { return cols == 1 && ldc == 1 && (tb || ldb == 1); }
inline bool thin_depth(Index k, Index lda, bool ta, Index ldb, bool tb) {
  return k == 1 && (ta || lda == 1) && (!tb || ldb == 1);
}
inline bool thin_shape(Index cols, Index k, Index lda, bool ta, Index ldb, bool tb, Index ldc) {
  return thin_column(cols, ldb, tb, ldc) || thin_depth(k, lda, ta, ldb, tb);
}
template <typename T>
bool thin_product(Index rows, Index cols, Index k, const T* a, Index lda, bool ta, const T* b, Index ldb, bool tb,
                  T* c, Index ldc, bool accumulate) {
  if (thin_column(cols, ldb, tb, ldc)) {  // c (a column) = op(A) · b, b contiguous either way
    if (ta) {  // A is stored (k x rows): c += b[p] · row p of it, over rows contiguous
      if (!accumulate) std::fill(c, c + rows, T(0));
      for (Index p = 0; p < k; ++p) {
        const T bp = b[p];
        const T* a_row = a + p * lda;
        simd_range(0, rows, [&](Index i) { c[i] += bp * a_row[i]; });
      }
      return true;
    }
    for (Index i = 0; i < rows; ++i) {  // one dot product per row of A
      const T* a_row = a + i * lda;
      T sum = T(0);
#ifdef _OPENMP
#pragma omp simd reduction(+ : sum)
#endif
      for (Index p = 0; p < k; ++p) sum += a_row[p] * b[p];
      c[i] = accumulate ? c[i] + sum : sum;
    }
    return true;
  }
  if (thin_depth(k, lda, ta, ldb, tb)) {  // c = a bᵀ, both operands contiguous vectors
    for (Index i = 0; i < rows; ++i) {
      const T ai = a[i];
      T* c_row = c + i * ldc;
      if (accumulate)
        simd_range(0, cols, [&](Index j) { c_row[j] += ai * b[j]; });
      else
        simd_range(0, cols, [&](Index j) { c_row[j] = ai * b[j]; });
    }
    return true;
  }
  return false;
}

// Whether fastdense's own kernel also takes a product below kTinyProductWork: one of at least 16
// result columns (a 32-column panel half used) and 4 rows. Measured against Eigen on the Xeon VM,
// one thread: 32x10 by 10x64 (the tutorial's first layer) 300 ns against 650, its weight gradient
// (32x10)ᵀ by 32x64 285 against 530, 8x10 by 10x64 95 against 265; one-row products stay on
// Eigen (1x64 by 64x64: 163 against 129).
inline bool own_kernel_takes_small(Index rows, Index cols) { return cols >= 16 && rows >= 4; }

// One slab's product on the paths other than fastdense's own kernels: the thin loops, OpenBLAS, Eigen.
template <typename T>
void other_product(Index rows, Index cols, Index k, const T* a, Index lda, bool ta, const T* b, Index ldb, bool tb,
                   T* c, Index ldc, bool accumulate, bool tiny) {
  if (tiny && thin_product(rows, cols, k, a, lda, ta, b, ldb, tb, c, ldc, accumulate)) return;
#ifdef FASTDENSE_OPENBLAS
  if (product_kernel() != ProductKernel::Eigen && !tiny) {
    const auto op = [](bool t) { return t ? CblasTrans : CblasNoTrans; };
    blas_gemm(op(ta), op(tb), rows, cols, k, a, lda, b, ldb, accumulate ? T(1) : T(0), c, ldc);
    return;
  }
#endif
  using Strided = Eigen::Map<const Matrix<T>, 0, Eigen::OuterStride<>>;
  Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>> c_map(c, rows, cols, Eigen::OuterStride<>(ldc));
  const Strided a_map(a, ta ? k : rows, ta ? rows : k, Eigen::OuterStride<>(lda));
  const Strided b_map(b, tb ? cols : k, tb ? k : cols, Eigen::OuterStride<>(ldb));
  eigen_product(c_map, a_map, ta ? Transpose::Yes : Transpose::No, b_map, tb ? Transpose::Yes : Transpose::No,
                accumulate);
}

// BiasRelu's pass over a finished (rows x cols) slab of c (row stride ldc; bias at its first
// column): the values fastdense's own kernels' stores give.
template <typename T>
void add_bias_relu(T* c, Index rows, Index cols, Index ldc, const T* bias, bool relu) {
  const auto max0 = [](T z) { return z < T(0) ? T(0) : z; };
  for (Index i = 0; i < rows; ++i) {
    T* row = c + i * ldc;
    if (bias && relu)
      simd_range(0, cols, [&](Index j) { row[j] = max0(row[j] + bias[j]); });
    else if (bias)
      simd_range(0, cols, [&](Index j) { row[j] += bias[j]; });
    else
      simd_range(0, cols, [&](Index j) { row[j] = max0(row[j]); });
  }
}

// op_a(a) · op_b(b) for the rows [begin, end) of the result (or its columns when by_rows is
// false), single-threaded; pointers and leading dimensions describe the whole row-major operands.
template <typename T>
void product_slab(Index m, Index n, Index k, const T* a, Index lda, Transpose op_a, const T* b, Index ldb,
                  Transpose op_b, T* c, bool accumulate, bool by_rows, Index begin, Index end,
                  OperandRounding rounding = OperandRounding::None, const BiasRelu<T>& store = {}) {
  const bool ta = op_a == Transpose::Yes, tb = op_b == Transpose::Yes;
  const T* a_part = a;
  const T* b_part = b;
  T* c_part = c;
  Index rows = m, cols = n;
  if (by_rows) {
    a_part = a + (ta ? begin : begin * lda);
    c_part = c + begin * n;
    rows = end - begin;
  } else {
    b_part = b + (tb ? begin * ldb : begin);
    c_part = c + begin;
    cols = end - begin;
  }
  const T* bias_part = store.bias && !by_rows ? store.bias + begin : store.bias;
  if constexpr (std::is_same_v<T, float>) {
    if (rounding == OperandRounding::Bfloat16) {
      if (!own_kernel()) throw StateError("bfloat16 operand rounding needs fastdense's own kernel");
      kernels::sgemm_bf16_operands(own_kernel_isa(), ta, tb, rows, cols, k, a_part, lda, b_part, ldb, accumulate,
                                   c_part, n, {bias_part, store.relu});
      return;
    }
  }
  const bool tiny = double(m) * double(n) * double(k) < kTinyProductWork;
  if constexpr (std::is_same_v<T, float>) {
    const std::optional<kernels::Isa> isa = slab_kernel_isa(rows, cols, k, tiny);
    if (isa && (!tiny || own_kernel_takes_small(rows, cols)) && !(tiny && thin_shape(cols, k, lda, ta, ldb, tb, n))) {
      kernels::sgemm(*isa, ta, tb, rows, cols, k, a_part, lda, b_part, ldb, accumulate, c_part, n,
                     {bias_part, store.relu});
      return;
    }
  }
  other_product(rows, cols, k, a_part, lda, ta, b_part, ldb, tb, c_part, n, accumulate, tiny);
  if (store.any()) add_bias_relu(c_part, rows, cols, n, bias_part, store.relu);
}

}  // namespace detail

// multiply()'s default epilogue: nothing after the product.
struct NoEpilogue {
  void operator()(Index, Index) const {}
};

// Slab `part` of `parts` of c = op_a(a) · op_b(b) (or c += …), single-threaded: the rows of
// op(A) for a result at least as tall as it is wide, else the columns of op(B). For a caller
// that runs several steps in one parallel region (Dense's backward); every part must run, and
// the result is complete only after all parts have (a barrier).
template <typename C, typename A, typename B, typename T = typename std::decay_t<C>::Scalar>
void multiply_part(C&& c, const A& a, Transpose op_a, const B& b, Transpose op_b, bool accumulate, Index part,
                   Index parts, OperandRounding rounding = OperandRounding::None, const BiasRelu<T>& store = {}) {
  const Index m = c.rows(), n = c.cols();
  const Index k = op_a == Transpose::Yes ? a.rows() : a.cols();
  eigen_assert((op_a == Transpose::Yes ? a.cols() : a.rows()) == m);
  eigen_assert((op_b == Transpose::Yes ? b.cols() : b.rows()) == k);
  eigen_assert((op_b == Transpose::Yes ? b.rows() : b.cols()) == n);
  if (m == 0 || n == 0) return;
  const Index lda = std::max<Index>(1, a.cols()), ldb = std::max<Index>(1, b.cols());  // BLAS rejects 0
  const bool by_rows = m >= n;
  const Index extent = by_rows ? m : n;
  detail::product_slab<T>(m, n, k, a.data(), lda, op_a, b.data(), ldb, op_b, c.data(), accumulate, by_rows,
                          extent * part / parts, extent * (part + 1) / parts, rounding, store);
}

// c = op_a(a) · op_b(b), or c += … when accumulate. Operands are row-major, contiguous Eigen
// matrices or maps whose shapes the caller has checked (Layer::check_inputs).
// epilogue(row_begin, row_end) runs on whole finished rows of c, each row once, inside the
// product's parallel region: on a row slab right after the thread that computed it, on column
// slabs after a barrier with the rows shared out. Dense adds its bias and applies its activation
// there: one fork per layer instead of two, on rows still in that core's cache. `store` (bias and
// relu) is done before it, by each slab on its own (as the values are written, on fastdense's
// own kernels): a Dense layer with a relu or no activation needs no epilogue at all.
template <typename C, typename A, typename B, typename Epilogue = NoEpilogue,
          typename T = typename std::decay_t<C>::Scalar>
void multiply(C&& c, const A& a, Transpose op_a, const B& b, Transpose op_b, bool accumulate = false,
              const Epilogue& epilogue = Epilogue{}, OperandRounding rounding = OperandRounding::None,
              const BiasRelu<T>& store = {}) {
  const Index m = c.rows(), n = c.cols();
  const Index k = op_a == Transpose::Yes ? a.rows() : a.cols();
  if (m == 0 || n == 0) return;
  // Each OpenMP thread multiplies one slab of C (rows of op(A), or columns of op(B) when C is
  // wide) single-threaded: one pool, OpenMP's, for the whole engine.
#ifdef _OPENMP
  const int threads = detail::product_threads(m, k, n);
  if (threads > 1) {
    in_team(threads, [&](Index part, Index parts) {
      multiply_part(c, a, op_a, b, op_b, accumulate, part, parts, rounding, store);
      if constexpr (!std::is_same_v<Epilogue, NoEpilogue>) {
        if (m < n) {  // column slabs: every row is finished only when every thread is
#pragma omp barrier
        }
        epilogue(m * part / parts, m * (part + 1) / parts);
      }
    });
    return;
  }
#endif
  multiply_part(c, a, op_a, b, op_b, accumulate, 0, 1, rounding, store);
  epilogue(0, m);
}

}  // namespace fd
