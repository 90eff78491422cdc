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

float row_scale_portable(const float* in, Index n) {
  float max_abs = 0.0f;
  for (Index d = 0; d < n; ++d) max_abs = std::max(max_abs, std::fabs(in[d]));
  return 127.0f / (max_abs + kEpsilon);
}

// The clamped, rounded value of in * scale (an integer in [-127, 127]).
inline float quantized(float in, float scale) {
  const float v = std::min(127.0f, std::max(-127.0f, in * scale));
  return (v + kRoundingShift) - kRoundingShift;
}

float quantize_row_portable(const float* in, Index n, std::int8_t* out, int offset) {
  const float scale = row_scale_portable(in, n);
  for (Index d = 0; d < n; ++d) out[d] = std::int8_t(std::uint8_t(int(quantized(in[d], scale)) + offset));
  return scale;
}

float quantize_row_portable(const float* in, Index n, float* out) {
  const float scale = row_scale_portable(in, n);
  for (Index d = 0; d < n; ++d) out[d] = quantized(in[d], scale);
  return scale;
}

__attribute__((target("avx512f,avx512bw"))) float row_scale_avx512(const float* in, Index n) {
  __m512 max16 = _mm512_setzero_ps();
  Index d = 0;
  for (; d + 16 <= n; d += 16) max16 = _mm512_max_ps(max16, _mm512_abs_ps(_mm512_loadu_ps(in + d)));
  float max_abs = _mm512_reduce_max_ps(max16);
  for (Index e = d; e < n; ++e) max_abs = std::max(max_abs, std::fabs(in[e]));
  return 127.0f / (max_abs + kEpsilon);
}

__attribute__((target("avx512f,avx512bw"))) float quantize_row_avx512(const float* in, Index n, std::int8_t* out,
                                                                        int offset) {
  const float scale = row_scale_avx512(in, n);
  const __m512 scale16 = _mm512_set1_ps(scale), hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
  const __m512i offset16 = _mm512_set1_epi32(offset);
  Index d = 0;
  for (; d + 16 <= n; d += 16) {
    const __m512 v = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_mul_ps(_mm512_loadu_ps(in + d), scale16)));
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), offset16);  // MXCSR's default: nearest even
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + d), _mm512_cvtepi32_epi8(q));
  }
  for (; d < n; ++d) out[d] = std::int8_t(std::uint8_t(int(quantized(in[d], scale)) + offset));
  return scale;
}

__attribute__((target("avx512f,avx512bw"))) float quantize_row_avx512(const float* in, Index n, float* out) {
  const float scale = row_scale_avx512(in, n);
  const __m512 scale16 = _mm512_set1_ps(scale), hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
  Index d = 0;
  for (; d + 16 <= n; d += 16) {
    const __m512 v = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_mul_ps(_mm512_loadu_ps(in + d), scale16)));
    _mm512_storeu_ps(out + d, _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; d < n; ++d) out[d] = quantized(in[d], scale);
  return scale;
}

}  // namespace

float quantize_row(const float* in, Index n, std::int8_t* out, int offset) {
  return cpu_features().avx512bw ? quantize_row_avx512(in, n, out, offset) : quantize_row_portable(in, n, out, offset);
}

float quantize_row(const float* in, Index n, float* out) {
  return cpu_features().avx512bw ? quantize_row_avx512(in, n, out) : quantize_row_portable(in, n, out);
}

}  // namespace fd::lowp
