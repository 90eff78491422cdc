// SGD with optional (Nesterov) momentum, Keras 3:
//   m = mu*m - lr*g;  plain: w += m;  nesterov: w += mu*m - lr*g (with the new m).
#pragma once

#include "Optimizer.h"

namespace fd {

template <typename T>
class SGD : public Optimizer<T> {
 public:
  using typename Optimizer<T>::Slot;
  explicit SGD(const OptimizerConfig& config) : Optimizer<T>(config) {}

  // Keras creates the momentum slot only when momentum is non-zero.
  std::vector<std::vector<std::string>> slot_groups() const override {
    if (this->config_.momentum != 0.0) return {{"momentum"}};
    return {};
  }

 protected:
  void update(std::vector<Slot>& slots, Index offset, T* w, const T* g, Index n, T lr, int64_t) override {
    if (slots.empty()) {
      elementwise_for(n, [&](Index i) { w[i] -= g[i] * lr; });
      return;
    }
    T* m = slots[0].data() + offset;
    const T mu = static_cast<T>(this->config_.momentum);
    if (this->config_.nesterov) {
      elementwise_for(n, [&](Index i) {
        m[i] = m[i] * mu - g[i] * lr;
        w[i] += m[i] * mu - g[i] * lr;
      });
    } else {
      elementwise_for(n, [&](Index i) {
        m[i] = m[i] * mu - g[i] * lr;
        w[i] += m[i];
      });
    }
  }
};

}  // namespace fd
