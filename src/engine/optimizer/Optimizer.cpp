// The steps every optimizer shares (clipping, weight decay, iteration counting) and the factory.
#include "Optimizer.h"

#include <algorithm>
#include <cmath>

#include "Adadelta.h"
#include "Adagrad.h"
#include "Adam.h"
#include "Adamax.h"
#include "Nadam.h"
#include "RMSprop.h"
#include "SGD.h"

namespace fd {

namespace {

// Sum of squares accumulated in double: deterministic (no thread-count dependence) and at
// least as accurate as TensorFlow's float32 reduction.
template <typename T>
double squared_norm(const T* g, Index n) {
  return ConstVectorMap<T>(g, n).template cast<double>().squaredNorm();
}

template <typename T>
void scale_in_place(T* g, Index n, T factor) {
  elementwise_for(n, [&](Index i) { g[i] *= factor; });
}

}  // namespace

template <typename T>
void Optimizer<T>::build(const std::vector<Index>& sizes) {
  const auto names = slot_names();
  std::vector<std::vector<Slot>> slots(sizes.size());
  for (size_t p = 0; p < sizes.size(); ++p) {
    if (sizes[p] < 0) throw ShapeError("Optimizer.build: negative parameter size " + std::to_string(sizes[p]));
    for (size_t k = 0; k < names.size(); ++k)
      slots[p].push_back(Slot::Constant(sizes[p], slot_initial_value(static_cast<int>(k))));
  }
  slots_ = std::move(slots);
  sizes_ = sizes;
  all_parameters_.resize(sizes.size());
  for (size_t p = 0; p < sizes.size(); ++p) all_parameters_[p] = static_cast<Index>(p);
  built_ = true;
}

template <typename T>
void Optimizer<T>::reconfigure(const OptimizerConfig& config) {
  if (config.kind != config_.kind)
    throw ConfigError("Optimizer.reconfigure: a '" + config_.kind + "' optimizer cannot become '" + config.kind +
                      "'; create a new optimizer instead");
  const auto before = slot_names();
  const OptimizerConfig previous = config_;
  config_ = config;
  if (built_ && slot_names() != before) {
    config_ = previous;
    throw ConfigError("Optimizer.reconfigure: the new settings change the optimizer's slots; "
                      "create a new optimizer instead");
  }
}

template <typename T>
std::vector<std::string> Optimizer<T>::slot_names() const {
  std::vector<std::string> names;
  for (const auto& group : slot_groups()) names.insert(names.end(), group.begin(), group.end());
  return names;
}

template <typename T>
void Optimizer<T>::check_step(const std::vector<Index>& which, const std::vector<T*>& params,
                              const std::vector<T*>& grads) const {
  if (!built_) throw StateError("Optimizer.apply: the optimizer is not built; call build(sizes) first");
  if (params.size() != which.size() || grads.size() != which.size())
    throw ShapeError("Optimizer.apply: got " + std::to_string(params.size()) + " parameters and " +
                     std::to_string(grads.size()) + " gradients for " + std::to_string(which.size()) + " slots");
  for (size_t i = 0; i < which.size(); ++i) {
    if (which[i] < 0 || which[i] >= static_cast<Index>(sizes_.size()))
      throw OutOfRangeError("Optimizer.apply: parameter index " + std::to_string(which[i]) + " out of range (built for " +
                       std::to_string(sizes_.size()) + ")");
    if (sizes_[which[i]] > 0 && (params[i] == nullptr || grads[i] == nullptr))
      throw ShapeError("Optimizer.apply: null buffer for parameter " + std::to_string(which[i]));
  }
}

template <typename T>
void Optimizer<T>::apply(const std::vector<T*>& params, const std::vector<T*>& grads,
                         const std::vector<Index>& sizes, double learning_rate) {
  if (sizes != sizes_) {
    std::string got, want;
    for (Index s : sizes) got += std::to_string(s) + " ";
    for (Index s : sizes_) want += std::to_string(s) + " ";
    throw ShapeError("Optimizer.apply: parameter sizes [ " + got + "] differ from the built sizes [ " + want + "]");
  }
  apply_to(all_parameters_, params, grads, learning_rate);
}

template <typename T>
void Optimizer<T>::apply_to(const std::vector<Index>& which, const std::vector<T*>& params,
                            const std::vector<T*>& grads, double learning_rate) {
  apply_to(which, params, grads, learning_rate, {});
}

template <typename T>
void Optimizer<T>::apply_to(const std::vector<Index>& which, const std::vector<T*>& params,
                            const std::vector<T*>& grads, double learning_rate,
                            const std::vector<const ChunkObserver*>& observers) {
  check_step(which, params, grads);
  if (!observers.empty() && observers.size() != which.size())
    throw ShapeError("Optimizer.apply: got " + std::to_string(observers.size()) + " observers for " +
                     std::to_string(which.size()) + " parameters");
  const T lr = static_cast<T>(learning_rate);
  const int64_t t = iterations + 1;
  clip(which, grads);
  if (config_.weight_decay != 0.0) decay_weights(which, params, lr);
  begin_step(t);
  for (size_t i = 0; i < which.size(); ++i) {
    const Index n = sizes_[which[i]];
    if (!observers.empty() && observers[i])
      update_in_chunks(slots_[which[i]], params[i], grads[i], n, lr, t, *observers[i]);
    else
      update(slots_[which[i]], 0, params[i], grads[i], n, lr, t);
  }
  ++iterations;
}

// One fork for the whole parameter (as elementwise_for would make), each thread running its
// share of the chunks, each chunk's update single-threaded (no nested fork) and then observed.
template <typename T>
void Optimizer<T>::update_in_chunks(std::vector<Slot>& slots, T* w, const T* g, Index n, T lr, int64_t t,
                                    const ChunkObserver& observer) {
  const Index chunk = std::max<Index>(observer.chunk, 1), chunks = (n + chunk - 1) / chunk;
  const auto run = [&](Index part, Index parts) {
    for (Index c = chunks * part / parts; c < chunks * (part + 1) / parts; ++c) {
      const Index begin = c * chunk, end = std::min(n, begin + chunk);
      update(slots, begin, w + begin, g + begin, end - begin, lr, t);
      observer.done(begin, end);
    }
  };
#ifdef _OPENMP
  if (fork_pays(double(n))) {
    in_team(0, run);
    return;
  }
#endif
  run(0, 1);
}

template <typename T>
void Optimizer<T>::clip(const std::vector<Index>& which, const std::vector<T*>& grads) const {
  if (config_.clipnorm > 0) {
    // tf.clip_by_norm: g * c / max(||g||, c), evaluated in that order.
    const T c = static_cast<T>(config_.clipnorm);
    for (size_t i = 0; i < which.size(); ++i) {
      T* g = grads[i];
      const Index n = sizes_[which[i]];
      const T norm = std::sqrt(static_cast<T>(squared_norm(g, n)));
      const T denom = std::max(norm, c);
      elementwise_for(n, [&](Index j) { g[j] = (g[j] * c) / denom; });
    }
  } else if (config_.global_clipnorm > 0) {
    // Keras's scale c * min(1/norm, 1/c) (not exactly 1 in float when norm < c), made NaN by
    // (norm - norm) when the norm is not finite.
    const T c = static_cast<T>(config_.global_clipnorm);
    double total = 0.0;
    for (size_t i = 0; i < which.size(); ++i) total += squared_norm(grads[i], sizes_[which[i]]);
    const T norm = std::sqrt(static_cast<T>(total));
    const T scale = c * std::min(T(1) / norm, T(1) / c) + (norm - norm);
    for (size_t i = 0; i < which.size(); ++i) scale_in_place(grads[i], sizes_[which[i]], scale);
  } else if (config_.clipvalue > 0) {
    const T v = static_cast<T>(config_.clipvalue);
    for (size_t i = 0; i < which.size(); ++i) {
      T* g = grads[i];
      elementwise_for(sizes_[which[i]], [&](Index j) { g[j] = std::min(std::max(g[j], -v), v); });
    }
  }
}

template <typename T>
void Optimizer<T>::decay_weights(const std::vector<Index>& which, const std::vector<T*>& params, T lr) const {
  const T wd = static_cast<T>(config_.weight_decay);
  for (size_t i = 0; i < which.size(); ++i) {
    T* w = params[i];
    elementwise_for(sizes_[which[i]], [&](Index j) { w[j] -= (w[j] * wd) * lr; });
  }
}

template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config) {
  const std::string& kind = config.kind;
  if (kind == "sgd") return std::make_unique<SGD<T>>(config);
  if (kind == "rmsprop") return std::make_unique<RMSprop<T>>(config);
  // AdamW is Adam whose weight_decay the base class applies; its default (0.004) is set in Python.
  if (kind == "adam" || kind == "adamw") return std::make_unique<Adam<T>>(config);
  if (kind == "adagrad") return std::make_unique<Adagrad<T>>(config);
  if (kind == "adadelta") return std::make_unique<Adadelta<T>>(config);
  if (kind == "adamax") return std::make_unique<Adamax<T>>(config);
  if (kind == "nadam") return std::make_unique<Nadam<T>>(config);
  throw UnknownNameError("unknown optimizer '" + kind +
                   "' (expected sgd, rmsprop, adam, adamw, adagrad, adadelta, adamax or nadam)");
}

template class Optimizer<float>;
template class Optimizer<double>;
template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const OptimizerConfig&);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const OptimizerConfig&);

}  // namespace fd
