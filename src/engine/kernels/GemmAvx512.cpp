// The blocked product (GemmBlocked.h) on AVX-512 (F/BW/VL with FMA): a 12 x 32 tile of C in 24 ZMM
// registers (with 2 B vectors and a broadcast of A: 27 of the 32), masked loads and stores
// through the mask registers.
#include <immintrin.h>

#include <cstdlib>
#include <utility>

#include "../lowp/Dispatch.h"
#include "GemmIsa.h"

#define FD_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

namespace fd::kernels {

namespace {

struct Simd {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr Isa kIsa = Isa::Avx512;
  static constexpr const char* kBlocking = "12x32";
  static constexpr int kW = 16, kMr = 12;
  // A B block and the C slab it updates fill at most 1.5 MB of L2 (Sapphire Rapids and Skylake-SP
  // servers have 2 MB and 1 MB a core; the blocks were measured on the former).
  static constexpr std::ptrdiff_t kL2BlockFloats = 6 * 65536;
  // A B read in place stays in the 48 KB L1 beside the A panel and the C tile up to 32 KB.
  static constexpr std::ptrdiff_t kBInPlaceFloats = 8192;

  static bool supported() {
    const auto& cpu = lowp::cpu_features();  // AVX-512F/BW with the OS saving the ZMM state
    static const bool yes =
        cpu.avx512f && cpu.avx512bw && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
    return yes;
  }

  // The first min(count, 16) lanes (none for count <= 0).
  FD_TARGET static Mask lanes(std::ptrdiff_t count) {
    return count >= 16 ? Mask(0xFFFF) : count <= 0 ? Mask(0) : Mask((1u << count) - 1);
  }
  FD_TARGET static V zero() { return _mm512_setzero_ps(); }
  FD_TARGET static V set1(float x) { return _mm512_set1_ps(x); }
  FD_TARGET static V load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  FD_TARGET static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  FD_TARGET static V load_aligned(const float* p) { return _mm512_load_ps(p); }
  FD_TARGET static void store(float* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  FD_TARGET static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  FD_TARGET static void store_aligned(float* p, V v) { _mm512_store_ps(p, v); }
  FD_TARGET static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  FD_TARGET static V add(V a, V b) { return _mm512_add_ps(a, b); }
  FD_TARGET static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  FD_TARGET static V div(V a, V b) { return _mm512_div_ps(a, b); }
  FD_TARGET static V max(V a, V b) { return _mm512_max_ps(a, b); }  // b when either is NaN

  // x rounded to the nearest bfloat16 (ties to even), as float32: lowp/Bfloat16.h's round_to_bf16
  // on 16 lanes, NaN made quiet and subnormals signed zeros as there (the emulated bf16 product
  // rounds its operands while packing them).
  FD_TARGET static V round_to_bf16(V x) {
    const __m512i u = _mm512_castps_si512(x), high = _mm512_set1_epi32(int(0xffff0000u));
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_and_si512(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), high);
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_and_si512(u, high), _mm512_set1_epi32(0x00400000)));
    const __mmask16 no_exponent = _mm512_testn_epi32_mask(u, _mm512_set1_epi32(0x7f800000));
    r = _mm512_mask_mov_epi32(r, no_exponent, _mm512_and_si512(u, _mm512_set1_epi32(int(0x80000000u))));
    return _mm512_castsi512_ps(r);
  }

  // out[p * out_step + r] = src[r * ld + p] for r < width, p < depths (<= 16): rows r >= `rows`
  // give zeros, only `depths` rows of out are written, each `width` (<= 16) floats wide; with
  // Round, the values rounded to bfloat16.
  template <bool Round>
  FD_TARGET static void transpose(const float* src, std::ptrdiff_t ld, std::ptrdiff_t rows, std::ptrdiff_t depths,
                                  float* out, std::ptrdiff_t out_step, std::ptrdiff_t width) {
    const Mask m = lanes(depths), w = lanes(width);
    V r[16], t[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      r[i] = i < rows ? load(m, src + i * ld) : zero();
      if constexpr (Round) r[i] = round_to_bf16(r[i]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 16; i += 4) {
      r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
      r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
      r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
      r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    // Now r[4q + s], 128-bit lane l, element e = source row 4q + e at depth 4l + s.
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {
      t[s] = _mm512_shuffle_f32x4(r[s], r[4 + s], 0x88);  // lanes 0, 2 of rows 0-3, then of rows 4-7
      t[4 + s] = _mm512_shuffle_f32x4(r[s], r[4 + s], 0xdd);  // lanes 1, 3
      t[8 + s] = _mm512_shuffle_f32x4(r[8 + s], r[12 + s], 0x88);
      t[12 + s] = _mm512_shuffle_f32x4(r[8 + s], r[12 + s], 0xdd);
    }
#pragma GCC unroll 4
    for (int s = 0; s < 4; ++s) {
      const V d0 = _mm512_shuffle_f32x4(t[s], t[8 + s], 0x88), d8 = _mm512_shuffle_f32x4(t[s], t[8 + s], 0xdd);
      const V d4 = _mm512_shuffle_f32x4(t[4 + s], t[12 + s], 0x88);
      const V d12 = _mm512_shuffle_f32x4(t[4 + s], t[12 + s], 0xdd);
      if (s < depths) store(out + s * out_step, w, d0);
      if (4 + s < depths) store(out + (4 + s) * out_step, w, d4);
      if (8 + s < depths) store(out + (8 + s) * out_step, w, d8);
      if (12 + s < depths) store(out + (12 + s) * out_step, w, d12);
    }
  }
};

}  // namespace

#include "GemmBlocked.h"

}  // namespace fd::kernels
