// The engine's one matrix product, C = op(A) op(B) (or C += …). Dense spends nearly all of its
// time here, so it goes to OpenBLAS (the scipy-openblas32 wheel) when the build found it: on the
// workload shapes OpenBLAS measured 1.4-2x Eigen's product (bench/gemm_shapes.cpp). Eigen's
// product is the fallback, and also runs the tiny products OpenBLAS's per-call set-up dominates.
#pragma once

#include <algorithm>
#include <string>
#include <type_traits>

#include "Tensor.h"

#ifdef FASTDENSE_OPENBLAS
#include <cblas.h>  // scipy-openblas32's header: every symbol carries the scipy_ prefix
#endif

namespace fd {

enum class Transpose { No, Yes };

// Below this many multiply-adds Eigen's product beats OpenBLAS's fixed per-call cost (buffer
// allocation, packing): the tutorial's 64→1 layer. Measured in one process, alternating: the
// 10-64-64-1 training step 6% faster; moving the bar to 32×64×64 products made it slower.
constexpr double kTinyProductWork = double(1 << 15);

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

// c = op_a(a) · op_b(b), or c += … when accumulate. Operands are row-major, contiguous Eigen
// matrices or maps whose shapes the caller has checked (Layer::check_inputs).
template <typename C, typename A, typename B>
void multiply(C&& c, const A& a, Transpose op_a, const B& b, Transpose op_b, bool accumulate = false) {
  const Index m = c.rows(), n = c.cols();
  const Index k = op_a == Transpose::Yes ? a.rows() : a.cols();
  eigen_assert((op_a == Transpose::Yes ? a.cols() : a.rows()) == m);
  eigen_assert((op_b == Transpose::Yes ? b.cols() : b.rows()) == k);
  eigen_assert((op_b == Transpose::Yes ? b.rows() : b.cols()) == n);
  if (m == 0 || n == 0) return;
  const int threads = detail::product_threads(m, k, n);
#ifdef FASTDENSE_OPENBLAS
  if (double(m) * double(n) * double(k) >= kTinyProductWork) {
    using T = typename std::decay_t<C>::Scalar;
    // OpenBLAS's own thread pool stays idle: a second pool spinning beside OpenMP's cost a third of
    // the MNIST-shaped training step on 2 cores. Instead each OpenMP thread multiplies one slab of C
    // (rows of op(A), or columns of op(B) when C is wide) with single-threaded OpenBLAS.
    scipy_openblas_set_num_threads(1);
    const auto op = [](Transpose t) { return t == Transpose::Yes ? CblasTrans : CblasNoTrans; };
    const Index lda = std::max<Index>(1, a.cols()), ldb = std::max<Index>(1, b.cols());  // BLAS rejects 0
    const T beta = accumulate ? T(1) : T(0);
    const bool split_rows = m >= n;
    const auto slab = [&](Index begin, Index end) {
      if (split_rows) {
        const T* a_rows = a.data() + (op_a == Transpose::Yes ? begin : begin * lda);
        detail::blas_gemm(op(op_a), op(op_b), end - begin, n, k, a_rows, lda, b.data(), ldb, beta,
                          c.data() + begin * n, n);
      } else {
        const T* b_cols = b.data() + (op_b == Transpose::Yes ? begin * ldb : begin);
        detail::blas_gemm(op(op_a), op(op_b), m, end - begin, k, a.data(), lda, b_cols, ldb, beta,
                          c.data() + begin, n);
      }
    };
    const Index extent = split_rows ? m : n;
#ifdef _OPENMP
    if (threads > 1) {
#pragma omp parallel num_threads(threads)
      {
        const Index parts = omp_get_num_threads(), part = omp_get_thread_num();
        slab(extent * part / parts, extent * (part + 1) / parts);
      }
      return;
    }
#endif
    slab(0, extent);
    return;
  }
#endif
  Eigen::setNbThreads(threads);
  detail::eigen_product(c, a, op_a, b, op_b, accumulate);
}

}  // namespace fd
