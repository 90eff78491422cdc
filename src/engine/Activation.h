// Activation functions with Keras 3 formulas. Each works on a (rows, cols) row-major block;
// softmax and log_softmax normalise along cols (the feature axis, Keras's axis=-1).
#pragma once

#include <limits>

#include "Tensor.h"

namespace fd {

enum class ActivationKind {
  Linear, Relu, Sigmoid, Softmax, LogSoftmax, Tanh, Elu, Selu, Softplus, Softsign,
  Silu, Gelu, Exponential, HardSigmoid, HardSilu, LeakyRelu, Relu6, Mish,
  // Added in Keras 3.7-3.9:
  Celu, HardTanh, LogSigmoid, SoftShrink, HardShrink, TanhShrink, Squareplus, SparsePlus, SparseSigmoid,
  Threshold
};

struct ActivationSpec {
  ActivationKind kind = ActivationKind::Linear;
  // relu: negative_slope; leaky_relu: negative_slope (Keras default 0.2); elu, celu: alpha (default 1).
  double alpha = 0.0;
  // relu: upper cap (infinity = none) and the threshold below which it leaks.
  double max_value = std::numeric_limits<double>::infinity();
  // relu: see above; soft_shrink, hard_shrink: the half-width of the zeroed band (default 0.5);
  // threshold: the value z must exceed to be kept.
  double threshold = 0.0;
  // squareplus only: b in (z + sqrt(z² + b)) / 2.
  double b = 4.0;
  // threshold only: the value of z <= threshold.
  double default_value = 0.0;
  // gelu only: tanh approximation instead of the exact erf form.
  bool approximate = false;

  // True for activations whose output rows depend on the whole row (softmax, log_softmax).
  bool is_rowwise() const { return kind == ActivationKind::Softmax || kind == ActivationKind::LogSoftmax; }
  // max(z, 0) with none of relu's options (slope, cap, threshold): Keras's default relu, the one
  // the products' epilogues apply while a block is in cache (Dense's predict, QuantizedDense).
  bool is_plain_relu() const {
    return kind == ActivationKind::Relu && alpha == 0.0 && threshold == 0.0 &&
           max_value == std::numeric_limits<double>::infinity();
  }
};

// y = act(z). z and y may alias (in-place).
template <typename T>
void activation_forward(const ActivationSpec& spec, const T* z, T* y, Index rows, Index cols);

// dz = dy * act'(z), given both z and y = act(z) (each activation uses whichever is cheaper).
// dz may alias dy.
template <typename T>
void activation_backward(const ActivationSpec& spec, const T* z, const T* y, const T* dy, T* dz,
                         Index rows, Index cols);

}  // namespace fd
