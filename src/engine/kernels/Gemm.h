// fastdense's own float32 matrix products for x86 CPUs with AVX-512 or AVX2 (and FMA):
// C = op(A) op(B) (or C += …), row-major, single-threaded (MatrixProduct.h's multiply() gives each
// OpenMP thread its slab of C). One blocked algorithm (GemmBlocked.h), compiled once per
// instruction set at the x86-64 baseline with per-function target attributes: a portable build
// carries both, and only a CPU whose CPUID reports the instruction set runs its kernel.
#pragma once

#include <cstddef>

namespace fd::kernels {

// The instruction sets the kernels are compiled for: AVX-512 (F/BW/VL, a 12 x 32 register tile
// in 24 ZMM registers) and AVX2 with FMA (a 6 x 16 tile in 12 YMM registers).
enum class Isa { Avx512, Avx2 };

// Whether this CPU (and its operating system, which must save the vector registers) runs it.
bool gemm_supported(Isa isa);

// The register tile, for the benchmark's record of the path: "12x32" or "6x16".
const char* gemm_blocking(Isa isa);

// What a product does to each finished value of c in the store that writes it:
// c = relu(c / (column_scale[j] * row_scale[i]) + bias[j]) (bias, column_scale: one value per
// column of c, or none; row_scale: one per row, set with column_scale; relu: max(0, ·), or
// none). A Dense layer's bias and relu, and an int8 Dense's dequantization on the portable path,
// then cost no pass of their own over its output.
struct ProductEpilogue {
  const float* bias = nullptr;
  bool relu = false;
  const float* column_scale = nullptr;
  const float* row_scale = nullptr;
};

// c (m x n, row stride ldc) = op_a(a) · op_b(b), or c += … when accumulate, then the epilogue. a
// is (m x k) with row stride lda, or (k x m) when trans_a; b is (k x n) with row stride ldb, or
// (n x k) when trans_b. The CPU must support `isa`.
void sgemm(Isa isa, bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const float* a,
           std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb, bool accumulate, float* c, std::ptrdiff_t ldc,
           const ProductEpilogue& epilogue = {});

// The same with every value of a and b rounded to bfloat16 (round-to-nearest-even, as
// lowp/Bfloat16.h's round_to_bf16) as the kernel packs it: the emulated mixed_bfloat16 product
// without a rounded copy of either operand.
void sgemm_bf16_operands(Isa isa, bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k,
                         const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb, bool accumulate,
                         float* c, std::ptrdiff_t ldc, const ProductEpilogue& epilogue = {});

// op(B) packed once into one kernel's panels (its tile's columns each, at the whole depth k), for
// products that reuse one B many times (a Dense layer's weights over the chunks of one predict
// call). A copy starts empty: the packed form belongs to the one object that packed it.
class PackedB {
 public:
  PackedB() = default;
  PackedB(const PackedB&) {}
  PackedB& operator=(const PackedB&) {
    clear();
    return *this;
  }
  ~PackedB();
  // Packs op(b), (k x n), for `isa`'s kernel: b is (k x n) with row stride ldb, or (n x k) when trans_b.
  void pack(Isa isa, bool trans_b, const float* b, std::ptrdiff_t ldb, std::ptrdiff_t k, std::ptrdiff_t n);
  // The same in steps, so that several threads can pack one B: reserve() sizes it for a k x n
  // op(B), then pack_part(…, part, parts) for every part in 0..parts (in any threads, at once)
  // packs panels part·P/parts up to (part+1)·P/parts of its P panels. Products may use it only
  // after every part is packed.
  void reserve(Isa isa, std::ptrdiff_t k, std::ptrdiff_t n);
  void pack_part(bool trans_b, const float* b, std::ptrdiff_t ldb, int part, int parts);
  void clear() { k_ = n_ = 0; }
  bool empty() const { return k_ == 0 || n_ == 0; }
  Isa isa() const { return isa_; }
  std::ptrdiff_t depth() const { return k_; }
  std::ptrdiff_t cols() const { return n_; }
  const float* data() const { return data_; }

 private:
  float* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::ptrdiff_t k_ = 0, n_ = 0;
  Isa isa_ = Isa::Avx512;
};

// c (m x b.cols(), row stride ldc) = op_a(a) · B (or += …) with B packed beforehand (on the
// kernel it was packed for), then the epilogue.
void sgemm_packed(bool trans_a, std::ptrdiff_t m, const float* a, std::ptrdiff_t lda, const PackedB& b,
                  bool accumulate, float* c, std::ptrdiff_t ldc, const ProductEpilogue& epilogue = {});

}  // namespace fd::kernels
