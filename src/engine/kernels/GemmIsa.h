// What each instruction set's kernel file (GemmAvx512.cpp, GemmAvx2.cpp) defines for Gemm.cpp:
// explicit specializations of these templates, over GemmBlocked.h compiled for that instruction set.
#pragma once

#include <cstddef>

#include "Gemm.h"

namespace fd::kernels::per_isa {

template <Isa I>
bool supported();
// The register tile ("12x32") and the width of its B panels (a PackedB's panel width).
template <Isa I>
const char* blocking();
template <Isa I>
std::ptrdiff_t panel_columns();
// GemmBlocked.h's gemm(): packed_b, when not null, is a whole-depth PackedB's panels.
template <Isa I>
void gemm(bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const float* a,
          std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb, const float* packed_b, bool accumulate, float* c,
          std::ptrdiff_t ldc, const ProductEpilogue& epilogue, bool round_operands);
// Panels [first, last) of a whole-depth PackedB of op(b) (k x n), into data.
template <Isa I>
void pack_panels(bool trans_b, const float* b, std::ptrdiff_t ldb, std::ptrdiff_t k, std::ptrdiff_t n,
                 std::ptrdiff_t first, std::ptrdiff_t last, float* data);

}  // namespace fd::kernels::per_isa
