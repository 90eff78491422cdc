// Activation functions with Keras 3 formulas. Each works on a (rows, cols) row-major block;
// softmax and log_softmax normalise along cols (the feature axis, Keras's axis=-1).
#pragma once

#include <limits>

#include "Tensor.h"

namespace fd {

enum class ActivationKind {
  Linear, Relu, Sigmoid, Softmax, LogSoftmax, Tanh, Elu, Selu, Softplus, Softsign,
  Silu, Gelu, Exponential, HardSigmoid, HardSilu, LeakyRelu, Relu6, Mish
};

struct ActivationSpec {
  ActivationKind kind = ActivationKind::Linear;
  // relu: negative_slope; leaky_relu: negative_slope (Keras default 0.2); elu: alpha (default 1).
  double alpha = 0.0;
  // relu only: upper cap (infinity = none) and the threshold below which it leaks.
  double max_value = std::numeric_limits<double>::infinity();
  double threshold = 0.0;
  // gelu only: tanh approximation instead of the exact erf form.
  bool approximate = false;

  // True for activations whose output rows depend on the whole row (softmax, log_softmax).
  bool is_rowwise() const { return kind == ActivationKind::Softmax || kind == ActivationKind::LogSoftmax; }
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
