// The engine's one thread pool, OpenMP's: how many threads it may use, when a loop or product
// is worth a fork, and the loops and teams that fork. Each product runs single-threaded inside
// these teams (MatrixProduct.h), so no second pool (OpenBLAS's) ever starts.
#pragma once

#include <cstddef>

#include "FlushDenormals.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fd {

using Index = std::ptrdiff_t;  // Eigen::Index (Tensor.h): the same type

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

#ifdef _OPENMP
// Runs body(part, parts) on every thread of one OpenMP team of `threads` threads (0: OpenMP's
// default), part = the thread's number, parts = the team's size (which may be smaller than asked).
// Every fork of the engine goes through here, so that every worker computes in the engine's
// floating-point mode (FlushDenormals.h) as the calling thread does. `omp for` and `omp barrier`
// inside body bind to this team.
template <typename Body>
inline void in_team(int threads, Body&& body) {
#pragma omp parallel num_threads(threads > 0 ? threads : omp_get_max_threads())
  {
    FlushDenormals flush;
    body(Index(omp_get_thread_num()), Index(omp_get_num_threads()));
  }
}
#endif

// Runs body(i) for i in [0, n), split across OpenMP threads only when `work` elements pay for
// the fork. Work that stays on the calling thread runs outside any parallel region: an
// `omp parallel if (false)` still builds a one-thread team in libgomp (an aligned malloc and
// free, ~270 ns a region measured on the Xeon VM; the tutorial's training step ran two).
template <typename Body>
inline void parallel_for_work(Index n, double work, Body&& body) {
#ifdef _OPENMP
  if (fork_pays(work)) {
    in_team(0, [&](Index, Index) {
#pragma omp for schedule(static)
      for (Index i = 0; i < n; ++i) body(i);
    });
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
    in_team(0, [&](Index part, Index parts) { simd_range(n * part / parts, n * (part + 1) / parts, body); });
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
