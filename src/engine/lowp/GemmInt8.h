// int8 x int8 -> int32 matrix product, exact (int32 accumulation), for Keras's int8 Dense: the
// kernel (k, n) is packed once, the activations (m, k) each call.
//   amx         AMX tiles (TDPBSSD, signed x signed), 32x32 blocks;
//   avx512vnni  VPDPBUSD (unsigned x signed) on a + 128, minus 128 * column sums of b;
//   avxvnni     the same on 256-bit registers;
//   portable    plain int32 loops.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "../Tensor.h"
#include "AlignedBuffer.h"
#include "Dispatch.h"

namespace fd::lowp {

// b (k, n) in the layout the kernels read: np/16 panels of kp/4 rows of 16 column quadruples
// (b[4r..4r+3][j]); k padded to a multiple of 64 (an AMX tile row), n to a multiple of 32.
struct PackedInt8Matrix {
  Index k = 0, n = 0, kp = 0, np = 0;
  AlignedVector<std::int8_t> panels;  // tile rows on cache lines
  std::vector<std::int32_t> column_sums;  // VNNI's correction for the +128 offset of a
  const std::int8_t* panel(Index column) const { return panels.data() + (column / 16) * kp * 16; }
};

PackedInt8Matrix pack_int8_matrix(const std::int8_t* b, Index k, Index n);

// a's rows as the kernels read them: mp rows (a multiple of 32) of kp values, `stride` bytes
// apart; for the VNNI paths the values are stored offset by +128 (as uint8). The stride is kp
// plus one cache line: with rows kp = 4096 bytes apart, the 16 rows of an AMX tile load all fell
// in one L1 set.
struct Int8Rows {
  static constexpr Index kRowPad = 64;
  Index m = 0, mp = 0, kp = 0, stride = 0;
  AlignedVector<std::int8_t> values;  // rows on cache lines
  void resize(Index rows, Index padded_depth);
  std::int8_t* row(Index i) { return values.data() + i * stride; }
};

// Whether `path` wants a's values offset by +128 (unsigned operand of VPDPBUSD).
bool offsets_activations(Int8Path path);

// c (m, n) = a (m, k) · b on `path`, a's rows packed for the same path. Each 32x32 block of c is
// computed over the whole depth into an L1 buffer and handed to `epilogue(i0, j0, rows, cols,
// sums)`: rows [i0, i0 + rows) and columns [j0, j0 + cols) of c, row r's sums at sums + 32 r, on
// the thread that computed them (QuantizedDense dequantizes and activates them there, without a
// pass over an int32 copy of c). A block may arrive in several calls of a few rows each: the AMX
// kernel runs them during the next block, between its tile steps, so the epilogue must not use AMX.
using Int8BlockEpilogue = std::function<void(Index i0, Index j0, Index rows, Index cols, const std::int32_t* sums)>;
void gemm_int8_packed(Int8Path path, const Int8Rows& a, const PackedInt8Matrix& b, const Int8BlockEpilogue& epilogue);
// The same, storing c (m x n, row-major).
void gemm_int8_packed(Int8Path path, const Int8Rows& a, const PackedInt8Matrix& b, std::int32_t* c);
// Convenience for tests: packs a (m, k) and runs gemm_int8_packed.
void gemm_int8(Int8Path path, const std::int8_t* a, Index m, const PackedInt8Matrix& b, std::int32_t* c);

}  // namespace fd::lowp
