// Losses with Keras 3 formulas and reductions; the default, 'sum_over_batch_size', is
//   loss = sum_i w_i * l_i / N, with l_i the per-sample loss (a mean or sum over the feature axis).
#pragma once

#include <functional>

#include "Tensor.h"

namespace fd {

enum class LossKind {
  MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
  BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, Huber, Hinge,
  SquaredHinge, CategoricalHinge, KLDivergence, Poisson, LogCosh, CosineSimilarity
};

// Keras's Loss.reduction: what sum_i w_i * l_i is divided by. 'mean' is SumOverBatchSize;
// MeanWithSampleWeight divides by sum_i w_i (by N without sample weights).
enum class LossReduction { SumOverBatchSize, Sum, MeanWithSampleWeight };

struct LossSpec {
  LossKind kind = LossKind::MeanSquaredError;
  LossReduction reduction = LossReduction::SumOverBatchSize;
  // Crossentropies: y_pred holds logits. The network also sets this when the output layer's
  // sigmoid/softmax is skipped (Keras computes crossentropy from the pre-activation then).
  bool from_logits = false;
  double label_smoothing = 0.0;  // binary and categorical crossentropy
  double delta = 1.0;            // huber
};

// Number of y_true columns the loss expects for predictions with `pred_cols` columns
// (1 for sparse categorical crossentropy, pred_cols otherwise).
Index loss_target_cols(const LossSpec& spec, Index pred_cols);

// Evaluates the loss over a batch of `rows` samples.
//   y_true: (rows, loss_target_cols) ; y_pred: (rows, cols) ; sample_weight: (rows,) or nullptr.
//   per_sample (optional, rows): the unweighted per-sample loss l_i.
//   grad (optional, rows x cols): d(reduced loss)/d(y_pred) multiplied by `grad_scale`
//     (the network passes its loss_weight here); may be nullptr when only the value is needed.
// Returns the reduced, weighted loss (sum_i w_i l_i / rows with the default reduction; a zero
// divisor gives 0, as Keras's divide_no_nan).
template <typename T>
double loss_evaluate(const LossSpec& spec, const T* y_true, const T* y_pred, const T* sample_weight,
                     Index rows, Index cols, T* per_sample, T* grad, double grad_scale = 1.0);

// A loss computed outside the engine (a user's function), reduced like the built-in ones:
// loss(y_true, target_cols, y_pred, cols, sample_weight, rows, grad, grad_scale) returns the
// reduced loss of the batch and, when grad is not null, writes grad_scale * d(loss)/d(y_pred)
// there, as loss_evaluate does.
template <typename T>
using CustomLoss = std::function<double(const T* y_true, Index target_cols, const T* y_pred, Index cols,
                                        const T* sample_weight, Index rows, T* grad, double grad_scale)>;

}  // namespace fd
