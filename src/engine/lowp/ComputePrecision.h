// The precision a layer's matrix products run in: the engine's own scalar (float32 or float64),
// or bfloat16 operands with float32 accumulation for a layer with Keras's "mixed_bfloat16" policy.
// multiply_in is the one place a layer's product chooses between them.
#pragma once

#include <type_traits>

#include "../MatrixProduct.h"
#include "GemmBf16.h"

namespace fd {

enum class ComputePrecision { Native, Bfloat16 };

// c = op_a(a) · op_b(b) (or c += …) in `precision`. Bfloat16 applies to float32 engines only (a
// mixed policy's variables are float32); operands are contiguous row-major matrices or maps.
template <typename C, typename A, typename B>
void multiply_in(ComputePrecision precision, C&& c, const A& a, Transpose op_a, const B& b, Transpose op_b,
                 bool accumulate = false) {
  using T = typename std::decay_t<C>::Scalar;
  if constexpr (std::is_same_v<T, float>) {
    if (precision == ComputePrecision::Bfloat16) {
      const Index k = op_a == Transpose::Yes ? a.rows() : a.cols();
      lowp::gemm_bf16(op_a == Transpose::Yes, op_b == Transpose::Yes, c.rows(), c.cols(), k, a.data(), b.data(),
                      c.data(), accumulate);
      return;
    }
  }
  multiply(std::forward<C>(c), a, op_a, b, op_b, accumulate);
}

}  // namespace fd
