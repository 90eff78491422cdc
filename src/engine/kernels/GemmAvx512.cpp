// The AVX-512 float32 product (GemmAvx512.h), in the usual three-level blocking: a block of op(B)
// (at most kKc deep, column_slice() wide) is packed into panels kNr columns wide, and a
// register-blocked microkernel multiplies kMr rows of op(A) by one B panel into a kMr x kNr tile
// of C held in 24 ZMM registers. A PackedB holds every panel at the whole depth instead, so that
// any block is a set of panel slices and predict's threads can pack it together. op(A) is read in
// place (the rows of a row-major A, or the depths of a transposed one) except for wide blocks of
// a transposed A, packed into panels kMr rows high. The loops keep one A panel in L1 while the B
// panels of the block stream past it from L2. Packing reads either orientation of B, so the four
// transpose cases share one kernel.
//
// Nothing from the standard library or Eigen is instantiated inside the AVX-512 functions: an
// inline template compiled here with AVX-512 enabled could be the copy the linker keeps for the
// whole module, and then run on a CPU without it. The kernels are internal to this file.
#include "GemmAvx512.h"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

#include "../lowp/Dispatch.h"

#define FD_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

namespace fd::kernels {

namespace {

using Index = std::ptrdiff_t;

// Tile of C in registers: kMr rows x two 16-float vectors (24 accumulators, 2 B vectors and a
// broadcast of A: 27 of the 32 ZMM registers).
constexpr int kMr = 12;
constexpr int kNr = 32;
// Most depth of a block: an A panel (kMr x kKc floats, 12 KB) stays in the 48 KB L1 while the B
// panels (kKc x kNr floats, 32 KB each) stream past it. depth_slice() splits k evenly.
constexpr Index kKc = 256;
// Rows of a packed A block (kMc x kKc floats, 144 KB): it stays in the core's 2 MB L2.
constexpr Index kMc = 12 * kMr;
// Most columns of a B block (kKc x kNc floats, 1 MB), and the fewest column_slice() narrows it to.
constexpr Index kNc = 1024;
constexpr Index kMinNc = 16 * kNr;
// Floats of L2 that a block of B and the slab of C it updates may fill together (1.5 MB of the
// 2 MB): C's rows then stay in L2 from one depth block to the next (see column_slice()).
constexpr Index kL2BlockFloats = 6 * 65536;
// The microkernel prefetches its B panel this many floats (8 depths, 1 KB) ahead into L1: the
// panels stream from L2 (or, on a block's first pass, from L3), and the hardware prefetchers
// restart at each panel. Measured (Sapphire Rapids, CPU time, alternating builds, under load): one
// thread's 512 x 4096 x 4096 products with B packed 156 -> 165 GFLOP/s (median of 5); the wide
// model's predict +4%, its training +2-3%. 4 and 12 depths ahead, a second prefetch into L2 at 64
// depths, slice-major PackedB panels, A packed into panels, a 14 x 32 tile: no better.
constexpr Index kPrefetchB = 8 * kNr;
// A row-major B is read in place, not packed, by products of at most this many rows (see gemm()).
constexpr Index kBInPlaceRows = 48;
// With a transposed A, a row-major B of at most this many floats (it fits in L1 beside the rest) is
// read in place too: a layer's weight gradient Xᵀ dZ at a small batch (see gemm()).
constexpr Index kBInPlaceFloats = 8192;
// A transposed A is packed for blocks at least this wide (see gemm()).
constexpr Index kPackTransposedACols = 128;

// A thread's packing buffers, grown as needed and kept for the thread's life (one allocation per
// thread, not per product).
struct Buffer {
  float* data = nullptr;
  size_t capacity = 0;
  float* reserve(size_t floats) {
    if (floats > capacity) {
      std::free(data);
      data = static_cast<float*>(std::aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64));
      if (!data) std::abort();
      capacity = floats;
    }
    return data;
  }
  ~Buffer() { std::free(data); }
};

Buffer& a_buffer() {
  thread_local Buffer buffer;
  return buffer;
}
Buffer& b_buffer() {
  thread_local Buffer buffer;
  return buffer;
}

inline __mmask16 lanes(Index count) {  // the first min(count, 16) lanes of a vector
  return count >= 16 ? __mmask16(0xFFFF) : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1);
}

// x rounded to the nearest bfloat16 (ties to even), as float32: lowp/Bfloat16.h's round_to_bf16
// on 16 lanes, NaN made quiet and subnormals signed zeros as there (the emulated bf16 product
// rounds its operands while packing them).
FD_AVX512 inline __m512 round_to_bf16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x), high = _mm512_set1_epi32(int(0xffff0000u));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_and_si512(_mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), high);
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_and_si512(u, high), _mm512_set1_epi32(0x00400000)));
  const __mmask16 no_exponent = _mm512_testn_epi32_mask(u, _mm512_set1_epi32(0x7f800000));
  r = _mm512_mask_mov_epi32(r, no_exponent, _mm512_and_si512(u, _mm512_set1_epi32(int(0x80000000u))));
  return _mm512_castsi512_ps(r);
}
// A packing load: lanes m of p, rounded to bfloat16 when Round (a template argument, so that the
// float32 product's packing has no test per load).
template <bool Round>
FD_AVX512 inline __m512 load_operand(__mmask16 m, const float* p) {
  const __m512 v = _mm512_maskz_loadu_ps(m, p);
  if constexpr (Round) return round_to_bf16(v);
  return v;
}

// out[p * out_step + r] = src[r * ld + p] for r < width, p < depths (<= 16): rows r >= `rows`
// give zeros, only `depths` rows of out are written, each `width` (<= 16) floats wide; with
// Round, the values rounded to bfloat16.
template <bool Round>
FD_AVX512 void transpose_16x16(const float* src, Index ld, Index rows, Index depths, float* out, Index out_step,
                               Index width) {
  const __mmask16 m = lanes(depths), w = lanes(width);
  __m512 r[16], t[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = i < rows ? load_operand<Round>(m, src + i * ld) : _mm512_setzero_ps();
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
    const __m512 d0 = _mm512_shuffle_f32x4(t[s], t[8 + s], 0x88), d8 = _mm512_shuffle_f32x4(t[s], t[8 + s], 0xdd);
    const __m512 d4 = _mm512_shuffle_f32x4(t[4 + s], t[12 + s], 0x88);
    const __m512 d12 = _mm512_shuffle_f32x4(t[4 + s], t[12 + s], 0xdd);
    if (s < depths) _mm512_mask_storeu_ps(out + s * out_step, w, d0);
    if (4 + s < depths) _mm512_mask_storeu_ps(out + (4 + s) * out_step, w, d4);
    if (8 + s < depths) _mm512_mask_storeu_ps(out + (8 + s) * out_step, w, d8);
    if (12 + s < depths) _mm512_mask_storeu_ps(out + (12 + s) * out_step, w, d12);
  }
}

// Columns [col, col + cols) of op(B) over depths [depth, depth + kc) as panels of kNr columns,
// each kc x kNr row-major, the last one padded with zeros (rounded to bfloat16 with Round).
template <bool Round = false>
FD_AVX512 void pack_b(bool trans_b, const float* b, Index ldb, Index depth, Index kc, Index col, Index cols,
                      float* out) {
  for (Index j = 0; j < cols; j += kNr, out += kc * kNr) {
    const Index width = cols - j < kNr ? cols - j : kNr;
    if (!trans_b) {
      const __mmask16 m0 = lanes(width), m1 = lanes(width - 16);
      const float* src = b + depth * ldb + col + j;
      for (Index p = 0; p < kc; ++p, src += ldb) {
        _mm512_store_ps(out + p * kNr, load_operand<Round>(m0, src));
        _mm512_store_ps(out + p * kNr + 16, load_operand<Round>(m1, src + 16));
      }
    } else {  // op(B)(p, j) = b[j * ldb + p]: 16 x 16 blocks transposed through the registers
      for (Index half = 0; half < kNr; half += 16) {
        const Index count = width - half;  // columns of this half that exist (may be <= 0)
        const float* src = b + (col + j + half) * ldb + depth;
        float* dst = out + half;
        Index p = 0;
        for (; p + 16 <= kc; p += 16) transpose_16x16<Round>(src + p, ldb, count, 16, dst + p * kNr, kNr, 16);
        if (p < kc) transpose_16x16<Round>(src + p, ldb, count, kc - p, dst + p * kNr, kNr, 16);
      }
    }
  }
}

// Rows [row, row + rows) of a transposed A (op(A)(i, p) = a[p * lda + i]) over depths
// [depth, depth + kc) as panels of kMr rows (the last one as high as the rows left), each
// kc x height with the rows of one depth side by side (rounded to bfloat16 with Round). An A that
// is not transposed is read in place (its rows are already the streams the microkernel
// broadcasts from) unless its values must be rounded: pack_rows_a.
template <bool Round = false>
FD_AVX512 void pack_transposed_a(const float* a, Index lda, Index row, Index rows, Index depth, Index kc, float* out) {
  for (Index i = 0; i < rows; i += kMr) {
    const Index height = rows - i < kMr ? rows - i : kMr;
    const __mmask16 m = lanes(height);
    const float* src = a + depth * lda + row + i;
    for (Index p = 0; p < kc; ++p, src += lda, out += height) _mm512_mask_storeu_ps(out, m, load_operand<Round>(m, src));
  }
}

// Rows [row, row + rows) of a row-major A over depths [depth, depth + kc) into the same panels,
// rounded to bfloat16 (the emulated bf16 product; a float32 A is read in place).
FD_AVX512 void pack_rows_a(const float* a, Index lda, Index row, Index rows, Index depth, Index kc, float* out) {
  for (Index i = 0; i < rows; i += kMr, out += kc * kMr) {
    const Index height = rows - i < kMr ? rows - i : kMr;
    const float* src = a + (row + i) * lda + depth;
    for (Index p = 0; p < kc; p += 16)
      transpose_16x16<true>(src + p, lda, height, kc - p < 16 ? kc - p : 16, out + p * height, height, height);
  }
}

// Where the microkernel reads A(i, p), i < Mr, p < kc: a packed panel (pa[p * Mr + i]), the rows
// of a row-major A in place (pa[i * stride + p]), or a transposed A in place
// (pa[p * stride + i]). Compile-time, so that the packed and transposed cases keep every
// address a constant offset from one pointer (the row case needs a register per few rows).
enum class ALayout { Packed, Rows, Columns };

// What the microkernel does to its tile's sums before storing them, in this order (each step only
// when its pointer is set, or relu): divide by column_scale[j] * row_scale[i] (the int8 scheme's
// dequantization), add bias[j], max(0, ·). Pointers at the tile's first row and column.
struct TileEpilogue {
  const float* bias = nullptr;
  const float* column_scale = nullptr;
  const float* row_scale = nullptr;
  bool relu = false;
  TileEpilogue at(Index row, Index col) const {
    return {bias ? bias + col : nullptr, column_scale ? column_scale + col : nullptr,
            row_scale ? row_scale + row : nullptr, relu};
  }
};

// C[0..Mr) x [0..16 Nv) (columns past `cols` untouched) = (or +=) A · B panel over kc depths,
// then the epilogue in the same store (the caller passes one on the last depth block only).
// Nv = 1 for the last panel when it is at most 16 columns wide (a 10-unit output layer): half
// the work of a masked Nv = 2. The B panel is packed (kNr floats a depth, aligned), or with
// BInPlace the columns of a row-major B read where they are (b_step floats a depth).
template <ALayout Layout, bool BInPlace, int Mr, int Nv>
FD_AVX512 void microkernel(Index kc, const float* pa, Index stride, const float* pb, Index b_step, float* c, Index ldc,
                           Index cols, bool overwrite, TileEpilogue epilogue) {
  const Index row_step = Layout == ALayout::Rows ? stride : 1;
  const Index depth_step = Layout == ALayout::Packed ? Mr : Layout == ALayout::Rows ? 1 : stride;
  const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
  __m512 lo[Mr], hi[Mr];
#pragma GCC unroll 12
  for (int i = 0; i < Mr; ++i) lo[i] = hi[i] = _mm512_setzero_ps();
  for (Index p = 0; p < kc; ++p, pa += depth_step, pb += BInPlace ? b_step : kNr) {
    if (!BInPlace) {
      _mm_prefetch(reinterpret_cast<const char*>(pb + kPrefetchB), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(pb + kPrefetchB + 16), _MM_HINT_T0);
    }
    const __m512 b0 = BInPlace ? _mm512_maskz_loadu_ps(m0, pb) : _mm512_load_ps(pb);
    const __m512 b1 = Nv == 1 ? b0 : BInPlace ? _mm512_maskz_loadu_ps(m1, pb + 16) : _mm512_load_ps(pb + 16);
#pragma GCC unroll 12
    for (int i = 0; i < Mr; ++i) {
      const __m512 ai = _mm512_set1_ps(pa[i * row_step]);
      lo[i] = _mm512_fmadd_ps(ai, b0, lo[i]);
      if (Nv == 2) hi[i] = _mm512_fmadd_ps(ai, b1, hi[i]);
    }
  }
  const float* bias = epilogue.bias;
  const float* column_scale = epilogue.column_scale;
  const __m512 zero = _mm512_setzero_ps();
  const __m512 bias_lo = bias ? _mm512_maskz_loadu_ps(m0, bias) : zero;
  const __m512 bias_hi = bias && Nv == 2 ? _mm512_maskz_loadu_ps(m1, bias + 16) : zero;
  const __m512 scale_lo = column_scale ? _mm512_maskz_loadu_ps(m0, column_scale) : zero;
  const __m512 scale_hi = column_scale && Nv == 2 ? _mm512_maskz_loadu_ps(m1, column_scale + 16) : zero;
#pragma GCC unroll 12
  for (int i = 0; i < Mr; ++i) {
    float* row = c + i * ldc;
    if (!overwrite) {
      lo[i] = _mm512_add_ps(lo[i], _mm512_maskz_loadu_ps(m0, row));
      if (Nv == 2) hi[i] = _mm512_add_ps(hi[i], _mm512_maskz_loadu_ps(m1, row + 16));
    }
    if (column_scale) {  // sum / (column_scale * row_scale), rounded as QuantizedDense's scalar division
      const __m512 row_scale = _mm512_set1_ps(epilogue.row_scale[i]);
      lo[i] = _mm512_div_ps(lo[i], _mm512_mul_ps(scale_lo, row_scale));
      if (Nv == 2) hi[i] = _mm512_div_ps(hi[i], _mm512_mul_ps(scale_hi, row_scale));
    }
    if (bias) {  // the sum first, then the bias: the order of Dense's separate pass, so the same bits
      lo[i] = _mm512_add_ps(lo[i], bias_lo);
      if (Nv == 2) hi[i] = _mm512_add_ps(hi[i], bias_hi);
    }
    if (epilogue.relu) {  // max(0, z) returns z when z is NaN, as Eigen's z.max(0) in Activation.cpp does
      lo[i] = _mm512_max_ps(zero, lo[i]);
      if (Nv == 2) hi[i] = _mm512_max_ps(zero, hi[i]);
    }
    _mm512_mask_storeu_ps(row, m0, lo[i]);
    if (Nv == 2) _mm512_mask_storeu_ps(row + 16, m1, hi[i]);
  }
}

using Microkernel = void (*)(Index, const float*, Index, const float*, Index, float*, Index, Index, bool, TileEpilogue);

// By panel height (the last panel of a block may be lower than kMr).
template <ALayout L, bool I, int Nv>
constexpr Microkernel kByHeight[kMr + 1] = {
    nullptr,
    microkernel<L, I, 1, Nv>,  microkernel<L, I, 2, Nv>,  microkernel<L, I, 3, Nv>,  microkernel<L, I, 4, Nv>,
    microkernel<L, I, 5, Nv>,  microkernel<L, I, 6, Nv>,  microkernel<L, I, 7, Nv>,  microkernel<L, I, 8, Nv>,
    microkernel<L, I, 9, Nv>,  microkernel<L, I, 10, Nv>, microkernel<L, I, 11, Nv>, microkernel<L, I, 12, Nv>};

// A block of C (mc x nc) from A's rows (in `Layout`) and B's block, packed (b_step = the floats
// from one panel to the next) or read in place (b_step = its row stride): each A panel stays in
// L1 while the B panels stream past it.
template <ALayout Layout, bool BInPlace>
FD_AVX512 void run_block(Index mc, Index nc, Index kc, const float* a, Index stride, const float* b, Index b_step,
                         float* c, Index ldc, bool overwrite, const TileEpilogue& epilogue = {}) {
  for (Index ir = 0; ir < mc; ir += kMr) {
    const Index height = mc - ir < kMr ? mc - ir : kMr;
    const Microkernel wide = kByHeight<Layout, BInPlace, 2>[height], narrow = kByHeight<Layout, BInPlace, 1>[height];
    const float* pa = Layout == ALayout::Packed ? a + ir * kc : Layout == ALayout::Rows ? a + ir * stride : a + ir;
    for (Index jr = 0; jr < nc; jr += kNr) {
      const Index cols = nc - jr < kNr ? nc - jr : kNr;
      const float* pb = BInPlace ? b + jr : b + (jr / kNr) * b_step;
      (cols > 16 ? wide : narrow)(kc, pa, stride, pb, b_step, c + ir * ldc + jr, ldc, cols, overwrite,
                                  epilogue.at(ir, jr));
    }
  }
}

// Floats of one packed block of op(B): kc depths x nc columns rounded up to whole panels.
inline Index packed_block_size(Index kc, Index nc) { return kc * ((nc + kNr - 1) / kNr) * kNr; }

// The depth of every block but the last: k split evenly into blocks of at most kKc (784 as four
// of 196, not three of 256 and a 16-deep block that reloads its C tiles for 16 products).
inline Index depth_slice(Index k) {
  const Index blocks = (k + kKc - 1) / kKc;
  return (k + blocks - 1) / blocks;
}

// The width of the column blocks of a product of m rows: kNc, narrowed (to no less than kMinNc)
// when k takes several depth blocks and a B block and the m x nc slab of C it updates then fit in
// L2 together: C's rows are still in L2 when the next depth block adds to them, instead of coming
// back from L3 once per depth block (a 512-row slab of 4096 x 4096, B packed: 1024 columns
// measured 3-5% slower than 512, 2048 columns ~18% slower). Taller slabs keep kNc: narrower
// blocks would not keep C in L2 either, and re-read A more often (2048 x 4096 x 512 with a
// transposed A: 128 columns measured 26% slower).
inline Index column_slice(Index m, Index k, Index kc) {
  if (k <= kc) return kNc;
  const Index fit = kL2BlockFloats / (m + kc) / kNr * kNr;
  return fit < kMinNc ? kNc : fit > kNc ? kNc : fit;
}

// The product over blocks of op(B): slices of packed_b's whole-depth panels (PackedB) when not
// null, else each block packed here into the thread's buffer as it is reached.
FD_AVX512 void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, const float* a, Index lda, const float* b,
                    Index ldb, const float* packed_b, bool accumulate, float* c, Index ldc,
                    const ProductEpilogue& epilogue = {}, bool round_operands = false) {
  if (k == 0) {  // an empty sum: C = 0, or C unchanged; then the epilogue
    for (Index i = 0; i < m; ++i) {
      float* row = c + i * ldc;
      for (Index j = 0; j < n; ++j) {
        float z = accumulate ? row[j] : 0.0f;
        if (epilogue.column_scale) z /= epilogue.column_scale[j] * epilogue.row_scale[i];
        if (epilogue.bias) z += epilogue.bias[j];
        row[j] = epilogue.relu && !(z >= 0.0f) && z == z ? 0.0f : z;  // NaN stays NaN, as below
      }
    }
    return;
  }
  const Index slice = depth_slice(k), columns = column_slice(m, k, slice);
  const Index block_cols = n < columns ? n : columns, block_depth = k < slice ? k : slice;
  const Index block_rows = m < kMc ? m : kMc;
  // A transposed A is read in place too when the block is narrow; a wide block reuses each panel
  // often enough to pay for packing it into contiguous depths (measured: 2048 x 4096 x 512, 1.4x).
  // Operands rounded to bfloat16 are always packed: rounded as they are copied.
  const bool pack_a = round_operands || (trans_a && block_cols >= kPackTransposedACols);
  float* packed_a = pack_a ? a_buffer().reserve(size_t(block_depth * block_rows)) : nullptr;
  // A row-major B is read in place by products of few rows: each B panel would serve at most
  // kBInPlaceRows / kMr A panels, too few to pay for packing it; and beside a transposed A read in
  // place, when B is small enough to stay in L1 (the tutorial's weight gradients: 10x32 by 32x64
  // 283 -> 237 ns, one thread).
  const bool b_in_place = !packed_b && !round_operands && !trans_b &&
                          (trans_a ? !pack_a && k * n <= kBInPlaceFloats : m <= kBInPlaceRows);
  float* b_block = packed_b || b_in_place ? nullptr : b_buffer().reserve(size_t(packed_block_size(block_depth, block_cols)));
  for (Index jc = 0; jc < n; jc += columns) {
    const Index nc = n - jc < columns ? n - jc : columns;
    for (Index pc = 0; pc < k; pc += slice) {
      const Index kc = k - pc < slice ? k - pc : slice;
      const bool overwrite = pc == 0 && !accumulate;
      const bool last = pc + kc == k;  // the epilogue runs in this depth block's stores
      // The block's epilogue, at row 0 and column jc (run_block moves it to each tile).
      const TileEpilogue tile =
          last ? TileEpilogue{epilogue.bias, epilogue.column_scale, epilogue.row_scale, epilogue.relu}.at(0, jc)
               : TileEpilogue{};
      const float* block = b_block;
      Index panel_step = kc * kNr;  // floats from one B panel of the block to the next
      if (packed_b) {  // panel jc / kNr of the whole-depth panels, from depth pc
        block = packed_b + jc * k + pc * kNr;
        panel_step = k * kNr;
      } else if (!b_in_place) {
        if (round_operands)
          pack_b<true>(trans_b, b, ldb, pc, kc, jc, nc, b_block);
        else
          pack_b(trans_b, b, ldb, pc, kc, jc, nc, b_block);
      }
      for (Index ic = 0; ic < m; ic += kMc) {
        const Index mc = m - ic < kMc ? m - ic : kMc;
        float* c_block = c + ic * ldc + jc;
        if (pack_a) {
          if (trans_a && round_operands)
            pack_transposed_a<true>(a, lda, ic, mc, pc, kc, packed_a);
          else if (trans_a)
            pack_transposed_a(a, lda, ic, mc, pc, kc, packed_a);
          else
            pack_rows_a(a, lda, ic, mc, pc, kc, packed_a);
          run_block<ALayout::Packed, false>(mc, nc, kc, packed_a, 0, block, panel_step, c_block, ldc, overwrite,
                                            tile.at(ic, 0));
        } else if (trans_a && b_in_place) {
          run_block<ALayout::Columns, true>(mc, nc, kc, a + pc * lda + ic, lda, b + pc * ldb + jc, ldb, c_block, ldc,
                                            overwrite, tile.at(ic, 0));
        } else if (trans_a) {
          run_block<ALayout::Columns, false>(mc, nc, kc, a + pc * lda + ic, lda, block, panel_step, c_block, ldc,
                                             overwrite, tile.at(ic, 0));
        } else if (b_in_place) {
          run_block<ALayout::Rows, true>(mc, nc, kc, a + ic * lda + pc, lda, b + pc * ldb + jc, ldb, c_block, ldc,
                                         overwrite, tile.at(ic, 0));
        } else {
          run_block<ALayout::Rows, false>(mc, nc, kc, a + ic * lda + pc, lda, block, panel_step, c_block, ldc,
                                          overwrite, tile.at(ic, 0));
        }
      }
    }
  }
}

}  // namespace

bool avx512_gemm_supported() {
  const auto& cpu = lowp::cpu_features();  // AVX-512F/BW with the OS saving the ZMM state
  static const bool supported =
      cpu.avx512f && cpu.avx512bw && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  return supported;
}

void sgemm_avx512(bool trans_a, bool trans_b, Index m, Index n, Index k, const float* a, Index lda, const float* b,
                  Index ldb, bool accumulate, float* c, Index ldc, const ProductEpilogue& epilogue) {
  if (m <= 0 || n <= 0) return;
  gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, nullptr, accumulate, c, ldc, epilogue);
}

void sgemm_avx512_bf16_operands(bool trans_a, bool trans_b, Index m, Index n, Index k, const float* a, Index lda,
                                const float* b, Index ldb, bool accumulate, float* c, Index ldc,
                                const ProductEpilogue& epilogue) {
  if (m <= 0 || n <= 0) return;
  gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, nullptr, accumulate, c, ldc, epilogue, true);
}

PackedB::~PackedB() { std::free(data_); }

void PackedB::pack(bool trans_b, const float* b, Index ldb, Index k, Index n) {
  reserve(k, n);
  pack_part(trans_b, b, ldb, 0, 1);
}

void PackedB::reserve(Index k, Index n) {
  clear();
  if (k <= 0 || n <= 0) return;
  const size_t floats = size_t(k * ((n + kNr - 1) / kNr) * kNr);  // whole panels, each k x kNr
  if (floats > capacity_) {
    std::free(data_);
    // Not on 2 MB pages: with madvise(MADV_HUGEPAGE) the first predict call of the wide model (which
    // faults in its 96 MB of packs) measured 15-20% slower than with 4 KB pages (transparent huge
    // pages in madvise mode; the huge-page faults are the likely cost), and later calls no faster
    // beyond the noise (glibc's hugetlb tunable, process CPU time, three alternating pairs).
    data_ = static_cast<float*>(std::aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64));
    if (!data_) std::abort();
    capacity_ = floats;
  }
  k_ = k;
  n_ = n;
}

void PackedB::pack_part(bool trans_b, const float* b, Index ldb, int part, int parts) {
  if (empty()) return;
  const Index panels = (n_ + kNr - 1) / kNr, first = panels * part / parts, last = panels * (part + 1) / parts;
  if (first == last) return;
  const Index col = first * kNr, cols = (last * kNr < n_ ? last * kNr : n_) - col;
  pack_b(trans_b, b, ldb, 0, k_, col, cols, data_ + col * k_);
}

void sgemm_avx512_packed(bool trans_a, Index m, const float* a, Index lda, const PackedB& b, bool accumulate,
                         float* c, Index ldc, const ProductEpilogue& epilogue) {
  if (m <= 0 || b.empty()) return;
  gemm(trans_a, false, m, b.cols(), b.depth(), a, lda, nullptr, 0, b.data(), accumulate, c, ldc, epilogue);
}

const char* avx512_gemm_blocking() { return "12x32"; }

}  // namespace fd::kernels
