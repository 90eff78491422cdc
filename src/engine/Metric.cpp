#include "Metric.h"

#include <cmath>

namespace fd {

namespace {

template <typename T>
Index argmax_row(const T* row, Index cols) {
  Index best = 0;  // the first maximum wins, like argmax
  for (Index j = 1; j < cols; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

// TensorFlow's in_top_k: the target is in the top k when fewer than k predictions beat it.
template <typename T>
bool in_top_k(const T* row, Index cols, Index target, int k) {
  if (target < 0 || target >= cols) return false;
  Index better = 0;
  for (Index j = 0; j < cols; ++j) better += row[j] > row[target];
  return better < k;
}

template <typename T>
void accuracy_values(const MetricSpec& spec, const T* y_true, const T* y_pred, Index rows, Index cols,
                     T* out) {
  const Index true_cols = metric_target_cols(spec, cols);
  parallel_for(rows, [&](Index i) {
    const T* p = y_pred + i * cols;
    const T* t = y_true + i * true_cols;
    switch (spec.kind) {
      case MetricKind::BinaryAccuracy: {
        T hits = 0;
        for (Index j = 0; j < cols; ++j) hits += T(T(p[j] > T(spec.threshold)) == t[j]);
        out[i] = hits / T(cols);
        break;
      }
      case MetricKind::CategoricalAccuracy: out[i] = T(argmax_row(t, cols) == argmax_row(p, cols)); break;
      case MetricKind::SparseCategoricalAccuracy: out[i] = T(Index(t[0]) == argmax_row(p, cols)); break;
      case MetricKind::TopKCategoricalAccuracy: out[i] = T(in_top_k(p, cols, argmax_row(t, cols), spec.k)); break;
      case MetricKind::SparseTopKCategoricalAccuracy: out[i] = T(in_top_k(p, cols, Index(t[0]), spec.k)); break;
      case MetricKind::Loss: break;
    }
  });
}

}  // namespace

Index metric_target_cols(const MetricSpec& spec, Index pred_cols) {
  switch (spec.kind) {
    case MetricKind::Loss: return loss_target_cols(spec.loss, pred_cols);
    case MetricKind::SparseCategoricalAccuracy:
    case MetricKind::SparseTopKCategoricalAccuracy: return 1;
    default: return pred_cols;
  }
}

template <typename T>
void MetricAccumulator::update(const T* y_true, const T* y_pred, const T* sample_weight, Index rows, Index cols,
                               T* per_sample) {
  if (spec_.kind == MetricKind::Loss)
    loss_evaluate(spec_.loss, y_true, y_pred, static_cast<const T*>(nullptr), rows, cols, per_sample,
                  static_cast<T*>(nullptr));
  else
    accuracy_values(spec_, y_true, y_pred, rows, cols, per_sample);
  const double sign = spec_.negate ? -1.0 : 1.0;
  const bool weighted = spec_.weighted && sample_weight;
  for (Index i = 0; i < rows; ++i) {
    const double w = weighted ? double(sample_weight[i]) : 1.0;
    total_ += sign * w * double(per_sample[i]);
    count_ += w;
  }
}

double MetricAccumulator::result() const {
  const double mean = count_ == 0.0 ? 0.0 : total_ / count_;
  return spec_.root ? std::sqrt(mean) : mean;
}

template void MetricAccumulator::update<float>(const float*, const float*, const float*, Index, Index, float*);
template void MetricAccumulator::update<double>(const double*, const double*, const double*, Index, Index, double*);

}  // namespace fd
