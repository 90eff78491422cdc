// FlushDenormals: while alive, this thread's float arithmetic flushes denormal results to zero
// (FTZ) and reads denormal inputs as zero (DAZ); the thread's previous mode comes back after.
//
// TensorFlow runs its CPU kernels this way (tensorflow/core/platform/denormal.h, a
// ScopedFlushDenormal in its executor and in each thread of its pool), so tf.keras never trains
// or predicts on denormal floats: `tf.constant(1e-39) * 1.0` is 0. The engine does the same, for
// the same numbers as tf.keras and because denormals are slow: once a model nears convergence,
// squared gradients fall below 1.2e-38 and the tutorial's RMSprop step took 2.3x longer
// (10.9 -> 25 us measured on the Xeon VM). Every engine entry (Network's train / evaluate /
// predict) opens one, and so does every worker of every team (Parallel.h's in_team, the
// engine's one way to fork), so worker threads compute in the same mode;
// Python code called back from inside the engine (custom components) runs in it too, as in
// TensorFlow.
#pragma once

#if defined(__x86_64__) || defined(_M_X64) || defined(__SSE2__)
#include <xmmintrin.h>
#define FASTDENSE_HAS_MXCSR 1
#endif

namespace fd {

class FlushDenormals {
 public:
#ifdef FASTDENSE_HAS_MXCSR
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
#else
  FlushDenormals() = default;  // other CPUs keep their default mode
#endif
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
#ifdef FASTDENSE_HAS_MXCSR
  static constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;  // MXCSR bits 15 and 6
  unsigned saved_;
#endif
};

}  // namespace fd
