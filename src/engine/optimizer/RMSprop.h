// RMSprop, Keras 3 (epsilon inside the square root):
//   v = rho*v + (1-rho)*g^2;  centered: a = rho*a + (1-rho)*g, den = v - a^2 + eps; else den = v + eps
//   inc = lr*g / sqrt(den);  momentum > 0: mom = momentum*mom + inc, w -= mom;  else w -= inc.
#pragma once

#include <cmath>
#include <type_traits>

#include "Optimizer.h"

namespace fd {

template <typename T>
class RMSprop : public Optimizer<T> {
 public:
  using typename Optimizer<T>::Slot;
  explicit RMSprop(const OptimizerConfig& config) : Optimizer<T>(config) {}

  // Keras adds each kind for all variables in turn: velocities, then momentums, then averages.
  std::vector<std::vector<std::string>> slot_groups() const override {
    std::vector<std::vector<std::string>> groups{{"velocity"}};
    if (has_momentum()) groups.push_back({"momentum"});
    if (this->config_.centered) groups.push_back({"average_gradient"});
    return groups;
  }

 protected:
  void update(std::vector<Slot>& slots, Index offset, T* w, const T* g, Index n, T lr, int64_t) override {
    const OptimizerConfig& c = this->config_;
    const T rho = static_cast<T>(c.rho), one_minus_rho = static_cast<T>(1.0 - c.rho);
    const T eps = static_cast<T>(c.epsilon), momentum = static_cast<T>(c.momentum);
    T* v = slots[0].data() + offset;
    T* mom = has_momentum() ? slots[1].data() + offset : nullptr;
    T* avg = c.centered ? slots[has_momentum() ? 2 : 1].data() + offset : nullptr;
    // One loop per variant: with the optional slots tested inside it, the loop stayed scalar.
    const auto rule = [&](auto centered, auto with_momentum) {
      elementwise_for(n, [&](Index i) {
        v[i] = rho * v[i] + one_minus_rho * (g[i] * g[i]);
        T den;
        if constexpr (decltype(centered)::value) {
          avg[i] = rho * avg[i] + one_minus_rho * g[i];
          den = v[i] - avg[i] * avg[i] + eps;
        } else {
          den = v[i] + eps;
        }
        const T inc = (lr * g[i]) / std::sqrt(den);
        if constexpr (decltype(with_momentum)::value) {
          mom[i] = momentum * mom[i] + inc;
          w[i] -= mom[i];
        } else {
          w[i] -= inc;
        }
      });
    };
    using Yes = std::true_type;
    using No = std::false_type;
    if (avg && mom)
      rule(Yes{}, Yes{});
    else if (avg)
      rule(Yes{}, No{});
    else if (mom)
      rule(No{}, Yes{});
    else
      rule(No{}, No{});
  }

 private:
  bool has_momentum() const { return this->config_.momentum > 0.0; }
};

}  // namespace fd
