#include "Quantize.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "Dispatch.h"

namespace fd::lowp {

namespace {

constexpr float kEpsilon = 1e-7f;
// Clamped first (to the integers ±127, so clamping commutes with rounding), then rounded half to
// even by adding and subtracting 1.5 · 2^23, exact for |v| <= 127.
constexpr float kRoundingShift = 12582912.0f;

float quantize_row_portable(const float* in, Index n, std::int8_t* out, int offset) {
  float max_abs = 0.0f;
  for (Index d = 0; d < n; ++d) max_abs = std::max(max_abs, std::fabs(in[d]));
  const float scale = 127.0f / (max_abs + kEpsilon);
  for (Index d = 0; d < n; ++d) {
    const float v = std::min(127.0f, std::max(-127.0f, in[d] * scale));
    out[d] = std::int8_t(std::uint8_t(int((v + kRoundingShift) - kRoundingShift) + offset));
  }
  return scale;
}

__attribute__((target("avx512f,avx512bw"))) float quantize_row_avx512(const float* in, Index n, std::int8_t* out,
                                                                        int offset) {
  __m512 max16 = _mm512_setzero_ps();
  Index d = 0;
  for (; d + 16 <= n; d += 16) max16 = _mm512_max_ps(max16, _mm512_abs_ps(_mm512_loadu_ps(in + d)));
  float max_abs = _mm512_reduce_max_ps(max16);
  for (Index e = d; e < n; ++e) max_abs = std::max(max_abs, std::fabs(in[e]));
  const float scale = 127.0f / (max_abs + kEpsilon);
  const __m512 scale16 = _mm512_set1_ps(scale), hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
  const __m512i offset16 = _mm512_set1_epi32(offset);
  for (d = 0; d + 16 <= n; d += 16) {
    const __m512 v = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_mul_ps(_mm512_loadu_ps(in + d), scale16)));
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), offset16);  // MXCSR's default: nearest even
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + d), _mm512_cvtepi32_epi8(q));
  }
  for (; d < n; ++d) {
    const float v = std::min(127.0f, std::max(-127.0f, in[d] * scale));
    out[d] = std::int8_t(std::uint8_t(int((v + kRoundingShift) - kRoundingShift) + offset));
  }
  return scale;
}

}  // namespace

float quantize_row(const float* in, Index n, std::int8_t* out, int offset) {
  return cpu_features().avx512bw ? quantize_row_avx512(in, n, out, offset) : quantize_row_portable(in, n, out, offset);
}

}  // namespace fd::lowp
