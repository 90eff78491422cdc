// Base class of the Keras 3 optimizers. One step, as Keras applies it:
//   1. clip the gradients (clipnorm per tensor, global_clipnorm, or clipvalue),
//   2. decoupled weight decay w -= lr * weight_decay * w,
//   3. the optimizer's own rule (update), 4. iterations += 1.
// Slots (moments, accumulators) are created zero-filled by build(), one set per parameter.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <string>
#include <vector>

#include "../Tensor.h"

namespace fd {

struct OptimizerConfig {
  std::string kind = "sgd";  // sgd, rmsprop, adam, adamw, adagrad, adadelta, adamax, nadam
  double learning_rate = 0.01;
  double momentum = 0.0;     // sgd, rmsprop
  bool nesterov = false;     // sgd
  double rho = 0.9;          // rmsprop, adadelta
  double epsilon = 1e-7;
  bool centered = false;     // rmsprop
  double beta_1 = 0.9, beta_2 = 0.999;  // adam family
  bool amsgrad = false;      // adam, adamw
  double weight_decay = 0.0; // 0 = off
  double initial_accumulator_value = 0.1;  // adagrad
  double clipnorm = 0.0, clipvalue = 0.0, global_clipnorm = 0.0;  // <= 0 = off
};

template <typename T>
class Optimizer {
 public:
  using Slot = Eigen::Array<T, Eigen::Dynamic, 1>;

  explicit Optimizer(const OptimizerConfig& config) : config_(config) {}
  virtual ~Optimizer() = default;

  // Creates the slots for parameters of the given sizes (replacing any previous state).
  void build(const std::vector<Index>& sizes);
  // One optimizer step over all parameters; grads are clipped in place.
  void apply(const std::vector<T*>& params, const std::vector<T*>& grads,
             const std::vector<Index>& sizes, double learning_rate);

  const OptimizerConfig& config() const { return config_; }
  int64_t iterations = 0;

  // Slot names of one parameter in Keras's variable order (e.g. Adam: momentum, velocity).
  virtual std::vector<std::string> slot_names() const = 0;
  // slots[param][slot], readable and writable for persistence.
  std::vector<std::vector<Slot>>& slots() { return slots_; }
  // Optimizer-level scalars Keras keeps besides iterations (Nadam's u_product), same order as Keras.
  virtual std::vector<std::string> scalar_names() const { return {}; }
  virtual std::vector<double> scalars() const { return {}; }
  virtual void set_scalars(const std::vector<double>&) {}

 protected:
  // Called once per step before any parameter is updated (t = iterations + 1).
  virtual void begin_step(int64_t /*t*/) {}
  // The update rule for one parameter of n values, slots already built.
  virtual void update(std::vector<Slot>& slots, T* w, const T* g, Index n, T lr, int64_t t) = 0;
  // Initial value of slot k (Adagrad's accumulator starts at initial_accumulator_value).
  virtual T slot_initial_value(int /*k*/) const { return T(0); }

  OptimizerConfig config_;
  std::vector<std::vector<Slot>> slots_;
};

template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config);

}  // namespace fd
