// Adam, Keras 3, with the bias correction folded into the step size (t = iterations + 1):
//   m += (1-b1)(g - m);  v += (1-b2)(g^2 - v);  amsgrad: vh = max(vh, v), used instead of v
//   alpha = lr*sqrt(1 - b2^t)/(1 - b1^t);  w -= alpha*m / (sqrt(v) + eps)
// AdamW is the same rule; its decoupled weight decay is applied by the base class.
#pragma once

#include <algorithm>
#include <cmath>

#include "Optimizer.h"

namespace fd {

template <typename T>
class Adam : public Optimizer<T> {
 public:
  using typename Optimizer<T>::Slot;
  explicit Adam(const OptimizerConfig& config) : Optimizer<T>(config) {}

  std::vector<std::vector<std::string>> slot_groups() const override {
    if (this->config_.amsgrad) return {{"momentum", "velocity"}, {"velocity_hat"}};
    return {{"momentum", "velocity"}};
  }

 protected:
  void update(std::vector<Slot>& slots, Index offset, T* w, const T* g, Index n, T lr, int64_t t) override {
    const OptimizerConfig& c = this->config_;
    const T step = static_cast<T>(t);
    const T beta_1_power = std::pow(static_cast<T>(c.beta_1), step);
    const T beta_2_power = std::pow(static_cast<T>(c.beta_2), step);
    const T alpha = lr * std::sqrt(T(1) - beta_2_power) / (T(1) - beta_1_power);
    const T one_minus_b1 = static_cast<T>(1.0 - c.beta_1), one_minus_b2 = static_cast<T>(1.0 - c.beta_2);
    const T eps = static_cast<T>(c.epsilon);
    T* m = slots[0].data() + offset;
    T* v = slots[1].data() + offset;
    T* v_hat = c.amsgrad ? slots[2].data() + offset : nullptr;
    elementwise_for(n, [&](Index i) {
      m[i] += (g[i] - m[i]) * one_minus_b1;
      v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
      T second_moment = v[i];
      if (v_hat) second_moment = v_hat[i] = std::max(v_hat[i], v[i]);
      w[i] -= (m[i] * alpha) / (std::sqrt(second_moment) + eps);
    });
  }
};

}  // namespace fd
