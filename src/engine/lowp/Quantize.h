// Keras's abs-max quantization of one row of activations (keras/src/quantizers/quantizers.py
// abs_max_quantize, value_range ±127): scale = 127 / (max|x| + 1e-7), q = clip(round(x · scale))
// with round half to even, stored offset by `offset` (128 for the VNNI paths' unsigned operand).
#pragma once

#include <cstdint>

#include "../Tensor.h"

namespace fd::lowp {

// Writes n quantized values to out and returns the row's scale.
float quantize_row(const float* in, Index n, std::int8_t* out, int offset);
// The same values as floats (integers in [-127, 127]), for the portable path's float product.
float quantize_row(const float* in, Index n, float* out);

}  // namespace fd::lowp
