// The blocked float32 product behind Gemm.h, written once over a vector instruction set: the file
// of each instruction set (GemmAvx512.cpp, GemmAvx2.cpp) defines FD_TARGET (its target attribute)
// and, in an anonymous namespace inside fd::kernels, a struct Simd of vector primitives (kW floats
// a vector, a kMr x 2kW register tile, masked loads and stores, a kW x kW transpose, bfloat16
// rounding), then includes this file there: every function here is compiled for that instruction
// set alone and stays internal to its file, and the file's GemmIsa.h entry points (at the end)
// call them.
//
// The usual three-level blocking: a block of op(B) (at most kKc deep, column_slice() wide) is
// packed into panels kNr columns wide, and a register-blocked microkernel multiplies kMr rows of
// op(A) by one B panel into a kMr x kNr tile of C held in registers. A PackedB holds every panel
// at the whole depth instead, so that any block is a set of panel slices and predict's threads
// can pack it together. op(A) is read in place (the rows of a row-major A, or the depths of a
// transposed one) except for wide blocks of a transposed A, packed into panels kMr rows high. The
// loops keep one A panel in L1 while the B panels of the block stream past it from L2. Packing
// reads either orientation of B, so the four transpose cases share one kernel.
//
// Nothing from the standard library or Eigen is instantiated inside these functions: an inline
// template compiled here with the instruction set enabled could be the copy the linker keeps for
// the whole module, and then run on a CPU without it.
//
// No include guard: included once per instruction set, each time into another file's namespace.

namespace {

using Index = std::ptrdiff_t;
using V = Simd::V;
using Mask = Simd::Mask;

constexpr int kW = Simd::kW;
// Tile of C in registers: kMr rows x two vectors (2·kMr accumulators, 2 B vectors and a
// broadcast of A).
constexpr int kMr = Simd::kMr;
constexpr int kNr = 2 * kW;
// Most depth of a block: an A panel (kMr x kKc floats, 12 KB with AVX-512) stays in L1 while the
// B panels (kKc x kNr floats, 32 KB) stream past it. depth_slice() splits k evenly.
constexpr Index kKc = 256;
// Rows of a packed A block (kMc x kKc floats, 144 KB): it stays in L2.
constexpr Index kMc = 144;
static_assert(kMc % kMr == 0, "whole A panels in a block");
// Most columns of a B block (kKc x kNc floats, 1 MB), and the fewest column_slice() narrows it to.
constexpr Index kNc = 1024;
constexpr Index kMinNc = 512;
// Floats of L2 that a block of B and the slab of C it updates may fill together (see column_slice()).
constexpr Index kL2BlockFloats = Simd::kL2BlockFloats;
// The microkernel prefetches its B panel this many floats (8 depths) ahead into L1: the panels
// stream from L2 (or, on a block's first pass, from L3), and the hardware prefetchers restart at
// each panel. Measured (Sapphire Rapids, CPU time, alternating builds, under load): one thread's
// 512 x 4096 x 4096 products with B packed 156 -> 165 GFLOP/s (median of 5); the wide model's
// predict +4%, its training +2-3%. 4 and 12 depths ahead, a second prefetch into L2 at 64 depths,
// slice-major PackedB panels, A packed into panels, a 14 x 32 tile: no better.
constexpr Index kPrefetchB = 8 * kNr;
// A row-major B is read in place, not packed, by products of at most this many rows (see blocked_gemm()).
constexpr Index kBInPlaceRows = 48;
// With a transposed A, a row-major B of at most this many floats (it fits in L1 beside the rest) is
// read in place too: a layer's weight gradient Xᵀ dZ at a small batch (see blocked_gemm()).
constexpr Index kBInPlaceFloats = Simd::kBInPlaceFloats;
// A transposed A is packed for blocks at least this wide (see blocked_gemm()).
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

// A packing load: the first min(count, kW) floats at p (the whole vector when full), rounded to
// bfloat16 when Round (a template argument, so that the float32 product's packing has no test
// per load).
template <bool Round>
FD_TARGET inline V load_operand(Index count, const float* p) {
  const V v = count >= kW ? Simd::loadu(p) : Simd::load(Simd::lanes(count), p);
  if constexpr (Round) return Simd::round_to_bf16(v);
  return v;
}

// Columns [col, col + cols) of op(B) over depths [depth, depth + kc) as panels of kNr columns,
// each kc x kNr row-major, the last one padded with zeros (rounded to bfloat16 with Round).
template <bool Round = false>
FD_TARGET void pack_b(bool trans_b, const float* b, Index ldb, Index depth, Index kc, Index col, Index cols,
                      float* out) {
  for (Index j = 0; j < cols; j += kNr, out += kc * kNr) {
    const Index width = cols - j < kNr ? cols - j : kNr;
    if (!trans_b) {
      const float* src = b + depth * ldb + col + j;
      for (Index p = 0; p < kc; ++p, src += ldb) {
        Simd::store_aligned(out + p * kNr, load_operand<Round>(width, src));
        Simd::store_aligned(out + p * kNr + kW, width > kW ? load_operand<Round>(width - kW, src + kW) : Simd::zero());
      }
    } else {  // op(B)(p, j) = b[j * ldb + p]: kW x kW blocks transposed through the registers
      for (Index half = 0; half < kNr; half += kW) {
        const Index count = width - half;  // columns of this half that exist (may be <= 0)
        const float* src = b + (col + j + half) * ldb + depth;
        float* dst = out + half;
        Index p = 0;
        for (; p + kW <= kc; p += kW) Simd::template transpose<Round>(src + p, ldb, count, kW, dst + p * kNr, kNr, kW);
        if (p < kc) Simd::template transpose<Round>(src + p, ldb, count, kc - p, dst + p * kNr, kNr, kW);
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
FD_TARGET void pack_transposed_a(const float* a, Index lda, Index row, Index rows, Index depth, Index kc, float* out) {
  for (Index i = 0; i < rows; i += kMr) {
    const Index height = rows - i < kMr ? rows - i : kMr;
    const Mask m = Simd::lanes(height);
    const float* src = a + depth * lda + row + i;
    for (Index p = 0; p < kc; ++p, src += lda, out += height) Simd::store(out, m, load_operand<Round>(height, src));
  }
}

// Rows [row, row + rows) of a row-major A over depths [depth, depth + kc) into the same panels,
// rounded to bfloat16 (the emulated bf16 product; a float32 A is read in place).
FD_TARGET void pack_rows_a(const float* a, Index lda, Index row, Index rows, Index depth, Index kc, float* out) {
  for (Index i = 0; i < rows; i += kMr, out += kc * kMr) {
    const Index height = rows - i < kMr ? rows - i : kMr;
    const float* src = a + (row + i) * lda + depth;
    for (Index p = 0; p < kc; p += kW)
      Simd::template transpose<true>(src + p, lda, height, kc - p < kW ? kc - p : kW, out + p * height, height, height);
  }
}

// Where the microkernel reads A(i, p), i < Mr, p < kc: a packed panel (pa[p * Mr + i]), the rows
// of a row-major A in place (pa[i * stride + p]), or a transposed A in place
// (pa[p * stride + i]). Compile-time, so that the packed and transposed cases keep every
// address a constant offset from one pointer (the row case needs a register per few rows).
enum class ALayout { Packed, Rows, Columns };

// What the microkernel does to its tile's sums before storing them, in this order (each step only
// when its pointer is set, or relu): divide by column_scale[j] * row_scale[i] (the int8 scheme's
// dequantization), add bias[j], max(0, ·). Pointers at the block's first row and column; the
// microkernel offsets them to its tile's, so that the caller passes one struct, by reference, to
// every tile of a block (a copy per tile on the stack cost a store-forwarding stall per call:
// the tutorial's training step makes about 120 of them).
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

// C[0..Mr) x [0..kW Nv) (columns past `cols` untouched) = (or +=) A · B panel over kc depths,
// then the epilogue in the same store (the caller passes one on the last depth block only), at
// the tile's `row` and `col` of the block the epilogue's pointers start at.
// Nv = 1 for the last panel when it is at most kW columns wide (a 10-unit output layer): half
// the work of a masked Nv = 2. The B panel is packed (kNr floats a depth, aligned), or with
// BInPlace the columns of a row-major B read where they are (b_step floats a depth). Whole-width
// tiles load and store without masks (AVX2's masked stores are slow on some CPUs).
template <ALayout Layout, bool BInPlace, int Mr, int Nv>
FD_TARGET void microkernel(Index kc, const float* pa, Index stride, const float* pb, Index b_step, float* c, Index ldc,
                           Index cols, bool overwrite, const TileEpilogue& block_epilogue, Index row, Index col) {
  const Index row_step = Layout == ALayout::Rows ? stride : 1;
  const Index depth_step = Layout == ALayout::Packed ? Mr : Layout == ALayout::Rows ? 1 : stride;
  const bool full = cols >= kW * Nv;
  const Mask m0 = Simd::lanes(cols), m1 = Simd::lanes(cols - kW);
  V lo[Mr], hi[Mr];
#pragma GCC unroll 12
  for (int i = 0; i < Mr; ++i) lo[i] = hi[i] = Simd::zero();
  for (Index p = 0; p < kc; ++p, pa += depth_step, pb += BInPlace ? b_step : kNr) {
    if (!BInPlace) {
#pragma GCC unroll 2
      for (int line = 0; line < kNr; line += 16)
        _mm_prefetch(reinterpret_cast<const char*>(pb + kPrefetchB + line), _MM_HINT_T0);
    }
    const V b0 = !BInPlace ? Simd::load_aligned(pb) : full ? Simd::loadu(pb) : Simd::load(m0, pb);
    const V b1 = Nv == 1      ? b0
                 : !BInPlace ? Simd::load_aligned(pb + kW)
                 : full      ? Simd::loadu(pb + kW)
                             : Simd::load(m1, pb + kW);
#pragma GCC unroll 12
    for (int i = 0; i < Mr; ++i) {
      const V ai = Simd::set1(pa[i * row_step]);
      lo[i] = Simd::fmadd(ai, b0, lo[i]);
      if (Nv == 2) hi[i] = Simd::fmadd(ai, b1, hi[i]);
    }
  }
  const TileEpilogue epilogue = block_epilogue.at(row, col);
  const float* bias = epilogue.bias;
  const float* column_scale = epilogue.column_scale;
  const V zero = Simd::zero();
  const V bias_lo = bias ? Simd::load(m0, bias) : zero;
  const V bias_hi = bias && Nv == 2 ? Simd::load(m1, bias + kW) : zero;
  const V scale_lo = column_scale ? Simd::load(m0, column_scale) : zero;
  const V scale_hi = column_scale && Nv == 2 ? Simd::load(m1, column_scale + kW) : zero;
#pragma GCC unroll 12
  for (int i = 0; i < Mr; ++i) {
    float* row = c + i * ldc;
    if (!overwrite) {
      lo[i] = Simd::add(lo[i], full ? Simd::loadu(row) : Simd::load(m0, row));
      if (Nv == 2) hi[i] = Simd::add(hi[i], full ? Simd::loadu(row + kW) : Simd::load(m1, row + kW));
    }
    if (column_scale) {  // sum / (column_scale * row_scale), rounded as QuantizedDense's scalar division
      const V row_scale = Simd::set1(epilogue.row_scale[i]);
      lo[i] = Simd::div(lo[i], Simd::mul(scale_lo, row_scale));
      if (Nv == 2) hi[i] = Simd::div(hi[i], Simd::mul(scale_hi, row_scale));
    }
    if (bias) {  // the sum first, then the bias: the order of Dense's separate pass, so the same bits
      lo[i] = Simd::add(lo[i], bias_lo);
      if (Nv == 2) hi[i] = Simd::add(hi[i], bias_hi);
    }
    if (epilogue.relu) {  // max(0, z) returns z when z is NaN, as Eigen's z.max(0) in Activation.cpp does
      lo[i] = Simd::max(zero, lo[i]);
      if (Nv == 2) hi[i] = Simd::max(zero, hi[i]);
    }
    if (full) {
      Simd::storeu(row, lo[i]);
      if (Nv == 2) Simd::storeu(row + kW, hi[i]);
    } else {
      Simd::store(row, m0, lo[i]);
      if (Nv == 2) Simd::store(row + kW, m1, hi[i]);
    }
  }
}

using Microkernel = void (*)(Index, const float*, Index, const float*, Index, float*, Index, Index, bool,
                             const TileEpilogue&, Index, Index);

// By panel height (the last panel of a block may be lower than kMr): table[h] for h in 1..kMr.
template <ALayout L, bool I, int Nv, typename Heights>
struct ByHeight;
template <ALayout L, bool I, int Nv, size_t... H>
struct ByHeight<L, I, Nv, std::index_sequence<H...>> {
  static constexpr Microkernel table[] = {nullptr, microkernel<L, I, int(H) + 1, Nv>...};
};
template <ALayout L, bool I, int Nv>
constexpr const Microkernel* kByHeight = ByHeight<L, I, Nv, std::make_index_sequence<kMr>>::table;

// A block of C (mc x nc) from A's rows (in `Layout`) and B's block, packed (b_step = the floats
// from one panel to the next) or read in place (b_step = its row stride): each A panel stays in
// L1 while the B panels stream past it.
template <ALayout Layout, bool BInPlace>
FD_TARGET void run_block(Index mc, Index nc, Index kc, const float* a, Index stride, const float* b, Index b_step,
                         float* c, Index ldc, bool overwrite, const TileEpilogue& epilogue = {}) {
  for (Index ir = 0; ir < mc; ir += kMr) {
    const Index height = mc - ir < kMr ? mc - ir : kMr;
    const Microkernel wide = kByHeight<Layout, BInPlace, 2>[height], narrow = kByHeight<Layout, BInPlace, 1>[height];
    const float* pa = Layout == ALayout::Packed ? a + ir * kc : Layout == ALayout::Rows ? a + ir * stride : a + ir;
    for (Index jr = 0; jr < nc; jr += kNr) {
      const Index cols = nc - jr < kNr ? nc - jr : kNr;
      const float* pb = BInPlace ? b + jr : b + (jr / kNr) * b_step;
      (cols > kW ? wide : narrow)(kc, pa, stride, pb, b_step, c + ir * ldc + jr, ldc, cols, overwrite, epilogue,
                                  ir, jr);
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
// back from L3 once per depth block (AVX-512, 2 MB L2: a 512-row slab of 4096 x 4096, B packed:
// 1024 columns measured 3-5% slower than 512, 2048 columns ~18% slower). Taller slabs keep kNc:
// narrower blocks would not keep C in L2 either, and re-read A more often (2048 x 4096 x 512 with
// a transposed A: 128 columns measured 26% slower).
inline Index column_slice(Index m, Index k, Index kc) {
  if (k <= kc) return kNc;
  const Index fit = kL2BlockFloats / (m + kc) / kNr * kNr;
  return fit < kMinNc ? kNc : fit > kNc ? kNc : fit;
}

// The product over blocks of op(B): slices of packed_b's whole-depth panels (PackedB) when not
// null, else each block packed here into the thread's buffer as it is reached.
FD_TARGET void blocked_gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, const float* a, Index lda,
                            const float* b, Index ldb, const float* packed_b, bool accumulate, float* c, Index ldc,
                            const ProductEpilogue& epilogue, bool round_operands) {
  if (m <= 0 || n <= 0) return;
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
  // 283 -> 237 ns, one thread, AVX-512).
  const bool b_in_place = !packed_b && !round_operands && !trans_b &&
                          (trans_a ? !pack_a && k * n <= kBInPlaceFloats : m <= kBInPlaceRows);
  float* b_block =
      packed_b || b_in_place ? nullptr : b_buffer().reserve(size_t(packed_block_size(block_depth, block_cols)));
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

// Panels [first, last) of a whole-depth PackedB (k x n): each k x kNr, panel q at q·kNr·k.
FD_TARGET void pack_whole_depth_panels(bool trans_b, const float* b, Index ldb, Index k, Index n, Index first,
                                       Index last, float* data) {
  const Index col = first * kNr, cols = (last * kNr < n ? last * kNr : n) - col;
  if (cols > 0) pack_b(trans_b, b, ldb, 0, k, col, cols, data + col * k);
}

}  // namespace

template <>
bool per_isa::supported<Simd::kIsa>() {
  return Simd::supported();
}
template <>
const char* per_isa::blocking<Simd::kIsa>() {
  return Simd::kBlocking;
}
template <>
std::ptrdiff_t per_isa::panel_columns<Simd::kIsa>() {
  return kNr;
}
template <>
void per_isa::gemm<Simd::kIsa>(bool trans_a, bool trans_b, Index m, Index n, Index k, const float* a, Index lda,
                               const float* b, Index ldb, const float* packed_b, bool accumulate, float* c, Index ldc,
                               const ProductEpilogue& epilogue, bool round_operands) {
  blocked_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, packed_b, accumulate, c, ldc, epilogue, round_operands);
}
template <>
void per_isa::pack_panels<Simd::kIsa>(bool trans_b, const float* b, Index ldb, Index k, Index n, Index first,
                                      Index last, float* data) {
  pack_whole_depth_panels(trans_b, b, ldb, k, n, first, last, data);
}
