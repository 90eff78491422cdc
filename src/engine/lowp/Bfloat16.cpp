#include "Bfloat16.h"

#include <immintrin.h>

#include <algorithm>

#include "Dispatch.h"

namespace fd::lowp {

namespace {

__attribute__((target("avx512f,avx512bw,avx512bf16"))) void floats_to_bf16_avx512(const float* src, bf16_t* dst,
                                                                                     Index n) {
  Index i = 0;
  for (; i + 32 <= n; i += 32) {
    // VCVTNE2PS2BF16 rounds to nearest even; the first operand fills the upper half.
    const __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
    _mm512_storeu_si512(dst + i, (__m512i)pair);
  }
  for (; i < n; ++i) dst[i] = float_to_bf16(src[i]);
}

}  // namespace

void floats_to_bf16(const float* src, bf16_t* dst, Index n) {
  if (cpu_features().avx512bf16) {
    floats_to_bf16_avx512(src, dst, n);
    return;
  }
  for (Index i = 0; i < n; ++i) dst[i] = float_to_bf16(src[i]);
}

void round_floats_to_bf16(float* values, Index n) { round_floats_to_bf16(values, values, n); }

void round_floats_to_bf16(const float* src, float* dst, Index n) {
  // Blocks across the threads, each a vectorized loop (elementwise_for's per-element body did not vectorize).
  constexpr Index kBlock = Index(1) << 14;
  parallel_for_work((n + kBlock - 1) / kBlock, double(n), [=](Index block) {
    const Index begin = block * kBlock, end = std::min(n, begin + kBlock);
    simd_range(begin, end, [=](Index i) { dst[i] = round_to_bf16(src[i]); });
  });
}

}  // namespace fd::lowp
