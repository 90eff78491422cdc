// bfloat16 matrix product with float32 accumulation: c = op_a(a) · op_b(b) (or c += …), where
// a, b and c are contiguous row-major float32 matrices and both operands are rounded to bfloat16
// (round-to-nearest-even) on the way in, as Keras's mixed_bfloat16 layers cast their inputs and
// kernel to the compute dtype. Every path gives the same bf16 products; only the order of the
// float32 additions differs:
//   amx         AMX tiles (TDPBF16PS), 32x32 blocks of c per step;
//   avx512bf16  VDPBF16PS on 8x32 blocks;
//   emulated    operands rounded in float32, then the engine's float32 product (OpenBLAS).
#pragma once

#include "../Tensor.h"
#include "Dispatch.h"

namespace fd::lowp {

// a: (m, k), or (k, m) when transpose_a; b: (k, n), or (n, k) when transpose_b; c: (m, n).
void gemm_bf16(bool transpose_a, bool transpose_b, Index m, Index n, Index k, const float* a, const float* b,
               float* c, bool accumulate);
// The same on an explicit path (tests compare every path the CPU has against NumPy).
void gemm_bf16(Bf16Path path, bool transpose_a, bool transpose_b, Index m, Index n, Index k, const float* a,
               const float* b, float* c, bool accumulate);

}  // namespace fd::lowp
