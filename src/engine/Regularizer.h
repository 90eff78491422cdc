// L1/L2 weight and activity penalties: value = l1 * sum|w| + l2 * sum w^2.
#pragma once

#include <cmath>
#include <functional>

#include "Tensor.h"

namespace fd {

struct RegularizerSpec {
  double l1 = 0.0;
  double l2 = 0.0;
  bool active() const { return l1 != 0.0 || l2 != 0.0; }
};

// Adds scale * d(penalty)/dw to grad and returns scale * penalty.
// d/dw = l1 * sign(w) + 2 * l2 * w, with sign(0) = 0 as in TensorFlow.
template <typename T>
double regularize(const RegularizerSpec& spec, const T* w, T* grad, Index n, double scale = 1.0) {
  if (!spec.active()) return 0.0;
  const T l1 = T(spec.l1 * scale), l2x2 = T(2.0 * spec.l2 * scale);
  double abs_sum = 0.0, sq_sum = 0.0;
  for (Index i = 0; i < n; ++i) {
    const T v = w[i];
    abs_sum += std::abs(v);
    sq_sum += double(v) * v;
    if (grad) grad[i] += l1 * T((v > 0) - (v < 0)) + l2x2 * v;
  }
  return scale * (spec.l1 * abs_sum + spec.l2 * sq_sum);
}

// A penalty computed outside the engine (a user's function), called with the same contract as
// regularize: penalty(values, rows, cols, grad, scale) returns scale * penalty(values) and, when
// grad is not null, adds scale * d(penalty)/d(values) into grad. Empty when there is none.
template <typename T>
using CustomPenalty = std::function<double(const T* values, Index rows, Index cols, T* grad, double scale)>;

}  // namespace fd
