// bfloat16: the upper 16 bits of a float32. Rounding is round-to-nearest-even on the dropped 16
// bits, as the hardware's VCVTNEPS2BF16 does, and subnormal inputs become signed zero as they do
// there, so the emulated path and the AVX512-BF16/AMX paths see the same bf16 operands.
#pragma once

#include <cstdint>
#include <cstring>

#include "../Tensor.h"

namespace fd::lowp {

using bf16_t = std::uint16_t;

inline bf16_t float_to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16_t((u >> 16) | 0x40u);  // NaN stays a quiet NaN
  if ((u & 0x7f800000u) == 0) return bf16_t((u >> 16) & 0x8000u);           // subnormal -> signed zero
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16_t(u >> 16);
}

inline float bf16_to_float(bf16_t b) {
  const std::uint32_t u = std::uint32_t(b) << 16;
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// x rounded to the nearest bfloat16, returned as float32 (the emulated path's operand): the same
// value as bf16_to_float(float_to_bf16(x)), written without branches so that loops over it
// vectorize (with the branches, rounding ran at a third of a copy's speed).
inline float round_to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  std::uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  r = (u & 0x7fffffffu) > 0x7f800000u ? (u & 0xffff0000u) | 0x00400000u : r;  // NaN stays a quiet NaN
  r = (u & 0x7f800000u) == 0 ? u & 0x80000000u : r;                            // subnormal -> signed zero
  float out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

// dst[i] = bf16(src[i]) for i < n (vectorized when the CPU has AVX512-BF16).
void floats_to_bf16(const float* src, bf16_t* dst, Index n);
// values[i] = round_to_bf16(values[i]) in place, on every thread the engine may use.
void round_floats_to_bf16(float* values, Index n);
// dst[i] = round_to_bf16(src[i]): the copy and the rounding in one pass, on the engine's threads.
void round_floats_to_bf16(const float* src, float* dst, Index n);

}  // namespace fd::lowp
