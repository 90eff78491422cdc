// Weight constraints, applied to a parameter after each optimizer step (Keras 3 formulas,
// with the norm taken over `axis` of a (rows, cols) parameter; ε = 1e-7).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>

#include "Tensor.h"

namespace fd {

enum class ConstraintKind { None, MaxNorm, NonNeg, UnitNorm, MinMaxNorm };

struct ConstraintSpec {
  ConstraintKind kind = ConstraintKind::None;
  double max_value = 2.0;  // MaxNorm, MinMaxNorm
  double min_value = 0.0;  // MinMaxNorm
  double rate = 1.0;       // MinMaxNorm: blend between the clipped and the current norm
  int axis = 0;            // 0: one norm per column (per unit of a Dense kernel); 1: per row
};

// Rescales each slice w to norm `desired(norm)`: w <- w * desired / (ε + norm).
// A 1-D parameter (a bias, stored as one row) has a single norm over all its values.
template <typename T>
void apply_constraint(const ConstraintSpec& spec, T* data, Index rows, Index cols, bool one_dimensional) {
  if (spec.kind == ConstraintKind::None) return;
  MatrixMap<T> w(data, rows, cols);
  if (spec.kind == ConstraintKind::NonNeg) {
    w = w.cwiseMax(T(0));
    return;
  }
  auto desired = [&](T norm) -> T {
    switch (spec.kind) {
      case ConstraintKind::MaxNorm: return std::min(norm, T(spec.max_value));
      case ConstraintKind::UnitNorm: return T(1);
      default: {
        const T clipped = std::clamp(norm, T(spec.min_value), T(spec.max_value));
        return T(spec.rate) * clipped + T(1 - spec.rate) * norm;
      }
    }
  };
  const T eps = T(1e-7);
  if (one_dimensional) {
    const T norm = w.norm();
    w *= desired(norm) / (eps + norm);
  } else if (spec.axis == 0) {
    for (Index j = 0; j < cols; ++j) {
      const T norm = w.col(j).norm();
      w.col(j) *= desired(norm) / (eps + norm);
    }
  } else {
    for (Index i = 0; i < rows; ++i) {
      const T norm = w.row(i).norm();
      w.row(i) *= desired(norm) / (eps + norm);
    }
  }
}

// A projection computed outside the engine (a user's constraint): replaces the (rows, cols)
// values in place. Empty when there is none.
template <typename T>
using CustomConstraint = std::function<void(T* values, Index rows, Index cols)>;

}  // namespace fd
