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
#include "AlignedBuffer.h"
#include "Bfloat16.h"
#include "Dispatch.h"

namespace fd::lowp {

// a: (m, k), or (k, m) when transpose_a; b: (k, n), or (n, k) when transpose_b; c: (m, n).
void gemm_bf16(bool transpose_a, bool transpose_b, Index m, Index n, Index k, const float* a, const float* b,
               float* c, bool accumulate);
// The same on an explicit path (tests compare every path the CPU has against NumPy).
void gemm_bf16(Bf16Path path, bool transpose_a, bool transpose_b, Index m, Index n, Index k, const float* a,
               const float* b, float* c, bool accumulate);

// A weight W, (rows, cols) row-major float32, in bf16 in exactly the layouts gemm_bf16 packs its
// b into for the two products a Dense layer's training step takes with it: x·W (b = W) and, when
// reserved `transposed`, dz·Wᵀ (b = W, transpose_b). A training step that finds W packed here
// packs only its a (the packing of a 4096x4096 W reads 64 MB of float32 per product). Packed in
// groups of rows, so that the optimizer can pack each group while its update is in cache:
// pack_rows(w, first, last) with first a multiple of kRowGroup and last one too, or rows. Groups
// may be packed by several threads at once; the products may read the layouts once all are done.
// The packing stores past the caches (non-temporal): the layouts are read by the next step only.
class PackedWeightBf16 {
 public:
  static constexpr Index kRowGroup = 16;  // rows of W per panel of the transposed layout

  // Sizes both layouts for a (rows, cols) W (the transposed one only when `transposed`).
  void reserve(Index rows, Index cols, bool transposed);
  void pack_rows(const float* w, Index first, Index last);
  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  bool has_transposed() const { return has_transposed_; }
  const bf16_t* forward() const { return forward_.data(); }
  const bf16_t* transposed() const { return transposed_.data(); }

 private:
  Index rows_ = 0, cols_ = 0;
  bool has_transposed_ = false;
  AlignedVector<bf16_t> forward_, transposed_;
};

// c = op_a(a) · W, or op_a(a) · Wᵀ when transpose_w (m rows), with W packed beforehand: only a is
// packed. The same sums as gemm_bf16 on the float32 W, in the same order. For the amx and
// avx512bf16 paths (the emulated one rounds floats and packs nothing); std::logic_error otherwise.
void gemm_bf16(Bf16Path path, bool transpose_a, Index m, const float* a, const PackedWeightBf16& w, bool transpose_w,
               float* c, bool accumulate);

}  // namespace fd::lowp
