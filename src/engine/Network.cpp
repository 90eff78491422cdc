#include "Network.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <shared_mutex>

#include "ParameterLock.h"
#include "layer/Dense.h"

namespace fd {

namespace {

// tf.keras computes crossentropy from the pre-activation values whenever the prediction comes
// straight out of a sigmoid or softmax, whatever from_logits says (reference §2.3).
bool use_logits(const LossSpec& loss, ActivationKind final_activation) {
  const bool crossentropy = loss.kind == LossKind::BinaryCrossentropy ||
                            loss.kind == LossKind::CategoricalCrossentropy ||
                            loss.kind == LossKind::SparseCategoricalCrossentropy;
  const bool squashed = final_activation == ActivationKind::Sigmoid || final_activation == ActivationKind::Softmax;
  return crossentropy && squashed;
}

// The weight penalty of p: the built-in part plus a user's, adding the gradient when grad is set.
template <typename T>
double weight_penalty(Parameter<T>& p, T* grad) {
  double penalty = regularize(p.regularizer, p.value, grad, p.size());
  if (p.custom_regularizer) penalty += p.custom_regularizer(p.value, p.rows, p.cols, grad, 1.0);
  return penalty;
}

// A layer's activity penalty over a batch of n rows (Keras divides it by the batch size).
template <typename T>
double activity_penalty(Layer<T>& layer, T* grad, Index n) {
  auto y = layer.value();
  const double scale = 1.0 / double(n);
  double penalty = regularize(layer.activity_regularizer, y.data(), grad, y.size(), scale);
  if (layer.custom_activity_regularizer)
    penalty += layer.custom_activity_regularizer(y.data(), y.rows(), y.cols(), grad, scale);
  return penalty;
}

template <typename T>
void copy_rows(T* dst, const T* src, Index width, const int64_t* index, Index first, Index n) {
  if (!index) {
    std::memcpy(dst, src + first * width, sizeof(T) * size_t(n * width));
    return;
  }
  for (Index r = 0; r < n; ++r)
    std::memcpy(dst + r * width, src + index[first + r] * width, sizeof(T) * size_t(width));
}

// copy_rows with the rows shared out across the engine's threads when they hold enough values
// to pay for a fork. A training step's batch is gathered between two parallel regions: on one
// thread the other one spun idle meanwhile (perf, 784-256-256-10 at batch 128 on the AMD EPYC:
// the gather 4% of the main thread's samples, the waiting worker's spin 22% of its own).
template <typename T>
void copy_rows_shared(T* dst, const T* src, Index width, const int64_t* index, Index first, Index n) {
  const Index parts = engine_threads();  // one run of rows a thread (copied in turn when no fork pays)
  parallel_for_work(parts, double(n) * double(width), [&](Index part) {
    const Index begin = n * part / parts, end = n * (part + 1) / parts;
    copy_rows(dst + begin * width, src, width, index, first + begin, end - begin);
  });
}

}  // namespace

template <typename T>
int Network<T>::add_layer(std::unique_ptr<Layer<T>> layer, const std::vector<int>& inputs) {
  if (optimizer_) throw StateError("add_layer: the network already has its optimizer");
  std::vector<Layer<T>*> sources;
  for (int id : inputs) {
    if (id < 0 || id >= int(layers_.size()))
      throw OutOfRangeError("add_layer: input id " + std::to_string(id) + " does not name an earlier layer");
    sources.push_back(layers_[id].get());
  }
  const bool model_input = dynamic_cast<InputLayer<T>*>(layer.get()) != nullptr;
  if (model_input != inputs.empty())
    throw ShapeError("add_layer: only an InputLayer may have no inputs, and it must have none");
  layer->connect(std::move(sources));
  layers_.push_back(std::move(layer));
  {
    std::lock_guard<std::mutex> pool(pool_mutex_);
    workspaces_.clear();  // copies of the old graph
  }
  const int id = int(layers_.size()) - 1;
  if (model_input) inputs_.push_back(id);
  return id;
}

template <typename T>
void Network<T>::add_output(int layer, std::optional<LossSpec> loss, double loss_weight) {
  if (layer < 0 || layer >= int(layers_.size()))
    throw OutOfRangeError("add_output: " + std::to_string(layer) + " does not name a layer");
  bool from_logits = false;
  if (loss && use_logits(*loss, layers_[layer]->final_activation())) {
    from_logits = true;
    loss->from_logits = true;
  }
  outputs_.push_back(Output{layer, loss, loss_weight, from_logits, Mean{}});
}

template <typename T>
void Network<T>::add_output(int layer, CustomLoss<T> loss, Index target_cols, double loss_weight) {
  if (layer < 0 || layer >= int(layers_.size()))
    throw OutOfRangeError("add_output: " + std::to_string(layer) + " does not name a layer");
  if (!loss) throw ConfigError("add_output: the custom loss is empty");
  if (target_cols <= 0) throw ShapeError("add_output: target_cols must be positive, got " + std::to_string(target_cols));
  Output out{layer, std::nullopt, loss_weight, false, Mean{}};
  out.custom_loss = std::move(loss);
  out.custom_target_cols = target_cols;
  outputs_.push_back(std::move(out));
}

template <typename T>
size_t Network<T>::custom_callbacks() const {
  size_t count = 0;
  for (const auto& layer : layers_) {
    count += layer->kind() == "Callback";
    count += bool(layer->custom_activity_regularizer);
    for (Parameter<T>* p : layer->parameters()) count += bool(p->custom_regularizer) + bool(p->custom_constraint);
  }
  for (const auto& out : outputs_) count += bool(out.custom_loss);
  return count;
}

template <typename T>
void Network<T>::add_metric(int output, const MetricSpec& spec) {
  if (output < 0 || output >= int(outputs_.size()))
    throw OutOfRangeError("add_metric: " + std::to_string(output) + " does not name an output");
  const Index width = output_width(output);
  if (outputs_[output].has_loss() && metric_target_cols(spec, width) != target_cols(output))
    throw ShapeError("add_metric: the metric reads " + std::to_string(metric_target_cols(spec, width)) +
                     " target column(s) but the loss of output " + std::to_string(output) + " reads " +
                     std::to_string(target_cols(output)));
  MetricSpec resolved = spec;
  const bool from_logits =
      spec.kind == MetricKind::Loss && use_logits(spec.loss, layers_[outputs_[output].layer]->final_activation());
  if (from_logits) resolved.loss.from_logits = true;
  metrics_.push_back(OutputMetric{size_t(output), from_logits, MetricAccumulator(resolved)});
}

template <typename T>
Index Network<T>::target_cols(size_t o) const {
  const Index width = output_width(o);
  if (outputs_[o].custom_loss) return outputs_[o].custom_target_cols;
  if (outputs_[o].loss) return loss_target_cols(*outputs_[o].loss, width);
  for (const auto& m : metrics_)
    if (m.output == o) return metric_target_cols(m.accumulator.spec(), width);
  return width;
}

template <typename T>
void Network<T>::collect_trainable() {
  mark_gradient_needs();
  trainable_.clear();
  shared_.clear();
  trainable_values_.clear();
  trainable_grads_.clear();
  trainable_sizes_.clear();
  for (auto& layer : layers_)
    for (Parameter<T>* p : layer->parameters())
      if (p->trainable) {
        auto primary = std::find_if(trainable_.begin(), trainable_.end(),
                                    [&](Parameter<T>* q) { return q->value == p->value; });
        if (primary != trainable_.end()) {
          shared_.emplace_back(p, *primary);
          continue;
        }
        trainable_.push_back(p);
        trainable_values_.push_back(p->value);
        trainable_grads_.push_back(p->grad.data());
        trainable_sizes_.push_back(p->size());
      }
}

template <typename T>
void Network<T>::set_optimizer(Optimizer<T>* optimizer, const std::vector<T*>& order,
                               const std::vector<Index>& optimizer_index) {
  collect_trainable();
  if (order.size() != trainable_.size())
    throw ShapeError("set_optimizer: the network has " + std::to_string(trainable_.size()) +
                     " trainable weights, but " + std::to_string(order.size()) + " were listed");
  std::vector<Parameter<T>*> ordered;
  for (T* value : order) {
    auto found = std::find_if(trainable_.begin(), trainable_.end(), [&](Parameter<T>* p) { return p->value == value; });
    if (found == trainable_.end() || std::count(ordered.begin(), ordered.end(), *found))
      throw ShapeError("set_optimizer: the listed weights are not the network's trainable weights");
    ordered.push_back(*found);
  }
  trainable_ = ordered;
  for (size_t i = 0; i < trainable_.size(); ++i) {
    trainable_values_[i] = trainable_[i]->value;
    trainable_grads_[i] = trainable_[i]->grad.data();
    trainable_sizes_[i] = trainable_[i]->size();
  }
  if (!optimizer->built()) throw StateError("set_optimizer: the optimizer is not built");
  if (optimizer_index.size() != order.size())
    throw ShapeError("set_optimizer: " + std::to_string(order.size()) + " weights but " +
                     std::to_string(optimizer_index.size()) + " optimizer indices");
  const auto& built = optimizer->sizes();
  for (size_t i = 0; i < optimizer_index.size(); ++i) {
    const Index at = optimizer_index[i];
    if (at < 0 || at >= Index(built.size()))
      throw OutOfRangeError("set_optimizer: optimizer index " + std::to_string(at) + " out of range (built for " +
                            std::to_string(built.size()) + " weights)");
    if (std::count(optimizer_index.begin(), optimizer_index.end(), at) > 1)
      throw ConfigError("set_optimizer: optimizer index " + std::to_string(at) + " given twice");
    if (built[size_t(at)] != trainable_sizes_[i])
      throw ShapeError("set_optimizer: weight " + std::to_string(i) + " has " + std::to_string(trainable_sizes_[i]) +
                       " values, the optimizer's weight " + std::to_string(at) + " has " +
                       std::to_string(built[size_t(at)]));
  }
  optimizer_ = optimizer;
  optimizer_index_ = optimizer_index;
  kernel_caches_built_ = false;  // built for these trainable weights at the first train call that packs
}

template <typename T>
void Network<T>::mark_gradient_needs() {
  for (auto& layer : layers_) {
    bool needs = false;
    for (Parameter<T>* p : layer->parameters()) needs |= p->trainable;
    for (Layer<T>* in : layer->inputs()) needs |= in->needs_grad;
    layer->needs_grad = needs;
  }
}

template <typename T>
void Network<T>::prepare(Index batch) {
  for (auto& layer : layers_) layer->resize(batch);
  if (batch <= capacity_) return;
  target_buffers_.resize(outputs_.size());
  for (size_t o = 0; o < outputs_.size(); ++o) target_buffers_[o].resize(batch, target_cols(o));
  weight_buffer_.resize(size_t(batch));
  per_sample_.resize(size_t(batch));
  capacity_ = batch;
}

template <typename T>
void Network<T>::gather(const Dataset<T>& data, const int64_t* index, Index first, Index n) {
  for (size_t k = 0; k < inputs_.size(); ++k) {
    Layer<T>& input = *layers_[inputs_[k]];
    copy_rows_shared(input.value().data(), data.inputs[k], input.width(), index, first, n);
  }
  for (size_t o = 0; o < data.targets.size(); ++o)
    copy_rows(target_buffers_[o].data(), data.targets[o], target_cols(o), index, first, n);
  has_sample_weight_ = data.sample_weight != nullptr;
  if (has_sample_weight_) copy_rows(weight_buffer_.data(), data.sample_weight, 1, index, first, n);
}

template <typename T>
void Network<T>::train(const Dataset<T>& data, const int64_t* index, Index count, Index batch_size,
                       const double* learning_rates) {
  if (!optimizer_) throw StateError("train: the network has no optimizer (compile the model first)");
  for (size_t o = 0; o < outputs_.size(); ++o)
    if (!outputs_[o].has_loss()) throw ConfigError("train: output " + std::to_string(o) + " has no loss");
  std::unique_lock<std::shared_mutex> weights(parameter_lock());
  std::lock_guard<std::mutex> step(step_mutex_);
  FlushDenormals flush;  // as TensorFlow computes (FlushDenormals.h)
  const Index steps = (count + batch_size - 1) / batch_size;
  const bool pack_kernels = begin_kernel_caching(steps);
  for (Index step = 0, first = 0; first < count; ++step, first += batch_size) {
    const Index n = std::min(batch_size, count - first);
    prepare(n);
    gather(data, index, first, n);
    // The last step packs nothing: the next call starts with the caches invalid.
    run_batch(n, true, learning_rates[step], pack_kernels && step + 1 < steps);
  }
}

// Every packed kernel is invalid at the start of a train call (Python may have assigned weights
// since the last one); whether this call's updates pack them for the steps that follow: with the
// cache on, on a bf16 path that reads packed operands, over two steps or more.
template <typename T>
bool Network<T>::begin_kernel_caching(Index steps) {
  for (KernelCache& k : kernel_caches_) k.cache->invalidate();
  if constexpr (std::is_same_v<T, float>) {
    if (steps < 2 || !lowp::kernel_caching() || lowp::bf16_path() == lowp::Bf16Path::Emulated) return false;
    if (!kernel_caches_built_) build_kernel_caches();
    return !kernel_caches_.empty();
  }
  return false;
}

template <typename T>
void Network<T>::build_kernel_caches() {
  for (auto& layer : layers_)
    if (auto* dense = dynamic_cast<Dense<T>*>(layer.get())) dense->use_kernel_cache(nullptr);
  kernel_caches_.clear();
  kernel_caches_.reserve(trainable_.size());  // kernel_observers_ point into it
  kernel_observers_.assign(trainable_.size(), nullptr);
  kernel_caches_built_ = true;
  if constexpr (std::is_same_v<T, float>) {
    for (size_t i = 0; i < trainable_.size(); ++i) {
      const T* value = trainable_[i]->value;
      std::vector<Dense<T>*> users;  // the nodes of this kernel's layer
      bool constrained = false, transposed = false;
      for (auto& layer : layers_) {
        for (Parameter<T>* p : layer->parameters())
          if (p->value == value)
            constrained |= p->constraint.kind != ConstraintKind::None || bool(p->custom_constraint) || !p->trainable;
        auto* dense = dynamic_cast<Dense<T>*>(layer.get());
        const Parameter<T>* kernel = dense ? dense->bf16_kernel() : nullptr;
        if (kernel && kernel->value == value) {
          users.push_back(dense);
          transposed |= dense->computes_input_grad();
        }
      }
      if (users.empty() || constrained) continue;
      const Index rows = users[0]->bf16_kernel()->rows, cols = users[0]->bf16_kernel()->cols;
      KernelCache k{std::make_unique<lowp::PackedKernelCache>(), {}};
      k.cache->packed.reserve(rows, cols, transposed);
      // Chunks of whole row groups, about 64k values (256 KB of W, 1 MB with its gradient and
      // Adam's two slots): in L2 while the packing reads them again.
      constexpr Index kChunkValues = Index(1) << 16, kGroup = lowp::PackedWeightBf16::kRowGroup;
      const Index chunk_rows = kGroup * std::max<Index>(1, kChunkValues / (kGroup * cols));
      k.observer.chunk = chunk_rows * cols;
      k.observer.done = [packed = &k.cache->packed, value, cols](Index begin, Index end) {
        packed->pack_rows(value, begin / cols, end / cols);
      };
      for (Dense<T>* dense : users) dense->use_kernel_cache(k.cache.get());
      kernel_caches_.push_back(std::move(k));
      kernel_observers_[i] = &kernel_caches_.back().observer;
    }
  }
}

template <typename T>
void Network<T>::evaluate(const Dataset<T>& data, const int64_t* index, Index count, Index batch_size) {
  std::shared_lock<std::shared_mutex> weights(parameter_lock());
  std::lock_guard<std::mutex> step(step_mutex_);
  FlushDenormals flush;
  for (Index first = 0; first < count; first += batch_size) {
    const Index n = std::min(batch_size, count - first);
    prepare(n);
    gather(data, index, first, n);
    run_batch(n, false, 0.0);
  }
}

// Hands a workspace from the pool to one predict call and back, also when the call throws.
template <typename T>
class Network<T>::WorkspaceLease {
 public:
  explicit WorkspaceLease(Network& net) : net_(net) {
    {
      std::lock_guard<std::mutex> pool(net_.pool_mutex_);
      if (!net_.workspaces_.empty()) {
        workspace_ = std::move(net_.workspaces_.back());
        net_.workspaces_.pop_back();
      }
    }
    if (!workspace_) workspace_ = net_.new_workspace();  // more calls at once than ever before
  }
  ~WorkspaceLease() {
    std::lock_guard<std::mutex> pool(net_.pool_mutex_);
    net_.workspaces_.push_back(std::move(workspace_));
  }
  WorkspaceLease(const WorkspaceLease&) = delete;
  WorkspaceLease& operator=(const WorkspaceLease&) = delete;
  Workspace& operator*() { return *workspace_; }

 private:
  Network& net_;
  std::unique_ptr<Workspace> workspace_;
};

template <typename T>
std::unique_ptr<typename Network<T>::Workspace> Network<T>::new_workspace() {
  // The copies are made from layers that train/evaluate may be using: wait for them.
  std::lock_guard<std::mutex> step(step_mutex_);
  auto workspace = std::make_unique<Workspace>();
  workspace->layers.reserve(layers_.size());
  for (const auto& layer : layers_) {
    auto copy = layer->clone();
    for (Parameter<T>* p : copy->parameters()) p->grad.resize(0, 0);  // inference computes no gradient
    std::vector<Layer<T>*> sources;
    for (Layer<T>* in : layer->inputs()) {
      const auto at = std::find_if(layers_.begin(), layers_.end(), [&](const auto& l) { return l.get() == in; });
      sources.push_back(workspace->layers[size_t(at - layers_.begin())].get());
    }
    copy->connect(std::move(sources));
    workspace->layers.push_back(std::move(copy));
  }
  return workspace;
}

template <typename T>
void Network<T>::predict(const Dataset<T>& data, Index batch_size, const std::vector<T*>& outputs) {
  std::shared_lock<std::shared_mutex> weights(parameter_lock());
  WorkspaceLease lease(*this);
  FlushDenormals flush;
  auto& layers = (*lease).layers;
  Random& rng = (*lease).rng;
  const Index rows = data.rows;
  const bool by_rows = infers_by_rows();  // else a layer sees its batch: batch_size rows, one thread
  const int threads = by_rows ? prediction_threads(rows) : 1;
  // Each thread takes `chunk` rows of every span of threads·chunk rows, and runs them through the
  // whole network in its own rows of the layers' buffers, with single-threaded products: one fork
  // per call. A chunk is one batch (a product per layer of batch_size rows, as batch by batch),
  // or more rows where the products pack their operands on every call (least_prediction_chunk), or
  // an equal share of fewer rows.
  const Index least = by_rows ? least_prediction_chunk<T>() : 1;
  const Index chunk = std::min(std::max(batch_size, least), (rows + threads - 1) / threads);
  const Index span = chunk * threads;
  for (auto& layer : layers) layer->resize(std::min(span, rows));
  const auto run_chunk = [&](Index first, Index offset) {  // rows first.. of the data, at `offset` in the buffers
    const Index n = std::min(chunk, rows - first);
    for (size_t k = 0; k < inputs_.size(); ++k) {
      Layer<T>& input = *layers[inputs_[k]];
      copy_rows(input.value_rows(offset, n).data(), data.inputs[k], input.width(), nullptr, first, n);
    }
    if (threads > 1) {
      for (auto& layer : layers) layer->infer_rows(offset, n);
    } else {
      for (auto& layer : layers) layer->resize(n);  // batch-wide forward on the first n rows
      for (auto& layer : layers) layer->forward(false, rng);
    }
    for (size_t o = 0; o < outputs_.size(); ++o) {
      Layer<T>& out = *layers[outputs_[o].layer];
      std::memcpy(outputs[o] + first * out.width(), out.value_rows(offset, n).data(),
                  sizeof(T) * size_t(n * out.width()));
    }
  };
  // Dense layers pack their weights once for a call whose threads each run several chunks: the
  // threads pack them together, first thing in the parallel region.
  std::vector<Dense<T>*> packing;
  for (auto& layer : layers)
    if (auto* dense = dynamic_cast<Dense<T>*>(layer.get()))
      if (dense->reserve_packed_kernel(threads > 1 && rows > span)) packing.push_back(dense);
#ifdef _OPENMP
  if (threads > 1) {
    for (auto& layer : layers) layer->prepare_inference();
    in_team(threads, [&](Index part, Index team) {  // the team may be smaller than asked
      const Index offset = chunk * part;
      if (!packing.empty()) {  // the same branch in every thread of the team: the barrier is reached by all
        for (Dense<T>* dense : packing) dense->pack_kernel_part(int(part), int(team));
#pragma omp barrier
      }
      for (Index first = offset; first < rows; first += chunk * team) run_chunk(first, offset);
    });
    return;
  }
#endif
  for (Dense<T>* dense : packing) dense->pack_kernel_part(0, 1);  // none unless threads > 1
  for (Index first = 0; first < rows; first += chunk) run_chunk(first, 0);
}

// Threads for predict's row split of a network that infers by rows: every engine thread when the
// call holds enough work (about a multiply-add per weight and per output value per row).
template <typename T>
int Network<T>::prediction_threads(Index rows) {
  double work_per_row = 0.0;
  for (const auto& layer : layers_) {
    work_per_row += double(layer->width());
    for (Parameter<T>* p : layer->parameters()) work_per_row += double(p->size());
  }
  return fork_pays(work_per_row * double(rows), kParallelProductWork) && rows > 1 ? engine_threads() : 1;
}

template <typename T>
bool Network<T>::infers_by_rows() const {
  return std::all_of(layers_.begin(), layers_.end(), [](const auto& layer) { return layer->infers_by_rows(); });
}

template <typename T>
void Network<T>::run_batch(Index n, bool training, double learning_rate, bool pack_kernels) {
  for (auto& layer : layers_) layer->forward(training, rng_);
  for (auto& layer : layers_) layer->clear_grad();
  double total = losses_and_metrics(n, training);
  if (training) {
    total += backward(n);
    if (gradient_hook_) exchange_gradients(n);
    update_parameters(learning_rate, pack_kernels);
  } else {
    total += regularization_without_gradients(n);
  }
  loss_.add(total, double(n));
  last_batch_rows_ = n;
}

template <typename T>
double Network<T>::losses_and_metrics(Index n, bool training) {
  const T* sample_weight = has_sample_weight_ ? weight_buffer_.data() : nullptr;
  double total = 0.0;
  for (size_t o = 0; o < outputs_.size(); ++o) {
    Output& out = outputs_[o];
    if (!out.has_loss()) continue;
    Layer<T>& layer = *layers_[out.layer];
    const T* prediction = out.loss_from_logits ? layer.logits().data() : layer.value().data();
    T* grad = nullptr;
    bool add_afterwards = false;
    if (training && layer.needs_grad) {
      grad = out.loss_from_logits ? layer.claim_logits_grad() : layer.claim_grad();
      // Two outputs on one layer: the second loss's gradient goes through scratch and is added.
      if (!grad) {
        add_afterwards = true;
        scratch_.resize(n, layer.width());
        grad = scratch_.data();
      }
    }
    const double value =
        out.custom_loss
            ? out.custom_loss(target_buffers_[o].data(), target_cols(o), prediction, layer.width(), sample_weight, n,
                              grad, out.weight)
            : loss_evaluate(*out.loss, target_buffers_[o].data(), prediction, sample_weight, n, layer.width(),
                            static_cast<T*>(nullptr), grad, out.weight);
    if (add_afterwards) {
      auto dst = out.loss_from_logits ? layer.logits_grad() : layer.grad();
      dst += scratch_.topRows(n);
    }
    out.loss_mean.add(value, double(n));
    total += out.weight * value;
  }
  for (auto& metric : metrics_) {
    Layer<T>& layer = *layers_[outputs_[metric.output].layer];
    const T* prediction = metric.from_logits ? layer.logits().data() : layer.value().data();
    metric.accumulator.update(target_buffers_[metric.output].data(), prediction, sample_weight, n, layer.width(),
                              per_sample_.data());
  }
  return total;
}

template <typename T>
double Network<T>::backward(Index n) {
  double penalty = 0.0;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    Layer<T>& layer = **it;
    if (layer.has_activity_penalty())
      penalty += activity_penalty(layer, layer.needs_grad ? layer.writable_grad().data() : nullptr, n);
    if (!layer.needs_grad) continue;
    if (!layer.grad_written()) {  // this layer does not reach the loss on this step
      for (Parameter<T>* p : layer.parameters()) p->grad.setZero();
      continue;
    }
    layer.backward();
  }
  for (auto& [duplicate, primary] : shared_) primary->grad += duplicate->grad;
  for (Parameter<T>* p : trainable_) penalty += weight_penalty(*p, p->grad.data());
  return penalty;
}

template <typename T>
double Network<T>::regularization_without_gradients(Index n) {
  double penalty = 0.0;
  for (auto& layer : layers_)
    if (layer->has_activity_penalty()) penalty += activity_penalty(*layer, static_cast<T*>(nullptr), n);
  for (Parameter<T>* p : trainable_) penalty += weight_penalty(*p, static_cast<T*>(nullptr));
  return penalty;
}

template <typename T>
void Network<T>::update_parameters(double learning_rate, bool pack_kernels) {
  // As Keras's apply: an optimizer built for more weights (the model was frozen in part since)
  // updates these alone, and without any trainable weight there is no step at all. With a
  // gradient hook the gradients are read from its fused buffer (averaged across processes).
  // The update changes the kernels: their packed layouts are invalid until it has packed them
  // again, before the constraints run (a user's constraint is Python, after which they are stale).
  for (KernelCache& k : kernel_caches_) k.cache->invalidate();
  if (!trainable_.empty()) {
    static const std::vector<const typename Optimizer<T>::ChunkObserver*> none;
    optimizer_->apply_to(optimizer_index_, trainable_values_, gradient_hook_ ? fused_grads_ : trainable_grads_,
                         learning_rate, pack_kernels ? kernel_observers_ : none);
    if (pack_kernels)
      for (KernelCache& k : kernel_caches_) k.cache->mark_filled();
  }
  for (Parameter<T>* p : trainable_) {
    apply_constraint(p->constraint, p->value, p->rows, p->cols, p->one_dimensional);
    if (p->custom_constraint) p->custom_constraint(p->value, p->rows, p->cols);
  }
}

template <typename T>
void Network<T>::exchange_gradients(Index n) {
  Index total = 0;
  for (Index size : trainable_sizes_) total += size;
  T* const buffer = gradient_buffer_ ? gradient_buffer_(total + 1)
                                    : (fused_gradients_.resize(size_t(total) + 1), fused_gradients_.data());
  fused_grads_.clear();
  T* at = buffer;
  for (size_t i = 0; i < trainable_grads_.size(); ++i) {
    std::memcpy(at, trainable_grads_[i], sizeof(T) * size_t(trainable_sizes_[i]));
    fused_grads_.push_back(at);
    at += trainable_sizes_[i];
  }
  *at = T(n);
  gradient_hook_(buffer, total + 1);
}

template <typename T>
void Network<T>::reset_metrics() {
  loss_ = Mean{};
  for (auto& out : outputs_) out.loss_mean = Mean{};
  for (auto& metric : metrics_) metric.accumulator.reset();
}

template <typename T>
std::vector<double> Network<T>::output_losses() const {
  std::vector<double> losses;
  for (const auto& out : outputs_) losses.push_back(out.loss_mean.result());
  return losses;
}

template <typename T>
std::vector<double> Network<T>::metric_results() const {
  std::vector<double> results;
  for (const auto& metric : metrics_) results.push_back(metric.accumulator.result());
  return results;
}

template class Network<float>;
template class Network<double>;

}  // namespace fd
