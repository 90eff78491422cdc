// Nadam, Keras 3: Adam with Dozat's momentum schedule mu_t = b1*(1 - 0.5*0.96^t) (t = iterations+1)
// and the running product P_t = P_{t-1}*mu_t, advanced once per step before any update:
//   m += (1-b1)(g - m);  v += (1-b2)(g^2 - v)
//   m_hat = mu_{t+1}*m / (1 - P_t*mu_{t+1}) + (1 - mu_t)*g / (1 - P_t);  v_hat = v / (1 - b2^t)
//   w -= lr*m_hat / (sqrt(v_hat) + eps)
#pragma once

#include <cmath>

#include "Optimizer.h"

namespace fd {

template <typename T>
class Nadam : public Optimizer<T> {
 public:
  using typename Optimizer<T>::Slot;
  explicit Nadam(const OptimizerConfig& config) : Optimizer<T>(config) {}

  std::vector<std::vector<std::string>> slot_groups() const override { return {{"momentum", "velocity"}}; }

  // Keras stores the running product as an optimizer variable after the slots.
  std::vector<std::string> scalar_names() const override { return {"u_product"}; }
  std::vector<double> scalars() const override { return {static_cast<double>(u_product_)}; }
  void set_scalars(const std::vector<double>& values) override {
    if (values.size() != 1)
      throw ShapeError("Nadam.set_scalars: expected 1 value (u_product), got " + std::to_string(values.size()));
    u_product_ = static_cast<T>(values[0]);
  }

 protected:
  void begin_step(int64_t t) override { u_product_ = u_product_ * beta_1() * momentum_decay(t); }

  void update(std::vector<Slot>& slots, Index offset, T* w, const T* g, Index n, T lr, int64_t t) override {
    const T b1 = beta_1(), b2 = static_cast<T>(this->config_.beta_2);
    const T mu_t = b1 * momentum_decay(t), mu_next = b1 * momentum_decay(t + 1);
    const T product = u_product_, product_next = product * mu_next;
    const T beta_2_power = std::pow(b2, static_cast<T>(t));
    const T one_minus_b1 = T(1) - b1, one_minus_b2 = T(1) - b2;
    const T eps = static_cast<T>(this->config_.epsilon);
    T* m = slots[0].data() + offset;
    T* v = slots[1].data() + offset;
    elementwise_for(n, [&](Index i) {
      m[i] += (g[i] - m[i]) * one_minus_b1;
      v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
      const T m_hat = (mu_next * m[i]) / (T(1) - product_next) + ((T(1) - mu_t) * g[i]) / (T(1) - product);
      const T v_hat = v[i] / (T(1) - beta_2_power);
      w[i] -= (m_hat * lr) / (std::sqrt(v_hat) + eps);
    });
  }

 private:
  T beta_1() const { return static_cast<T>(this->config_.beta_1); }
  // 1 - 0.5*0.96^t: the factor that turns beta_1 into the momentum of step t.
  static T momentum_decay(int64_t t) { return T(1) - T(0.5) * std::pow(T(0.96), static_cast<T>(t)); }

  T u_product_ = T(1);
};

}  // namespace fd
