// A graph of layers compiled from a Keras model, with its losses, metrics and optimizer.
// One call of train() runs many batches entirely in native code:
//   gather rows → forward → losses (+ their gradients) → metrics → backward →
//   regularization → optimizer step → constraints,
// reusing buffers sized at the first batch, so the steady state allocates nothing.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "Loss.h"
#include "Metric.h"
#include "Random.h"
#include "layer/Layer.h"
#include "lowp/PackedKernelCache.h"
#include "optimizer/Optimizer.h"

namespace fd {

template <typename T>
class Dense;

// The user's full arrays, row-major: one per model input and one target per output, plus
// optional per-sample weights. Batches are gathered from it by row index.
template <typename T>
struct Dataset {
  std::vector<const T*> inputs;
  std::vector<const T*> targets;
  const T* sample_weight = nullptr;
  Index rows = 0;
};

// Running mean of a scalar over samples: Σ value·n / Σ n.
struct Mean {
  double total = 0.0, count = 0.0;
  void add(double value, double n) { total += value * n; count += n; }
  double result() const { return count == 0.0 ? 0.0 : total / count; }
};

template <typename T>
class Network {
 public:
  using Scalar = T;

  // Adds a layer fed by earlier layers (ids returned by previous calls); returns its id.
  // An InputLayer with no inputs becomes the next model input.
  int add_layer(std::unique_ptr<Layer<T>> layer, const std::vector<int>& inputs);
  // Marks a layer as a model output; without a loss it is only predicted.
  void add_output(int layer, std::optional<LossSpec> loss, double loss_weight);
  // An output whose loss is computed outside the engine, reading target_cols target columns.
  void add_output(int layer, CustomLoss<T> loss, Index target_cols, double loss_weight);
  void add_metric(int output, const MetricSpec& spec);
  // Trains with `optimizer`, whose parameter optimizer_index[i] is the weight array order[i]; the
  // order must list every trainable weight of the network once (Keras's trainable_weights), and
  // the optimizer may be built for more weights (the model's before part of it was frozen).
  // Not owned: the caller keeps it alive as long as the network (the bindings hold its Python
  // object), and it is never replaced under the network: changed settings are applied to it in
  // place (Optimizer::reconfigure), so the next train() uses them.
  void set_optimizer(Optimizer<T>* optimizer, const std::vector<T*>& order,
                     const std::vector<Index>& optimizer_index);
  void seed(uint64_t seed) { rng_.reseed(seed); }
  // Data-parallel training (Horovod's tensor fusion): after backward and before the update,
  // hook(buffer, size) gets every trainable gradient packed into one buffer, in the optimizer's
  // order, followed by one value: the batch's sample count. The hook rewrites the buffer in place
  // (an MPI allreduce averages it across processes) and the update reads the gradients from it.
  // Without a hook nothing is packed. `buffer(size)`, if given, returns the memory to pack into
  // (valid until the update has read it), so a hook averaging through shared memory finds the
  // gradients there without a copy; otherwise the network packs into a buffer of its own.
  using GradientHook = std::function<void(T* buffer, Index size)>;
  using GradientBuffer = std::function<T*(Index size)>;
  void set_gradient_hook(GradientHook hook, GradientBuffer buffer = nullptr) {
    gradient_hook_ = std::move(hook);
    gradient_buffer_ = std::move(buffer);
  }

  // Thread safety: predict() may run from any number of threads at once, each call in its own
  // workspace (copies of the layers' buffers, see Workspace); train() and evaluate() run one at
  // a time on a network (they share its buffers and running means); and parameter_lock()
  // (ParameterLock.h) keeps train() away from every predict() and evaluate() that reads the
  // same weights.
  //
  // Trains on the samples index[0..count) in consecutive batches of batch_size (the last one
  // may be smaller); learning_rates[s] is used for the s-th batch of this call.
  void train(const Dataset<T>& data, const int64_t* index, Index count, Index batch_size,
             const double* learning_rates);
  // Accumulates loss and metrics without updating weights; index nullptr means rows 0..count.
  void evaluate(const Dataset<T>& data, const int64_t* index, Index count, Index batch_size);
  // Writes each output, (data.rows, output width), to outputs[o]. Leaves the network's own
  // buffers (and so last_batch) alone.
  void predict(const Dataset<T>& data, Index batch_size, const std::vector<T*>& outputs);

  // The batch that the last train/evaluate step ran on (0 rows before any):
  // per output, the predictions of its forward pass (before that step's update) and the
  // gathered targets; the gathered sample weights, or nullptr without them. Metrics computed
  // in Python read these after a call over exactly one batch.
  Index last_batch_rows() const { return last_batch_rows_; }
  MatrixMap<T> last_predictions(size_t o) { return layers_[outputs_.at(o).layer]->value(); }
  const T* last_targets(size_t o) const { return target_buffers_.at(o).data(); }
  const T* last_sample_weight() const { return has_sample_weight_ ? weight_buffer_.data() : nullptr; }

  void reset_metrics();
  double loss() const { return loss_.result(); }
  std::vector<double> output_losses() const;
  std::vector<double> metric_results() const;

  Index layer_width(int id) const {
    if (id < 0 || id >= int(layers_.size())) throw OutOfRangeError("no layer with id " + std::to_string(id));
    return layers_[id]->width();
  }
  size_t num_inputs() const { return inputs_.size(); }
  size_t num_outputs() const { return outputs_.size(); }
  Index input_width(size_t k) const { return layers_[inputs_[k]]->width(); }
  Index output_width(size_t o) const { return layers_[outputs_[o].layer]->width(); }
  Index target_cols(size_t o) const;
  bool has_loss(size_t o) const { return outputs_[o].has_loss(); }
  std::string layer_kind(int id) const { return layers_.at(size_t(id))->kind(); }
  size_t num_layers() const { return layers_.size(); }
  // How many pieces run outside the engine: callback layers, custom losses, penalties and constraints.
  size_t custom_callbacks() const;
  Optimizer<T>* optimizer() { return optimizer_; }
  const std::vector<Parameter<T>*>& trainable_parameters() const { return trainable_; }

 private:
  struct Output {
    int layer;
    std::optional<LossSpec> loss;
    double weight;
    bool loss_from_logits;  // the crossentropy shortcut applies (see use_logits)
    Mean loss_mean;
    CustomLoss<T> custom_loss;  // set instead of `loss` for a user's loss
    Index custom_target_cols = 0;
    bool has_loss() const { return loss.has_value() || bool(custom_loss); }
  };
  struct OutputMetric {
    size_t output;
    bool from_logits;
    MetricAccumulator accumulator;
  };

  // One predict call's copies of the layers (Layer::clone: shared weights, own buffers). Calls
  // take one from the pool and give it back, so the steady state allocates nothing and a call
  // costs two uncontended mutex operations; the pool grows to the number of concurrent calls.
  struct Workspace {
    std::vector<std::unique_ptr<Layer<T>>> layers;  // in the order of layers_
    Random rng;  // forward() takes one; inference draws nothing from it
  };
  class WorkspaceLease;
  std::unique_ptr<Workspace> new_workspace();

  void prepare(Index batch);
  int prediction_threads(Index rows);  // for a network that infers_by_rows()
  // Whether every layer's output row depends only on its input row (Layer::infers_by_rows): then
  // predict may split and group the rows as it likes.
  bool infers_by_rows() const;
  void gather(const Dataset<T>& data, const int64_t* index, Index first, Index n);
  // One batch already gathered: forward, losses, metrics and (when training) backward + update.
  // pack_kernels: the update also packs the kernels of kernel_caches_ for the next step.
  void run_batch(Index n, bool training, double learning_rate, bool pack_kernels = false);
  double losses_and_metrics(Index n, bool training);
  double backward(Index n);
  double regularization_without_gradients(Index n);
  void update_parameters(double learning_rate, bool pack_kernels);
  bool begin_kernel_caching(Index steps);
  void build_kernel_caches();
  void exchange_gradients(Index n);
  void mark_gradient_needs();
  void collect_trainable();

  std::vector<std::unique_ptr<Layer<T>>> layers_;  // topological order
  std::vector<int> inputs_;
  std::vector<Output> outputs_;
  std::vector<OutputMetric> metrics_;
  Optimizer<T>* optimizer_ = nullptr;
  std::vector<Index> optimizer_index_;  // per entry of trainable_: its parameter in the optimizer
  std::vector<Parameter<T>*> trainable_;  // one per distinct weight array
  // A layer called twice (a shared layer) has two nodes on one weight array: the second
  // node's gradient is added into the first's before the update.
  std::vector<std::pair<Parameter<T>*, Parameter<T>*>> shared_;  // (duplicate, primary)
  std::vector<T*> trainable_values_, trainable_grads_;
  std::vector<Index> trainable_sizes_;
  bool gradients_marked_ = false;

  std::vector<Matrix<T>> target_buffers_;
  std::vector<T> weight_buffer_, per_sample_;
  bool has_sample_weight_ = false;  // the batch being run came with sample weights
  Matrix<T> scratch_;               // a second loss gradient on an already-claimed layer
  Index capacity_ = 0;
  Index last_batch_rows_ = 0;
  Mean loss_;
  Random rng_;

  std::mutex step_mutex_;  // train/evaluate: the layers' own buffers, the targets and the running means
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Workspace>> workspaces_;  // idle ones
  GradientHook gradient_hook_;
  GradientBuffer gradient_buffer_;  // where to pack for the hook (none: fused_gradients_)
  std::vector<T> fused_gradients_;  // the hook's buffer: gradients, then the sample count
  std::vector<T*> fused_grads_;     // each trainable gradient's place in the hook's buffer

  // The bf16 packed kernels kept between the steps of a train call (lowp/PackedKernelCache.h): one
  // per trainable mixed_bfloat16 Dense kernel without a constraint (shared by the nodes of a
  // shared layer), packed by its observer while the optimizer updates the kernel.
  struct KernelCache {
    std::unique_ptr<lowp::PackedKernelCache> cache;
    typename Optimizer<T>::ChunkObserver observer;
  };
  std::vector<KernelCache> kernel_caches_;
  bool kernel_caches_built_ = false;  // for the current optimizer's trainable weights
  std::vector<const typename Optimizer<T>::ChunkObserver*> kernel_observers_;  // per entry of trainable_
};

}  // namespace fd
