// The blocked product (GemmBlocked.h) on AVX2 with FMA: a 6 x 16 tile of C in 12 YMM registers
// (with 2 B vectors and a broadcast of A: 15 of the 16). AVX2 has no mask registers: partial
// vectors load and store through VMASKMOVPS with a lane mask in a vector register, which the
// blocked product uses only at the right edge of C and in packing.
#include <immintrin.h>

#include <cstdlib>
#include <utility>

#include "../lowp/Dispatch.h"
#include "GemmIsa.h"

#define FD_TARGET __attribute__((target("avx2,fma")))

namespace fd::kernels {

namespace {

struct Simd {
  using V = __m256;
  using Mask = __m256i;
  static constexpr Isa kIsa = Isa::Avx2;
  static constexpr const char* kBlocking = "6x16";
  static constexpr int kW = 8, kMr = 6;
  // AVX2 CPUs have 256 KB (Haswell to Skylake clients) to 1 MB (Zen 4) of L2 a core, 512 KB on
  // Zen 2 and 3: a B block and the C slab it updates fill at most 384 KB.
  static constexpr std::ptrdiff_t kL2BlockFloats = 96 * 1024;
  // A B read in place stays in a 32 KB L1 beside the A panel and the C tile up to 16 KB.
  static constexpr std::ptrdiff_t kBInPlaceFloats = 4096;

  static bool supported() {
    static const bool yes = lowp::cpu_features().avx2 && __builtin_cpu_supports("fma");
    return yes;
  }

  // The first min(count, 8) lanes (none for count <= 0): all ones in a lane that is on.
  FD_TARGET static Mask lanes(std::ptrdiff_t count) {
    const int c = count >= 8 ? 8 : count <= 0 ? 0 : int(count);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  FD_TARGET static V zero() { return _mm256_setzero_ps(); }
  FD_TARGET static V set1(float x) { return _mm256_set1_ps(x); }
  FD_TARGET static V load(Mask m, const float* p) { return _mm256_maskload_ps(p, m); }  // off lanes: 0, not read
  FD_TARGET static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  FD_TARGET static V load_aligned(const float* p) { return _mm256_load_ps(p); }
  FD_TARGET static void store(float* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }
  FD_TARGET static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  FD_TARGET static void store_aligned(float* p, V v) { _mm256_store_ps(p, v); }
  FD_TARGET static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  FD_TARGET static V add(V a, V b) { return _mm256_add_ps(a, b); }
  FD_TARGET static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  FD_TARGET static V div(V a, V b) { return _mm256_div_ps(a, b); }
  FD_TARGET static V max(V a, V b) { return _mm256_max_ps(a, b); }  // b when either is NaN

  // x rounded to the nearest bfloat16 (ties to even), as float32: lowp/Bfloat16.h's round_to_bf16
  // on 8 lanes, NaN made quiet and subnormals signed zeros as there.
  FD_TARGET static V round_to_bf16(V x) {
    const __m256i u = _mm256_castps_si256(x), high = _mm256_set1_epi32(int(0xffff0000u));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_and_si256(_mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), high);
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    r = _mm256_blendv_epi8(r, _mm256_or_si256(_mm256_and_si256(u, high), _mm256_set1_epi32(0x00400000)), nan);
    const __m256i no_exponent =
        _mm256_cmpeq_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7f800000)), _mm256_setzero_si256());
    r = _mm256_blendv_epi8(r, _mm256_and_si256(u, _mm256_set1_epi32(int(0x80000000u))), no_exponent);
    return _mm256_castsi256_ps(r);
  }

  // out[p * out_step + r] = src[r * ld + p] for r < width, p < depths (<= 8): rows r >= `rows`
  // give zeros, only `depths` rows of out are written, each `width` (<= 8) floats wide; with
  // Round, the values rounded to bfloat16.
  template <bool Round>
  FD_TARGET static void transpose(const float* src, std::ptrdiff_t ld, std::ptrdiff_t rows, std::ptrdiff_t depths,
                                  float* out, std::ptrdiff_t out_step, std::ptrdiff_t width) {
    const Mask m = lanes(depths), w = lanes(width);
    V r[8], t[8], s[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      r[i] = i < rows ? (depths >= 8 ? loadu(src + i * ld) : load(m, src + i * ld)) : zero();
      if constexpr (Round) r[i] = round_to_bf16(r[i]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {  // t[i]: depths 0, 1 | 4, 5 of rows i, i+1; t[i+1]: 2, 3 | 6, 7
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 2
    for (int q = 0; q < 8; q += 4) {  // s[q + d]: depth d | d + 4 of rows q..q+3
      s[q] = _mm256_shuffle_ps(t[q], t[q + 2], 0x44);
      s[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], 0xEE);
      s[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0x44);
      s[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int d = 0; d < 4; ++d) {  // depth d and d + 4 of all eight rows
      const V low = _mm256_permute2f128_ps(s[d], s[4 + d], 0x20), high = _mm256_permute2f128_ps(s[d], s[4 + d], 0x31);
      if (width >= 8) {
        if (d < depths) storeu(out + d * out_step, low);
        if (4 + d < depths) storeu(out + (4 + d) * out_step, high);
      } else {
        if (d < depths) store(out + d * out_step, w, low);
        if (4 + d < depths) store(out + (4 + d) * out_step, w, high);
      }
    }
  }
};

}  // namespace

#include "GemmBlocked.h"

}  // namespace fd::kernels
