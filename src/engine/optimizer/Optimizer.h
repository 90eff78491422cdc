// Base class of the Keras 3 optimizers. One step, as Keras applies it:
//   1. clip the gradients (clipnorm per tensor, global_clipnorm, or clipvalue),
//   2. decoupled weight decay w -= lr * weight_decay * w,
//   3. the optimizer's own rule (update), 4. iterations += 1.
// Slots (moments, accumulators) are created by build(), one set per parameter.
//
// Arithmetic is done in T, with every hyper-parameter rounded to T first, as Keras does with
// float32 variables: the learning rate, beta_1, the clipping threshold, ...
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../Tensor.h"

namespace fd {

struct OptimizerConfig {
  std::string kind = "sgd";  // sgd, rmsprop, adam, adamw, adagrad, adadelta, adamax, nadam
  double learning_rate = 0.01;  // informative only: apply() receives the rate of each step
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

  // Creates the slots for parameters of the given sizes (replacing any previous state;
  // iterations and optimizer scalars are kept).
  void build(const std::vector<Index>& sizes);
  bool built() const { return built_; }
  // Sizes given to build(), one per parameter.
  const std::vector<Index>& sizes() const { return sizes_; }

  // One optimizer step over all parameters, in build() order; grads are clipped in place.
  // sizes must be the built sizes (they are checked, not trusted).
  void apply(const std::vector<T*>& params, const std::vector<T*>& grads,
             const std::vector<Index>& sizes, double learning_rate);
  // One step over a subset of the parameters: params[i] is parameter which[i] of build().
  // Keras skips variables whose gradient is None this way: their slots stay untouched.
  void apply_to(const std::vector<Index>& which, const std::vector<T*>& params,
                const std::vector<T*>& grads, double learning_rate);
  // What watches the update of one parameter: the update runs over it in chunks of `chunk` values
  // (the last may be shorter), and done(begin, end) follows each chunk [begin, end) in the thread
  // that updated it, while those values are in its cache (Network packs a bf16 kernel there). The
  // chunks are split across the engine's threads as the update itself would be; the values are
  // the same as without an observer (every rule is elementwise).
  struct ChunkObserver {
    Index chunk = 0;
    std::function<void(Index begin, Index end)> done;
  };
  // apply_to, with observers[i] (null: none) watching params[i]'s update; empty: none at all.
  void apply_to(const std::vector<Index>& which, const std::vector<T*>& params, const std::vector<T*>& grads,
                double learning_rate, const std::vector<const ChunkObserver*>& observers);

  const OptimizerConfig& config() const { return config_; }
  // New hyper-parameters for the same rule, in place: this object stays the one a Network
  // points at, and the state (iterations, slots, scalars) is kept. Refused (state untouched)
  // when the rule's name differs or, once built, when the slot layout would change (SGD
  // momentum going from 0 to 0.9).
  void reconfigure(const OptimizerConfig& config);
  int64_t iterations = 0;

  // Slot groups in Keras's creation order. Keras creates each group for all variables before
  // the next group, and interleaves the names of one group per variable; so its variable list
  // is: for group, for parameter, for name in group. E.g. Adam with amsgrad:
  // {{"momentum", "velocity"}, {"velocity_hat"}}.
  virtual std::vector<std::vector<std::string>> slot_groups() const = 0;
  // All slot names of one parameter, groups flattened: the order of slots()[param].
  std::vector<std::string> slot_names() const;
  // slots[param][slot], readable and writable for persistence.
  std::vector<std::vector<Slot>>& slots() { return slots_; }
  const std::vector<std::vector<Slot>>& slots() const { return slots_; }
  // Optimizer-level state Keras keeps besides iterations (Nadam's u_product); Keras lists these
  // after all slots.
  virtual std::vector<std::string> scalar_names() const { return {}; }
  virtual std::vector<double> scalars() const { return {}; }
  virtual void set_scalars(const std::vector<double>&) {}

 protected:
  // Called once per step before any parameter is updated (t = iterations + 1).
  virtual void begin_step(int64_t /*t*/) {}
  // The update rule for values [offset, offset + n) of one parameter (slots already built): w and g
  // point at the first of them, the slots are read from `offset` on. lr is rounded to T.
  virtual void update(std::vector<Slot>& slots, Index offset, T* w, const T* g, Index n, T lr, int64_t t) = 0;
  // Initial value of slot k (Adagrad's accumulator starts at initial_accumulator_value).
  virtual T slot_initial_value(int /*k*/) const { return T(0); }

  OptimizerConfig config_;
  std::vector<std::vector<Slot>> slots_;

 private:
  void check_step(const std::vector<Index>& which, const std::vector<T*>& params,
                  const std::vector<T*>& grads) const;
  void clip(const std::vector<Index>& which, const std::vector<T*>& grads) const;
  void decay_weights(const std::vector<Index>& which, const std::vector<T*>& params, T lr) const;
  void update_in_chunks(std::vector<Slot>& slots, T* w, const T* g, Index n, T lr, int64_t t,
                        const ChunkObserver& observer);

  std::vector<Index> sizes_;
  std::vector<Index> all_parameters_;  // 0..n-1, so that apply() allocates nothing
  bool built_ = false;
};

// The optimizer named by config.kind; ShapeError for an unknown kind.
template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config);

}  // namespace fd
