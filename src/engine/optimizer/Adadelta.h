// Adadelta, Keras 3:
//   Eg = rho*Eg + (1-rho)*g^2;  delta = -sqrt(Edx + eps)*g / sqrt(Eg + eps)
//   Edx = rho*Edx + (1-rho)*delta^2;  w += lr*delta
#pragma once

#include <cmath>

#include "Optimizer.h"

namespace fd {

template <typename T>
class Adadelta : public Optimizer<T> {
 public:
  using typename Optimizer<T>::Slot;
  explicit Adadelta(const OptimizerConfig& config) : Optimizer<T>(config) {}

  std::vector<std::vector<std::string>> slot_groups() const override {
    return {{"accumulated_grad", "accumulated_delta_var"}};
  }

 protected:
  void update(std::vector<Slot>& slots, Index offset, T* w, const T* g, Index n, T lr, int64_t) override {
    const T rho = static_cast<T>(this->config_.rho), one_minus_rho = static_cast<T>(1.0 - this->config_.rho);
    const T eps = static_cast<T>(this->config_.epsilon);
    T* grad_avg = slots[0].data() + offset;
    T* delta_avg = slots[1].data() + offset;
    elementwise_for(n, [&](Index i) {
      grad_avg[i] = rho * grad_avg[i] + one_minus_rho * (g[i] * g[i]);
      const T delta = -((std::sqrt(delta_avg[i] + eps) * g[i]) / std::sqrt(grad_avg[i] + eps));
      delta_avg[i] = rho * delta_avg[i] + one_minus_rho * (delta * delta);
      w[i] += lr * delta;
    });
  }
};

}  // namespace fd
