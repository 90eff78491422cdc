// Adagrad, Keras 3 (epsilon inside the square root):
//   acc += g^2;  w -= lr*g / sqrt(acc + eps);  acc starts at initial_accumulator_value.
#pragma once

#include <cmath>

#include "Optimizer.h"

namespace fd {

template <typename T>
class Adagrad : public Optimizer<T> {
 public:
  using typename Optimizer<T>::Slot;
  explicit Adagrad(const OptimizerConfig& config) : Optimizer<T>(config) {}

  std::vector<std::vector<std::string>> slot_groups() const override { return {{"accumulator"}}; }

 protected:
  T slot_initial_value(int) const override { return static_cast<T>(this->config_.initial_accumulator_value); }

  void update(std::vector<Slot>& slots, Index offset, T* w, const T* g, Index n, T lr, int64_t) override {
    const T eps = static_cast<T>(this->config_.epsilon);
    T* acc = slots[0].data() + offset;
    elementwise_for(n, [&](Index i) {
      acc[i] += g[i] * g[i];
      w[i] -= (lr * g[i]) / std::sqrt(acc[i] + eps);
    });
  }
};

}  // namespace fd
