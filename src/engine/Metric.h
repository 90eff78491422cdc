// Metrics accumulated inside the training step. Like Keras's Mean-based metrics, each keeps
//   total += Σ_i w_i v_i,  count += Σ_i w_i
// over the samples of every batch since the last reset, and reports total / count.
// v_i is a per-sample value: a loss function's unreduced value or an accuracy in [0, 1].
#pragma once

#include <vector>

#include "Loss.h"
#include "Tensor.h"

namespace fd {

enum class MetricKind {
  Loss,  // a loss function used as a metric (mse, mae, binary_crossentropy, ...)
  BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
  TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy
};

struct MetricSpec {
  MetricKind kind = MetricKind::Loss;
  LossSpec loss;            // kind == Loss
  double threshold = 0.5;   // BinaryAccuracy: a prediction counts as 1 when > threshold
  int k = 5;                // top-k accuracies
  bool weighted = false;    // weighted_metrics: samples count with their sample weight
  bool negate = false;      // CosineSimilarity reports the similarity, the loss its negation
  bool root = false;        // RootMeanSquaredError: sqrt of the running mean
};

// Number of y_true columns the metric reads for predictions with `pred_cols` columns.
Index metric_target_cols(const MetricSpec& spec, Index pred_cols);

class MetricAccumulator {
 public:
  explicit MetricAccumulator(MetricSpec spec) : spec_(spec) {}

  // Adds one batch. `per_sample` is scratch space of `rows` values.
  template <typename T>
  void update(const T* y_true, const T* y_pred, const T* sample_weight, Index rows, Index cols, T* per_sample);

  double result() const;
  void reset() { total_ = count_ = 0.0; }
  const MetricSpec& spec() const { return spec_; }
  // Raw state (total, count), for persistence and for merging results across calls.
  double total() const { return total_; }
  double count() const { return count_; }

 private:
  MetricSpec spec_;
  double total_ = 0.0, count_ = 0.0;
};

}  // namespace fd
