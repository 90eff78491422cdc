// Eigen types shared by the whole engine. Everything is row-major so a C-contiguous
// numpy array of shape (rows, cols) maps onto a Matrix without a copy.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "Error.h"
#include "FlushDenormals.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fd {

using Index = Eigen::Index;

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
template <typename T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <typename T>
using VectorMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstVectorMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;

// Below this many elements an OpenMP fork costs more than the loop it would split.
constexpr Index kParallelThreshold = 1 << 15;
// Below about a million multiply-adds a matrix product runs faster on one thread than split
// (the fork/join costs more than it saves, and far more when another process holds a core).
constexpr double kParallelProductWork = double(1 << 20);

// The thread count the engine may use (fastdense.set_num_threads); one per core by default.
inline int& engine_threads() {
#ifdef _OPENMP
  static int threads = omp_get_max_threads();
#else
  static int threads = 1;
#endif
  return threads;
}

// Whether a loop or product of `work` elements (multiply-adds for a product) should fork: only
// when it is large enough to pay for the fork, and never on a thread that already runs inside an
// engine-wide parallel region (predict's row split gives each thread a whole slice to itself).
inline bool fork_pays(double work, double threshold = double(kParallelThreshold)) {
#ifdef _OPENMP
  return work >= threshold && engine_threads() > 1 && !omp_in_parallel();
#else
  (void)work, (void)threshold;
  return false;
#endif
}


inline std::string shape_str(Index rows, Index cols) {
  return "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")";
}

// Runs body(i) for i in [0, n), split across OpenMP threads only when `work` elements pay for
// the fork. Work that stays on the calling thread runs outside any parallel region: an
// `omp parallel if (false)` still builds a one-thread team in libgomp (an aligned malloc and
// free, ~270 ns a region measured on the Xeon VM; the tutorial's training step ran two).
template <typename Body>
inline void parallel_for_work(Index n, double work, Body&& body) {
#ifdef _OPENMP
  if (fork_pays(work)) {
#pragma omp parallel
    {
      FlushDenormals flush;  // each worker in the engine's mode (FlushDenormals.h)
#pragma omp for schedule(static)
      for (Index i = 0; i < n; ++i) body(i);
    }
    return;
  }
#else
  (void)work;
#endif
  for (Index i = 0; i < n; ++i) body(i);
}

// Runs body(i) for i in [0, n); splits across OpenMP threads only when n is large enough
// to pay for the fork.
template <typename Body>
inline void parallel_for(Index n, Body&& body) {
  parallel_for_work(n, double(n), body);
}

// Runs body(i) for i in [begin, end), vectorized: `omp simd` promises the compiler that the
// iterations are independent, which it cannot prove for arrays that might overlap.
template <typename Body>
inline void simd_range(Index begin, Index end, const Body& body) {
#ifdef _OPENMP
#pragma omp simd
#endif
  for (Index i = begin; i < end; ++i) body(i);
}

// parallel_for for a body whose iterations each touch only their own elements (the optimizer
// rules), split into one contiguous range per thread and vectorized within it. A plain
// `omp parallel for simd` leaves the body scalar: inside the outlined loop GCC reloads the
// captured pointers on every iteration (Adam's sqrt and division ran one float at a time).
template <typename Body>
inline void elementwise_for(Index n, const Body& body) {
#ifdef _OPENMP
  if (fork_pays(double(n))) {
#pragma omp parallel
    {
      FlushDenormals flush;
      const Index parts = omp_get_num_threads(), part = omp_get_thread_num();
      simd_range(n * part / parts, n * (part + 1) / parts, body);
    }
    return;
  }
#endif
  simd_range(0, n, body);
}

// Runs body(i) for each row i of a (rows, cols) block; forks only when the block has enough
// elements (parallel_for would decide on the row count alone).
template <typename Body>
inline void parallel_rows(Index rows, Index cols, Body&& body) {
  parallel_for_work(rows, double(rows) * double(cols), body);
}

}  // namespace fd

