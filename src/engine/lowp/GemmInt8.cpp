#include "GemmInt8.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "Blocking.h"
#include "TileConfig.h"

namespace fd::lowp {

namespace {

constexpr Index kDepthStep = 64;  // int8 values per AMX tile row
// Blocking (Blocking.h): b's panels hold the whole depth and the walk takes it in one slice, so
// each 32x32 block of c is finished in one visit and handed to the epilogue while it is in L1
// (depth slices of 1024 were slower: 1.32-1.39 TOP/s on 1024x4096x4096 against 2.04-2.06). Column
// slabs: 64 columns while a (mp x kp bytes) fits in half of L2 and stays there while the slabs
// pass, 256 when a is larger and comes from L3 once per slab. Measured single-threaded (thread
// CPU time, Sapphire Rapids): 1024x4096x4096 1.59-1.65 TOP/s with 64, 2.04-2.06 with 256 (128:
// 1.89); 256x4096x4096 2.06-2.08 with 64, 1.86-1.89 with 256.
constexpr Index kNarrowColumnSlice = 64, kWideColumnSlice = 256;
constexpr Index kRowsInL2 = Index(1) << 20;  // bytes of a kept in L2 across column slabs

// Every kernel below computes the block of c at (i0, j0), `rows` of its 32 rows (the vector
// kernels round up to their row step; a's rows are padded to a multiple of 32) and all 32
// columns (b's panels are padded with zero columns), over the whole depth, into `out` (32 x 32,
// row-major, 64-byte aligned).

// ---------------------------------------------------------------------------------------- AMX
__attribute__((target("amx-tile,amx-int8,avx512f"))) void amx_configure() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) config.set(t, 16, 64);
  tile_memory_barrier();
  _tile_loadconfig(&config);
}

__attribute__((target("amx-tile"))) void amx_release() { _tile_release(); }

// The epilogue of the previous block, run a few rows at a time between the tile steps of the
// next one: the tile multiplies execute on the AMX unit while the core's vector units sit idle,
// so the dequantization (a division per value) and the stores of the previous block's results
// (their cache misses too) overlap with them instead of stalling the walk between blocks.
// Measured on Sapphire Rapids (one thread, 1024 rows, thread CPU time, an epilogue like
// QuantizedDense's writing float32 relu(sums / scales + bias)): 1024x1024x4096 5.5-5.7 ms ->
// 3.7-3.9, 1024x4096x4096 13.9-15.6 -> 11.6-12.4, 1024x4096x1024 2.9-3.0 -> 2.7. The epilogue
// must not use the tile registers: they hold the running block's sums across its calls.
class PendingEpilogue {
 public:
  static constexpr Index kSpreadSteps = 16;  // depth steps of 64 (a depth of 1024)
  explicit PendingEpilogue(const Int8BlockEpilogue& epilogue) : epilogue_(epilogue) {}
  // The block whose sums are in `sums` is finished; its epilogue is pending.
  void start(Index i0, Index j0, Index rows, Index cols, const std::int32_t* sums) {
    i0_ = i0, j0_ = j0, rows_ = rows, cols_ = cols, sums_ = sums, done_ = 0;
  }
  // Runs the epilogue up to the share `step / steps` of the pending block's rows, when the block
  // has kSpreadSteps or more; with fewer, finish() runs it whole after the last step, as one call:
  // a call per step costs more than the overlap saves there (few outputs, in cache). Measured on
  // 256-512-512-10, one thread, 8192 rows, 8 runs: batch 32 5.55 ms (median) with one call,
  // 5.87 with a call per step (5.59 before the epilogues overlapped).
  void advance(Index step, Index steps) {
    if (steps >= kSpreadSteps) run_to((rows_ * step + steps - 1) / steps);
  }
  void finish() { run_to(rows_); }

 private:
  void run_to(Index rows) {
    if (rows <= done_) return;
    epilogue_(i0_ + done_, j0_, rows - done_, cols_, sums_ + done_ * kBlock);
    done_ = rows;
  }
  const Int8BlockEpilogue& epilogue_;
  Index i0_ = 0, j0_ = 0, rows_ = 0, cols_ = 0, done_ = 0;
  const std::int32_t* sums_ = nullptr;
};

// The block at (i0, j0) over the whole depth, `pending`'s rows spread over its depth steps and
// finished before its own sums are stored into `out` (the buffer `pending` reads).
__attribute__((target("amx-tile,amx-int8,avx512f"))) void amx_block(const Int8Rows& a, const PackedInt8Matrix& b,
                                                                       Index i0, Index j0, std::int32_t* out,
                                                                       PendingEpilogue& pending) {
  constexpr Index stride = kBlock * Index(sizeof(std::int32_t)), row16 = 16 * kBlock;
  tile_memory_barrier();  // the packed operands are written before the loads
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const std::int8_t* a0 = a.values.data() + i0 * a.stride;
  const std::int8_t* a1 = a0 + 16 * a.stride;
  const std::int8_t* b0 = b.panel(j0);
  const std::int8_t* b1 = b0 + b.kp * kPanel;
  const Index steps = b.kp / kDepthStep;
  for (Index step = 0; step < steps; ++step) {
    const Index d = step * kDepthStep;
    _tile_loadd(4, a0 + d, a.stride);
    _tile_loadd(5, a1 + d, a.stride);
    _tile_loadd(6, b0 + d * kPanel, 64);
    _tile_loadd(7, b1 + d * kPanel, 64);
    _tile_dpbssd(0, 4, 6);
    _tile_dpbssd(1, 4, 7);
    _tile_dpbssd(2, 5, 6);
    _tile_dpbssd(3, 5, 7);
    pending.advance(step + 1, steps);
  }
  pending.finish();
  tile_memory_barrier();  // the epilogue's reads of `out` come before the stores
  _tile_stored(0, out, stride);
  _tile_stored(1, out + 16, stride);
  _tile_stored(2, out + row16, stride);
  _tile_stored(3, out + row16 + 16, stride);
  tile_memory_barrier();  // the stores land before the epilogue reads `out`
}

// ------------------------------------------------------------------------------ AVX512-VNNI
// a holds a + 128 (uint8); the +128 is taken back out with b's column sums.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void avx512_block(const Int8Rows& a, const PackedInt8Matrix& b,
                                                                            Index i0, Index j0, Index rows,
                                                                            std::int32_t* out) {
  const std::int8_t* b0 = b.panel(j0);
  const std::int8_t* b1 = b0 + b.kp * kPanel;
  const __m512i correction0 = _mm512_slli_epi32(_mm512_loadu_si512(b.column_sums.data() + j0), 7);
  const __m512i correction1 = _mm512_slli_epi32(_mm512_loadu_si512(b.column_sums.data() + j0 + 16), 7);
  for (Index r0 = 0; r0 < rows; r0 += 8) {
    __m512i acc[8][2];
    for (int r = 0; r < 8; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    const std::int8_t* x = a.values.data() + (i0 + r0) * a.stride;
    for (Index q = 0; q < b.kp / 4; ++q) {
      const __m512i w0 = _mm512_loadu_si512(b0 + q * 4 * kPanel);
      const __m512i w1 = _mm512_loadu_si512(b1 + q * 4 * kPanel);
      for (int r = 0; r < 8; ++r) {
        std::int32_t quad;
        std::memcpy(&quad, x + r * a.stride + 4 * q, sizeof quad);
        const __m512i xs = _mm512_set1_epi32(quad);
        acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], xs, w0);
        acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], xs, w1);
      }
    }
    for (int r = 0; r < 8; ++r) {
      std::int32_t* row = out + (r0 + r) * kBlock;
      _mm512_store_si512(row, _mm512_sub_epi32(acc[r][0], correction0));
      _mm512_store_si512(row + 16, _mm512_sub_epi32(acc[r][1], correction1));
    }
  }
}

// -------------------------------------------------------------------------------- AVX-VNNI
__attribute__((target("avx2,avxvnni"))) void avxvnni_block(const Int8Rows& a, const PackedInt8Matrix& b, Index i0,
                                                             Index j0, Index rows, std::int32_t* out) {
  const std::int8_t* panels[2] = {b.panel(j0), b.panel(j0) + b.kp * kPanel};
  for (Index r0 = 0; r0 < rows; r0 += 4) {
    // 4 rows x 32 columns: four 8-column registers per row.
    __m256i acc[4][4];
    for (int r = 0; r < 4; ++r)
      for (int v = 0; v < 4; ++v) acc[r][v] = _mm256_setzero_si256();
    const std::int8_t* x = a.values.data() + (i0 + r0) * a.stride;
    for (Index q = 0; q < b.kp / 4; ++q) {
      __m256i w[4];
      for (int v = 0; v < 4; ++v)
        w[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panels[v / 2] + q * 4 * kPanel + (v % 2) * 32));
      for (int r = 0; r < 4; ++r) {
        std::int32_t quad;
        std::memcpy(&quad, x + r * a.stride + 4 * q, sizeof quad);
        const __m256i xs = _mm256_set1_epi32(quad);
        for (int v = 0; v < 4; ++v) acc[r][v] = _mm256_dpbusd_avx_epi32(acc[r][v], xs, w[v]);
      }
    }
    for (int r = 0; r < 4; ++r)
      for (int v = 0; v < 4; ++v) {
        const __m256i correction = _mm256_slli_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.column_sums.data() + j0 + 8 * v)), 7);
        _mm256_store_si256(reinterpret_cast<__m256i*>(out + (r0 + r) * kBlock + 8 * v),
                           _mm256_sub_epi32(acc[r][v], correction));
      }
  }
}

// -------------------------------------------------------------------------------- portable
void portable_block(const Int8Rows& a, const PackedInt8Matrix& b, Index i0, Index j0, Index rows, std::int32_t* out) {
  for (Index i = 0; i < rows; ++i) {
    std::int32_t* acc = out + i * kBlock;
    std::fill(acc, acc + kBlock, 0);
    const std::int8_t* x = a.values.data() + (i0 + i) * a.stride;
    for (Index half = 0; half < 2; ++half) {
      const std::int8_t* w = b.panel(j0) + half * b.kp * kPanel;
      std::int32_t* sums = acc + half * kPanel;
      for (Index q = 0; q < b.kp / 4; ++q) {
        const std::int8_t* wq = w + q * 4 * kPanel;
        const std::int32_t x0 = x[4 * q], x1 = x[4 * q + 1], x2 = x[4 * q + 2], x3 = x[4 * q + 3];
        for (Index j = 0; j < kPanel; ++j)
          sums[j] += x0 * wq[4 * j] + x1 * wq[4 * j + 1] + x2 * wq[4 * j + 2] + x3 * wq[4 * j + 3];
      }
    }
  }
}

}  // namespace

PackedInt8Matrix pack_int8_matrix(const std::int8_t* b, Index k, Index n) {
  PackedInt8Matrix p;
  p.k = k;
  p.n = n;
  p.kp = round_up(std::max<Index>(k, 1), kDepthStep);
  p.np = round_up(n, kBlock);
  p.panels.assign(std::size_t(p.kp * p.np), 0);
  p.column_sums.assign(std::size_t(p.np), 0);
  for (Index d = 0; d < k; ++d)
    for (Index j = 0; j < n; ++j) {
      const std::int8_t v = b[d * n + j];
      p.panels[std::size_t((j / kPanel) * p.kp * kPanel + (d / 4) * 4 * kPanel + (j % kPanel) * 4 + d % 4)] = v;
      p.column_sums[std::size_t(j)] += v;
    }
  return p;
}

void Int8Rows::resize(Index rows, Index padded_depth) {
  m = rows;
  mp = round_up(std::max<Index>(rows, 1), kBlock);
  kp = padded_depth;
  stride = kp + kRowPad;
  if (values.size() < std::size_t(mp * stride)) values.resize(std::size_t(mp * stride));
}

bool offsets_activations(Int8Path path) { return path == Int8Path::Avx512Vnni || path == Int8Path::AvxVnni; }

void gemm_int8_packed(Int8Path path, const Int8Rows& a, const PackedInt8Matrix& b, const Int8BlockEpilogue& epilogue) {
  const Index m = a.m, n = b.n;
  if (m == 0 || n == 0) return;
  const Index row_blocks = (m + kBlock - 1) / kBlock, col_blocks = b.np / kBlock;
  run_in_parts(double(m) * double(n) * double(b.k), [&](int part, int parts) {
    const BlockRange range = thread_share(row_blocks, col_blocks, part, parts);
    if (range.empty()) return;
    const Index columns = a.mp * a.kp <= kRowsInL2 ? kNarrowColumnSlice : kWideColumnSlice;
    const auto blocks = [&](auto kernel) {
      alignas(64) std::int32_t block[kBlock * kBlock];
      for_each_block(range, b.kp, b.kp, columns, false, [&](Index i0, Index j0, Index, Index, bool) {
        const Index rows = std::min(kBlock, m - i0);
        kernel(a, b, i0, j0, rows, block);
        epilogue(i0, j0, rows, std::min(kBlock, n - j0), block);
      });
    };
    switch (path) {
      case Int8Path::Amx: {
        amx_configure();
        alignas(64) std::int32_t block[kBlock * kBlock];
        PendingEpilogue pending(epilogue);
        for_each_block(range, b.kp, b.kp, columns, false, [&](Index i0, Index j0, Index, Index, bool) {
          amx_block(a, b, i0, j0, block, pending);
          pending.start(i0, j0, std::min(kBlock, m - i0), std::min(kBlock, n - j0), block);
        });
        pending.finish();
        amx_release();
        break;
      }
      case Int8Path::Avx512Vnni: blocks(avx512_block); break;
      case Int8Path::AvxVnni: blocks(avxvnni_block); break;
      default: blocks(portable_block);
    }
  });
}

void gemm_int8_packed(Int8Path path, const Int8Rows& a, const PackedInt8Matrix& b, std::int32_t* c) {
  const Index n = b.n;
  gemm_int8_packed(path, a, b, [=](Index i0, Index j0, Index rows, Index cols, const std::int32_t* sums) {
    for (Index r = 0; r < rows; ++r) std::copy_n(sums + r * kBlock, cols, c + (i0 + r) * n + j0);
  });
}

void gemm_int8(Int8Path path, const std::int8_t* a, Index m, const PackedInt8Matrix& b, std::int32_t* c) {
  Int8Rows rows;
  rows.resize(m, b.kp);
  std::fill(rows.values.begin(), rows.values.end(), std::int8_t(0));
  const int offset = offsets_activations(path) ? 128 : 0;
  for (Index i = 0; i < rows.mp; ++i)
    for (Index d = 0; d < b.kp; ++d) {
      const int v = (i < m && d < b.k) ? a[i * b.k + d] : 0;
      rows.row(i)[d] = std::int8_t(std::uint8_t(v + offset));
    }
  gemm_int8_packed(path, rows, b, c);
}

}  // namespace fd::lowp
