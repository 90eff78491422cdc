// Adamax, Keras 3 (t = iterations + 1):
//   m += (1-b1)(g - m);  u = max(b2*u, |g|);  w -= lr*m / ((1 - b1^t)*(u + eps))
#pragma once

#include <algorithm>
#include <cmath>

#include "Optimizer.h"

namespace fd {

template <typename T>
class Adamax : public Optimizer<T> {
 public:
  using typename Optimizer<T>::Slot;
  explicit Adamax(const OptimizerConfig& config) : Optimizer<T>(config) {}

  std::vector<std::vector<std::string>> slot_groups() const override { return {{"momentum", "norm"}}; }

 protected:
  void update(std::vector<Slot>& slots, Index offset, T* w, const T* g, Index n, T lr, int64_t t) override {
    const OptimizerConfig& c = this->config_;
    const T bias_correction = T(1) - std::pow(static_cast<T>(c.beta_1), static_cast<T>(t));
    const T one_minus_b1 = static_cast<T>(1.0 - c.beta_1), beta_2 = static_cast<T>(c.beta_2);
    const T eps = static_cast<T>(c.epsilon);
    T* m = slots[0].data() + offset;
    T* u = slots[1].data() + offset;
    elementwise_for(n, [&](Index i) {
      m[i] += (g[i] - m[i]) * one_minus_b1;
      u[i] = std::max(beta_2 * u[i], std::abs(g[i]));
      w[i] -= (lr * m[i]) / (bias_correction * (u[i] + eps));
    });
  }
};

}  // namespace fd
