// Gemm.h's entry points: the instruction set's blocked product (GemmIsa.h), and PackedB's storage.
#include "Gemm.h"

#include <cstdlib>
#include <type_traits>

#include "GemmIsa.h"

namespace fd::kernels {

using Index = std::ptrdiff_t;

namespace {

// f(std::integral_constant<Isa, I>{}) for the instruction set I that isa names: each entry point
// below picks the per_isa specialization once, here.
template <typename F>
decltype(auto) on_isa(Isa isa, F&& f) {
  if (isa == Isa::Avx512) return f(std::integral_constant<Isa, Isa::Avx512>{});
  return f(std::integral_constant<Isa, Isa::Avx2>{});
}

void run(Isa isa, bool trans_a, bool trans_b, Index m, Index n, Index k, const float* a, Index lda, const float* b,
         Index ldb, const float* packed_b, bool accumulate, float* c, Index ldc, const ProductEpilogue& epilogue,
         bool round_operands) {
  on_isa(isa, [&](auto i) {
    per_isa::gemm<decltype(i)::value>(trans_a, trans_b, m, n, k, a, lda, b, ldb, packed_b, accumulate, c, ldc,
                                      epilogue, round_operands);
  });
}

Index panel_columns(Isa isa) {
  return on_isa(isa, [](auto i) { return per_isa::panel_columns<decltype(i)::value>(); });
}

}  // namespace

bool gemm_supported(Isa isa) {
  return on_isa(isa, [](auto i) { return per_isa::supported<decltype(i)::value>(); });
}

const char* gemm_blocking(Isa isa) {
  return on_isa(isa, [](auto i) { return per_isa::blocking<decltype(i)::value>(); });
}

void sgemm(Isa isa, bool trans_a, bool trans_b, Index m, Index n, Index k, const float* a, Index lda, const float* b,
           Index ldb, bool accumulate, float* c, Index ldc, const ProductEpilogue& epilogue) {
  run(isa, trans_a, trans_b, m, n, k, a, lda, b, ldb, nullptr, accumulate, c, ldc, epilogue, false);
}

void sgemm_bf16_operands(Isa isa, bool trans_a, bool trans_b, Index m, Index n, Index k, const float* a, Index lda,
                         const float* b, Index ldb, bool accumulate, float* c, Index ldc,
                         const ProductEpilogue& epilogue) {
  run(isa, trans_a, trans_b, m, n, k, a, lda, b, ldb, nullptr, accumulate, c, ldc, epilogue, true);
}

PackedB::~PackedB() { std::free(data_); }

void PackedB::pack(Isa isa, bool trans_b, const float* b, Index ldb, Index k, Index n) {
  reserve(isa, k, n);
  pack_part(trans_b, b, ldb, 0, 1);
}

void PackedB::reserve(Isa isa, Index k, Index n) {
  clear();
  isa_ = isa;
  if (k <= 0 || n <= 0) return;
  const Index panel = panel_columns(isa);
  const size_t floats = size_t(k * ((n + panel - 1) / panel) * panel);  // whole panels, each k x panel
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
  const Index panel = panel_columns(isa_), panels = (n_ + panel - 1) / panel;
  const Index first = panels * part / parts, last = panels * (part + 1) / parts;
  if (first == last) return;
  on_isa(isa_, [&](auto i) { per_isa::pack_panels<decltype(i)::value>(trans_b, b, ldb, k_, n_, first, last, data_); });
}

void sgemm_packed(bool trans_a, Index m, const float* a, Index lda, const PackedB& b, bool accumulate, float* c,
                  Index ldc, const ProductEpilogue& epilogue) {
  if (m <= 0 || b.empty()) return;
  run(b.isa(), trans_a, false, m, b.cols(), b.depth(), a, lda, nullptr, 0, b.data(), accumulate, c, ldc, epilogue,
      false);
}

}  // namespace fd::kernels
