#include "GemmBf16.h"

#include <immintrin.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "../MatrixProduct.h"
#include "AlignedBuffer.h"
#include "Bfloat16.h"
#include "Blocking.h"
#include "TileConfig.h"

namespace fd::lowp {

namespace {

constexpr Index kDepthStep = 32;  // bf16 values per AMX tile row: k is padded to a multiple of this
constexpr Index kRowGroup = 16;   // rows of a per tile

std::vector<bf16_t>& scratch_row(Index size) {
  static thread_local std::vector<bf16_t> row;
  if (row.size() < std::size_t(size)) row.resize(std::size_t(size));
  return row;
}

// Blocking (Blocking.h): depth slices of kDepthSlice, column slabs of kColumnSlice; both operands
// are packed slice by slice (below), so a slice's part of a and of b is contiguous. A slab's slice
// of b (2048 x 256 bf16, 1 MB) and its rows of c (512 x 256 float32 at batch 512, 512 KB) stay in
// L2 while a's blocks pass. Measured single-threaded (thread CPU time; before the operands were
// 64-byte aligned) on the wide model's products, against the whole depth in 64-column slabs: x^T dz (4096x4096x512) 44-47 -> 39-41 ms,
// x W and dz W^T (512x4096x4096) within 5%; 1024 x 256, 512 x 512 and 4096 x 128 no better.
// Tried since (one thread, process CPU time, under load, per 512x4096x4096 product including
// packing, 25-29 ms with these constants): slices of 512 (a's and b's slices both in L2) 32-34 ms;
// slices of 256 with each 32-column block of b held in L1 while all row blocks pass 40-43 ms.
constexpr Index kDepthSlice = 2048;
constexpr Index kColumnSlice = 256;
// Packing, tried since on the wide mixed_bfloat16 training step (1024-4096-4096-1024, batch 512,
// Adam; one thread, process CPU time per step, alternating in one process, 6-8 repeats; run to
// run noise about 2%), none kept:
//   - the forward product x W also writing W's transposed layout for the backward dZ Wᵀ while W's
//     rows are in cache (one pass over the float32 W per step instead of two): +3% (the
//     transposed packing cost as much from cache as from memory; the forward packing grew more);
//   - b's VNNI packing by row pairs over 64 or 256 panels (threads splitting rows): +2%, +3%;
//     software prefetch of the rows 2, 4 or 8 pairs ahead: +1-3%;
//   - the transposed packing through a 16 x 256 copy of the rows, or prefetching its next 32
//     depths: +1.5%, +1%;
//   - PREFETCHW of a block's rows of c before the AMX tile stores (the stores take ~16% of
//     amx_block's samples): no change.
// Packing no weight at all (a stale copy, timing only) saved 12%: the packing left to remove is
// the weights'. Done since (PackedWeightBf16, lowp/PackedKernelCache.h): the optimizer writes both
// layouts of each kernel while each 16-row group's update is in cache, and the next step's products
// pack only a. Same measure (8 steps per fit, the first packing as before; profile samples of
// _core, one thread): with plain stores into the layouts, +8% (the update's packing cost more
// than the products' packing had: each 64-byte store read its line first, 64 MB for 4096x4096,
// and Adam itself slowed 15% beside it); with non-temporal stores (no read for ownership, no
// eviction of the update's own rows) -8%, and -5 to -7% in process CPU time alternating in one
// process. Chunks of 16k or 256k values instead of 64k: no better.

// The operands in the layouts the kernels read, one depth slice after the other (slice s holds
// depths [s * kc, s * kc + ds), ds = min(kc, kp - s * kc)):
//   a: per slice, 16-row groups of 16x32 tiles of bf16, each tile 1 KB contiguous, a group's
//      tiles in depth order (a row-major copy put the 16 rows of an AMX tile load kp*2 bytes
//      apart: for kp = 4096 all of them in one L1 set, and the loads thrashed);
//   b: per slice, np/16 panels of ds/2 rows of 16 column pairs (b[2r][j], b[2r+1][j]) - the
//      "VNNI" layout in which one 64-byte row is an AMX B-tile row and a VDPBF16PS operand.
// Slice-major, not whole-depth panels: panels kp*32 bytes apart (128 KB for kp = 4096) put the
// same depth of every panel in the same L2 sets, and a slab's 16 panels evicted one another.
// Panels are one cache line more than their slice's depth apart (kPanelPad): at 64 KB apart, the
// packing's 16 stores per pair of rows (one per panel) all went to one L1 set.
constexpr Index kPanelPad = 32;  // bf16 values (64 bytes)
struct Packed {
  Index m, n, k, mp, np, kp, kc;
  bf16_t* a;
  bf16_t* b;
  Index slice_start(Index d) const { return d / kc * kc; }
  Index slice_depth(Index d0) const { return std::min(kc, kp - d0); }
  // The tile holding rows [i, i + 16) (i a multiple of 16) and depths [d, d + 32) (d a multiple of 32).
  bf16_t* a_tile(Index i, Index d) const {
    const Index d0 = slice_start(d);
    return a + d0 * mp + i * slice_depth(d0) + (d - d0) / kDepthStep * kRowGroup * kDepthStep;
  }
  // The 16 column pairs of depths (d, d + 1) (d even) of the panel of columns [j, j + 16) (j a
  // multiple of 16).
  bf16_t* b_row(Index j, Index d) const {
    const Index d0 = slice_start(d), panels = np / kPanel;
    return b + d0 * np + (d0 / kc) * panels * kPanelPad + (j / kPanel) * (slice_depth(d0) * kPanel + kPanelPad) +
           (d - d0) * kPanel;
  }
  Index b_size() const { return np * kp + (kp + kc - 1) / kc * (np / kPanel) * kPanelPad; }
};

// Depths (d, d + 1) of `panels` full panels of the stored (k, n) b: r0 and r1 are the two rows
// at the panels' first column, out the first panel's row of pairs, panel_stride the distance
// between panels' rows.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void pack_b_rows_avx512(const float* r0, const float* r1,
                                                                                  Index panels, bf16_t* out,
                                                                                  Index panel_stride) {
  // cvtne2ps puts r0's 16 values in the low half, r1's in the high; the permutation interleaves them.
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                              22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (Index q = 0; q < panels; ++q) {
    const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(r1 + q * kPanel), _mm512_loadu_ps(r0 + q * kPanel));
    _mm512_storeu_si512(out + q * panel_stride, _mm512_permutexvar_epi16(interleave, both));
  }
}

// out + s * 32 (s < 16, 64 bytes each) = the s-th 32-bit element of r[0], r[1], ..., r[15]:
// a 16x16 transpose of 32-bit elements (pairs of bf16), in four rounds of interleaves.
template <bool Stream = false>
__attribute__((target("avx512f,avx512bw"))) inline void store_transposed_pairs(__m512i r[16], bf16_t* out) {
  __m512i t[16];
  for (int c = 0; c < 16; c += 2) {  // 32-bit interleave of row pairs
    t[c] = _mm512_unpacklo_epi32(r[c], r[c + 1]);
    t[c + 1] = _mm512_unpackhi_epi32(r[c], r[c + 1]);
  }
  for (int c = 0; c < 16; c += 4) {  // 64-bit interleave: per 128-bit lane, one column of 4 rows
    r[c] = _mm512_unpacklo_epi64(t[c], t[c + 2]);
    r[c + 1] = _mm512_unpackhi_epi64(t[c], t[c + 2]);
    r[c + 2] = _mm512_unpacklo_epi64(t[c + 1], t[c + 3]);
    r[c + 3] = _mm512_unpackhi_epi64(t[c + 1], t[c + 3]);
  }
  for (int s = 0; s < 4; ++s) {  // lanes of rows 0-7 (and 8-15): columns s, s + 8 | s + 4, s + 12
    t[s] = _mm512_shuffle_i32x4(r[s], r[s + 4], 0x88);
    t[s + 4] = _mm512_shuffle_i32x4(r[s], r[s + 4], 0xdd);
    t[s + 8] = _mm512_shuffle_i32x4(r[s + 8], r[s + 12], 0x88);
    t[s + 12] = _mm512_shuffle_i32x4(r[s + 8], r[s + 12], 0xdd);
  }
  for (int s = 0; s < 8; ++s) {  // whole columns: s from t[s] and t[s + 8], s + 8 likewise
    const __m512i low = _mm512_shuffle_i32x4(t[s], t[s + 8], 0x88), high = _mm512_shuffle_i32x4(t[s], t[s + 8], 0xdd);
    if constexpr (Stream) {  // (no lambda: it would not inherit this function's target)
      _mm512_stream_si512(reinterpret_cast<__m512i*>(out + s * 32), low);
      _mm512_stream_si512(reinterpret_cast<__m512i*>(out + (s + 8) * 32), high);
    } else {
      _mm512_storeu_si512(out + s * 32, low);
      _mm512_storeu_si512(out + (s + 8) * 32, high);
    }
  }
}

// 32 depths of a full panel of op(b) = transpose of the stored (n, k) b: rows[c * stride + d] for
// c < 16, d < 32 to the 16 rows of 16 pairs at out. Each stored row converts to 16 pairs in one
// register (VCVTNE2PS2BF16), then the pairs are transposed.
template <bool Stream = false>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void pack_b_transposed_avx512(const float* rows, Index stride,
                                                                                        bf16_t* out) {
  __m512i r[16];
  for (int c = 0; c < 16; ++c) {
    const float* row = rows + c * stride;
    r[c] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + 16), _mm512_loadu_ps(row));
  }
  store_transposed_pairs<Stream>(r, out);
}

// One full 16x32 tile of op(a) = transpose of the stored (k, m) a (dW = xᵀ dz): the tile's row r,
// depth e is columns[e * stride + r]. Each pair of stored rows converts and interleaves into the
// 16 rows' pairs of depths (2p, 2p + 1) in one register, then the pairs are transposed; the
// scalar version (16 conversions and 16 two-byte stores per depth) took ~8% of a wide bf16
// training step.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void pack_a_transposed_avx512(const float* columns,
                                                                                        Index stride, bf16_t* tile) {
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                              22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  __m512i r[16];
  for (int q = 0; q < 16; ++q) {
    const float* even = columns + 2 * q * stride;
    const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(even + stride), _mm512_loadu_ps(even));
    r[q] = _mm512_permutexvar_epi16(interleave, both);
  }
  store_transposed_pairs(r, tile);
}

// Rows [i0, i0 + 16) of op(a) into their tiles (zeros beyond m and k).
void pack_a_rows(const float* a, bool transpose, const Packed& p, Index i0) {
  const Index m = p.m, k = p.k, kp = p.kp;
  const Index rows = std::max<Index>(0, std::min(kRowGroup, m - i0));
  std::vector<bf16_t>& row = scratch_row(kp);
  const auto place = [&](Index r) {  // row r of the group, converted into `row`, to its tiles
    for (Index d = 0; d < kp; d += kDepthStep) std::copy_n(row.data() + d, kDepthStep, p.a_tile(i0, d) + r * kDepthStep);
  };
  if (!transpose) {
    for (Index r = 0; r < rows; ++r) {
      floats_to_bf16(a + (i0 + r) * k, row.data(), k);
      std::fill(row.begin() + k, row.begin() + kp, bf16_t(0));
      place(r);
    }
  } else {  // a is stored (k, m): one row of storage gives a value to each of the 16 rows
    Index d = 0;
    if (rows == kRowGroup && cpu_features().avx512bf16)
      for (; d + kDepthStep <= k; d += kDepthStep) pack_a_transposed_avx512(a + d * m + i0, m, p.a_tile(i0, d));
    alignas(64) bf16_t column[kRowGroup];
    for (; d < k; ++d) {
      floats_to_bf16(a + d * m + i0, column, rows);
      bf16_t* tile = p.a_tile(i0, d - d % kDepthStep) + d % kDepthStep;
      for (Index r = 0; r < rows; ++r) tile[r * kDepthStep] = column[r];
    }
    for (Index d = k; d < kp; ++d) {
      bf16_t* tile = p.a_tile(i0, d - d % kDepthStep) + d % kDepthStep;
      for (Index r = 0; r < rows; ++r) tile[r * kDepthStep] = 0;
    }
  }
  std::fill(row.begin(), row.end(), bf16_t(0));
  for (Index r = rows; r < kRowGroup; ++r) place(r);
}

constexpr Index kPanelGroup = 16;  // b is packed 16 panels (256 columns) at a time

// Pairs of depths (2r, 2r + 1) for r in [r_begin, r_end) of panels [p0, p_end) of op(b) = the
// stored (k, n) b into their VNNI layout: each pair of rows is read once, left to right.
void pack_b_pairs(const float* b, const Packed& p, Index r_begin, Index r_end, Index p0, Index p_end) {
  const Index n = p.n, k = p.k;
  const bool avx512 = cpu_features().avx512bf16;
  // Panels whose 16 columns all exist take the vector path (every pair of depths inside k).
  const Index full_end = avx512 ? std::max(p0, std::min(p_end, n / kPanel)) : p0;
  for (Index r = r_begin; r < r_end; ++r) {
    const Index d0 = 2 * r, d1 = 2 * r + 1;
    Index panel = p0;
    if (d1 < k && full_end > p0) {
      const Index stride = full_end - p0 > 1 ? p.b_row((p0 + 1) * kPanel, d0) - p.b_row(p0 * kPanel, d0) : 0;
      pack_b_rows_avx512(b + d0 * n + p0 * kPanel, b + d1 * n + p0 * kPanel, full_end - p0, p.b_row(p0 * kPanel, d0),
                         stride);
      panel = full_end;
    }
    for (; panel < p_end; ++panel) {
      const Index j0 = panel * kPanel, cols = std::min(kPanel, n - j0);
      bf16_t* out = p.b_row(j0, d0);
      for (Index c = 0; c < kPanel; ++c) {
        out[2 * c] = (c < cols && d0 < k) ? float_to_bf16(b[d0 * n + j0 + c]) : bf16_t(0);
        out[2 * c + 1] = (c < cols && d1 < k) ? float_to_bf16(b[d1 * n + j0 + c]) : bf16_t(0);
      }
    }
  }
}

// Pairs of rows (2r, 2r + 1), r in [0, pairs), of one full panel of the stored (k, n) b: row 2r
// at r0 + 2r n, the pairs to out + 32 r (a panel's consecutive depths in one slice are contiguous).
// Non-temporal stores (out is 64-byte aligned): for PackedWeightBf16, whose layouts are read by
// the next training step only (see the measurements above).
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void pack_panel_pairs_avx512(const float* r0, Index n,
                                                                                       Index pairs, bf16_t* out) {
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                              22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (Index r = 0; r < pairs; ++r) {
    const float* even = r0 + 2 * r * n;
    const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(even + n), _mm512_loadu_ps(even));
    _mm512_stream_si512(reinterpret_cast<__m512i*>(out + r * 2 * kPanel), _mm512_permutexvar_epi16(interleave, both));
  }
}

// What pack_b_pairs(b, p, r_begin, r_end, 0, all panels) writes, panel by panel: for a few pairs
// of rows across many panels (the optimizer's chunks of W), each panel's pairs are then stored
// one after the other, instead of one 64-byte row per panel, 64 KB apart, per pair.
void pack_b_pairs_by_panel(const float* b, const Packed& p, Index r_begin, Index r_end) {
  const Index n = p.n, k = p.k, panels = p.np / kPanel;
  const Index full_panels = cpu_features().avx512bf16 ? n / kPanel : 0;
  const Index full_end = std::max(r_begin, std::min(r_end, k / 2));  // pairs whose two rows exist
  for (Index q = 0; q < full_panels; ++q)
    for (Index r = r_begin; r < full_end;) {
      const Index d0 = 2 * r, run = std::min(full_end, (p.slice_start(d0) + p.kc) / 2) - r;
      pack_panel_pairs_avx512(b + d0 * n + q * kPanel, n, run, p.b_row(q * kPanel, d0));
      r += run;
    }
  // The rest one value at a time: partial panels, and pairs reaching past k (zeros past it).
  if (full_panels < panels) pack_b_pairs(b, p, r_begin, full_end, full_panels, panels);
  if (full_end < r_end) pack_b_pairs(b, p, full_end, r_end, 0, panels);
}

// Panels [p0, p_end) of op(b) = the transpose of the stored (n, k) b, every depth: column j of
// op(b) is a contiguous row, a pair (d, d+1) adjacent in it, so each row of the panel's layout
// gathers one pair from each of 16 rows: a 16x16 transpose of pairs, 32 depths at a time where
// the panel is full. Stream: non-temporal stores there (PackedWeightBf16's layouts).
template <bool Stream = false>
void pack_b_transposed_panels(const float* b, const Packed& p, Index p0, Index p_end) {
  const Index n = p.n, k = p.k, kp = p.kp;
  const bool avx512 = cpu_features().avx512bf16;
  for (Index panel = p0; panel < p_end; ++panel) {
    const Index j0 = panel * kPanel, cols = std::max<Index>(0, std::min(kPanel, n - j0));
    Index d = 0;
    if (avx512 && cols == kPanel)
      for (; d + kDepthStep <= k; d += kDepthStep) pack_b_transposed_avx512<Stream>(b + j0 * k + d, k, p.b_row(j0, d));
    for (; d < kp; d += 2) {  // the rest (and every depth of a partial panel) one pair at a time
      std::uint32_t* out = reinterpret_cast<std::uint32_t*>(p.b_row(j0, d));
      for (Index c = 0; c < kPanel; ++c) {
        const float* column = b + (j0 + c) * k;
        const bf16_t lo = c < cols && d < k ? float_to_bf16(column[d]) : bf16_t(0);
        const bf16_t hi = c < cols && d + 1 < k ? float_to_bf16(column[d + 1]) : bf16_t(0);
        out[c] = std::uint32_t(lo) | std::uint32_t(hi) << 16;
      }
    }
  }
}

// Panels [p0, p0 + 16) of op(b) (columns 16p..16p+15 each) into their VNNI layout.
void pack_b_panels(const float* b, bool transpose, const Packed& p, Index p0, Index panels) {
  const Index p_end = std::min(p0 + kPanelGroup, panels);
  if (transpose)
    pack_b_transposed_panels(b, p, p0, p_end);
  else
    pack_b_pairs(b, p, 0, p.kp / 2, p0, p_end);
}

// The layout of op(b) for a product of depth k and n columns (any m: b's layout does not depend
// on it), a and b not placed yet.
Packed layout_of(Index m, Index n, Index k) {
  const Index kp = round_up(k, kDepthStep);
  return Packed{m, n, k, round_up(m, kBlock), round_up(n, kBlock), kp, std::min(kDepthSlice, kp), nullptr, nullptr};
}

struct Workspace {
  AlignedVector<bf16_t> a, b;  // tile rows on cache lines
};

Workspace& workspace() {
  static thread_local Workspace w;  // predict runs one product per thread at once
  return w;
}

// ---------------------------------------------------------------------------------------- AMX
// Tiles 0-3 hold the 32x32 float block of c, 4-5 two 16-row slices of a, 6-7 two 16-column panels of b.
__attribute__((target("amx-tile,amx-bf16,avx512f"))) void amx_configure() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) config.set(t, 16, 64);
  tile_memory_barrier();
  _tile_loadconfig(&config);
}

__attribute__((target("amx-tile,amx-bf16,avx512f"))) void amx_block(const Packed& p, Index i0, Index j0, Index d0,
                                                                       Index depth, float* c, bool load_c) {
  const Index rows = std::min(kBlock, p.m - i0), cols = std::min(kBlock, p.n - j0);
  alignas(64) float edge[kBlock * kBlock];
  const bool direct = rows == kBlock && cols == kBlock;
  float* out = direct ? c + i0 * p.n + j0 : edge;
  const Index stride = (direct ? p.n : kBlock) * Index(sizeof(float));
  if (!direct && load_c) {
    std::fill(edge, edge + kBlock * kBlock, 0.0f);
    for (Index r = 0; r < rows; ++r) std::copy_n(c + (i0 + r) * p.n + j0, cols, edge + r * kBlock);
  }
  tile_memory_barrier();  // edge's copy of c and the packed operands are written before the loads
  if (load_c) {
    _tile_loadd(0, out, stride);
    _tile_loadd(1, out + 16, stride);
    _tile_loadd(2, out + 16 * (stride / 4), stride);
    _tile_loadd(3, out + 16 * (stride / 4) + 16, stride);
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  // [d0, d0 + depth) lies in one slice: each operand's tiles follow one another 1 KB apart.
  const bf16_t* a0 = p.a_tile(i0, d0);
  const bf16_t* a1 = p.a_tile(i0 + 16, d0);
  const bf16_t* b0 = p.b_row(j0, d0);
  const bf16_t* b1 = p.b_row(j0 + 16, d0);
  constexpr Index kTile = kRowGroup * kDepthStep;  // bf16 values per tile
  for (Index t = 0; t < depth / kDepthStep * kTile; t += kTile) {
    _tile_loadd(4, a0 + t, 64);
    _tile_loadd(5, a1 + t, 64);
    _tile_loadd(6, b0 + t, 64);
    _tile_loadd(7, b1 + t, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out, stride);
  _tile_stored(1, out + 16, stride);
  _tile_stored(2, out + 16 * (stride / 4), stride);
  _tile_stored(3, out + 16 * (stride / 4) + 16, stride);
  if (!direct)
    for (Index r = 0; r < rows; ++r) std::copy_n(edge + r * kBlock, cols, c + (i0 + r) * p.n + j0);
}

__attribute__((target("amx-tile"))) void amx_release() { _tile_release(); }

// ------------------------------------------------------------------------------ AVX512-BF16
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void avx512_block(const Packed& p, Index i0, Index j0,
                                                                            Index d0, Index depth, float* c,
                                                                            bool load_c) {
  const Index cols = std::min(kBlock, p.n - j0);
  const __mmask16 mask0 = cols >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols) - 1);
  const __mmask16 mask1 = cols >= 32 ? __mmask16(0xffff) : cols <= 16 ? __mmask16(0) : __mmask16((1u << (cols - 16)) - 1);
  // [d0, d0 + depth) lies in one slice.
  const bf16_t* b0 = p.b_row(j0, d0);
  const bf16_t* b1 = p.b_row(j0 + 16, d0);
  for (Index r0 = i0; r0 < std::min(i0 + kBlock, p.m); r0 += 8) {
    const Index rows = std::min<Index>(8, p.m - r0);
    __m512 acc[8][2];
    for (int r = 0; r < 8; ++r) {
      float* row = c + (r0 + r) * p.n + j0;
      acc[r][0] = load_c && r < rows ? _mm512_maskz_loadu_ps(mask0, row) : _mm512_setzero_ps();
      acc[r][1] = load_c && r < rows ? _mm512_maskz_loadu_ps(mask1, row + 16) : _mm512_setzero_ps();
    }
    // Rows r0..r0+7 are rows (r0 % 16).. of the 16-row tiles starting at row r0 - r0 % 16.
    const bf16_t* tiles = p.a_tile(r0 - r0 % kRowGroup, d0) + (r0 % kRowGroup) * kDepthStep;
    for (Index d = 0; d < depth; d += 2) {
      const bf16_t* a = tiles + (d / kDepthStep) * kRowGroup * kDepthStep + d % kDepthStep;
      const __m512bh w0 = (__m512bh)_mm512_loadu_si512(b0 + d * kPanel);
      const __m512bh w1 = (__m512bh)_mm512_loadu_si512(b1 + d * kPanel);
      for (int r = 0; r < 8; ++r) {
        std::uint32_t x;
        std::memcpy(&x, a + r * kDepthStep, sizeof x);
        const __m512bh xs = (__m512bh)_mm512_set1_epi32(int(x));
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], xs, w0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], xs, w1);
      }
    }
    for (int r = 0; r < rows; ++r) {
      float* row = c + (r0 + r) * p.n + j0;
      _mm512_mask_storeu_ps(row, mask0, acc[r][0]);
      _mm512_mask_storeu_ps(row + 16, mask1, acc[r][1]);
    }
  }
}

// c = op_a(a) · op_b(b): packs a, and b unless `packed_b` holds op(b) in its layout already.
void gemm_packed_paths(Bf16Path path, bool transpose_a, bool transpose_b, Index m, Index n, Index k, const float* a,
                       const float* b, const bf16_t* packed_b, float* c, bool accumulate) {
  Workspace& w = workspace();
  Packed p = layout_of(m, n, k);
  if (w.a.size() < std::size_t(p.mp * p.kp)) w.a.resize(std::size_t(p.mp * p.kp));
  p.a = w.a.data();
  if (packed_b) {
    p.b = const_cast<bf16_t*>(packed_b);  // read only: the kernels never write b
  } else {
    if (w.b.size() < std::size_t(p.b_size())) w.b.resize(std::size_t(p.b_size()));
    p.b = w.b.data();
  }
  const Index row_blocks = p.mp / kBlock, col_blocks = p.np / kBlock, panels = p.np / kPanel;
  const auto run = [&](int part, int parts) {
    // Packing: each thread converts its share of rows and panels, then all wait for the whole.
    // (Explicit shares, not `omp for`: called inside predict's per-thread region with no fork, an
    // orphaned `omp for` would split this thread's packing across predict's threads.)
    const Index groups_a = p.mp / kRowGroup, groups_b = packed_b ? 0 : (panels + kPanelGroup - 1) / kPanelGroup;
    for (Index g = groups_a * part / parts; g < groups_a * (part + 1) / parts; ++g)
      pack_a_rows(a, transpose_a, p, g * kRowGroup);
    for (Index g = groups_b * part / parts; g < groups_b * (part + 1) / parts; ++g)
      pack_b_panels(b, transpose_b, p, g * kPanelGroup, panels);
#ifdef _OPENMP
    if (parts > 1) {
#pragma omp barrier
    }
#endif
    const BlockRange range = thread_share(row_blocks, col_blocks, part, parts);
    if (range.empty()) return;
    if (path == Bf16Path::Amx) {
      amx_configure();
      for_each_block(range, p.kp, p.kc, kColumnSlice, accumulate, [&](Index i0, Index j0, Index d0, Index depth, bool load_c) {
        amx_block(p, i0, j0, d0, depth, c, load_c);
      });
      amx_release();
    } else {
      for_each_block(range, p.kp, p.kc, kColumnSlice, accumulate, [&](Index i0, Index j0, Index d0, Index depth, bool load_c) {
        avx512_block(p, i0, j0, d0, depth, c, load_c);
      });
    }
  };
  run_in_parts(double(m) * double(n) * double(k), run);
}

void gemm_emulated(bool transpose_a, bool transpose_b, Index m, Index n, Index k, const float* a, const float* b,
                   float* c, bool accumulate) {
  if (own_kernel()) {
    // fastdense's float32 kernel rounds the operands as it packs them: no copies (the copies put
    // mixed_bfloat16 training at 0.53x float32 on the 784-256-256-10 model, 0.86x on the wide one,
    // FASTDENSE_LOWP=emulated on the Sapphire Rapids VM). Slabs of rows, or of columns when c is
    // wider than tall, one per thread, as multiply() splits a float32 product.
    const Index lda = transpose_a ? m : k, ldb = transpose_b ? k : n;
    const bool by_rows = m >= n;
    run_in_parts(double(m) * double(n) * double(k), [&](int part, int parts) {
      const Index extent = by_rows ? m : n, begin = extent * part / parts, count = extent * (part + 1) / parts - begin;
      if (by_rows)
        kernels::sgemm_bf16_operands(own_kernel_isa(), transpose_a, transpose_b, count, n, k,
                                     a + (transpose_a ? begin : begin * lda), lda, b, ldb, accumulate, c + begin * n, n);
      else
        kernels::sgemm_bf16_operands(own_kernel_isa(), transpose_a, transpose_b, m, count, k, a, lda,
                                     b + (transpose_b ? begin * ldb : begin), ldb, accumulate, c + begin, n);
    });
    return;
  }
  static thread_local std::vector<float> ra, rb;
  ra.resize(std::size_t(m * k));
  rb.resize(std::size_t(k * n));
  round_floats_to_bf16(a, ra.data(), m * k);  // copied and rounded in one pass (two: wide training 0.78x float32)
  round_floats_to_bf16(b, rb.data(), k * n);
  const ConstMatrixMap<float> ma(ra.data(), transpose_a ? k : m, transpose_a ? m : k);
  const ConstMatrixMap<float> mb(rb.data(), transpose_b ? n : k, transpose_b ? k : n);
  multiply(MatrixMap<float>(c, m, n), ma, transpose_a ? Transpose::Yes : Transpose::No, mb,
           transpose_b ? Transpose::Yes : Transpose::No, accumulate);
}

}  // namespace

void gemm_bf16(Bf16Path path, bool transpose_a, bool transpose_b, Index m, Index n, Index k, const float* a,
               const float* b, float* c, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::fill(c, c + m * n, 0.0f);
    return;
  }
  if (path == Bf16Path::Emulated)
    gemm_emulated(transpose_a, transpose_b, m, n, k, a, b, c, accumulate);
  else
    gemm_packed_paths(path, transpose_a, transpose_b, m, n, k, a, b, nullptr, c, accumulate);
}

void gemm_bf16(bool transpose_a, bool transpose_b, Index m, Index n, Index k, const float* a, const float* b, float* c,
               bool accumulate) {
  gemm_bf16(bf16_path(), transpose_a, transpose_b, m, n, k, a, b, c, accumulate);
}

void PackedWeightBf16::reserve(Index rows, Index cols, bool transposed) {
  rows_ = rows;
  cols_ = cols;
  has_transposed_ = transposed;
  forward_.resize(std::size_t(layout_of(0, cols, rows).b_size()));
  transposed_.resize(transposed ? std::size_t(layout_of(0, rows, cols).b_size()) : 0);
}

void PackedWeightBf16::pack_rows(const float* w, Index first, Index last) {
  // x·W: W is b stored (k = rows, n = cols); its rows are depths, packed by pairs. The last group
  // also writes the zero pairs of the padded depth.
  Packed p = layout_of(0, cols_, rows_);
  p.b = forward_.data();
  const Index pair_end = last == rows_ ? p.kp / 2 : last / 2;
  pack_b_pairs_by_panel(w, p, first / 2, pair_end);
  if (!has_transposed_) {
    _mm_sfence();
    return;
  }
  // dz·Wᵀ: W is b stored (n = rows, k = cols), transposed; its rows are columns of op(b), 16 to a
  // panel. The last group also writes the zero panels of the padded columns.
  Packed t = layout_of(0, rows_, cols_);
  t.b = transposed_.data();
  const Index panel_end = last == rows_ ? t.np / kPanel : last / kPanel;
  pack_b_transposed_panels<true>(w, t, first / kPanel, panel_end);
  _mm_sfence();  // the non-temporal stores are visible before the products (on any thread) read them
}

void gemm_bf16(Bf16Path path, bool transpose_a, Index m, const float* a, const PackedWeightBf16& w, bool transpose_w,
               float* c, bool accumulate) {
  const Index n = transpose_w ? w.rows() : w.cols(), k = transpose_w ? w.cols() : w.rows();
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::fill(c, c + m * n, 0.0f);
    return;
  }
  if (path == Bf16Path::Emulated || (transpose_w && !w.has_transposed()))
    throw std::logic_error("gemm_bf16: a packed weight serves the amx and avx512bf16 paths only, in the layouts it holds");
  gemm_packed_paths(path, transpose_a, transpose_w, m, n, k, a, nullptr, transpose_w ? w.transposed() : w.forward(),
                    c, accumulate);
}

}  // namespace fd::lowp
