// Keras 3 loss formulas (keras/src/losses/losses.py; reductions: keras/src/losses/loss.py) with their gradients.
//
// Each loss is a row kernel: given one sample's y_true and y_pred rows it returns the per-sample
// loss l_i and, when asked, writes scale * dl_i/dy_pred into the gradient row. loss_evaluate
// runs the kernel over all rows and applies the weighted reduction (LossSpec::reduction).
// Values are computed in double whatever T is; the clip bounds are T's own nearest values of
// 1e-7 and 1 - 1e-7, as Keras clips in the loss dtype.
//
// Gradients follow TensorFlow's conventions where the function is not differentiable:
// clip_by_value and maximum(x, bound) pass the gradient when the bound is not strictly active,
// abs'(0) = 0, and reduce_max shares the gradient equally between tied maxima.
#include "Loss.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <utility>

namespace fd {
namespace {

// Keras's epsilon and 1 - epsilon as the loss dtype holds them (float: 1e-7 and 0.99999988).
template <typename T>
struct Bounds {
  static constexpr double eps = static_cast<double>(static_cast<T>(1e-7));
  static constexpr double one_minus_eps = static_cast<double>(static_cast<T>(1.0 - 1e-7));
  // keras normalize() caps the inverse L2 norm at 1 / epsilon.
  static constexpr double max_inv_norm = static_cast<double>(static_cast<T>(1.0 / 1e-7));
};

struct ValueSlope {
  double value;
  double slope;  // d value / d y_pred element
};

inline double sign(double x) { return double((x > 0) - (x < 0)); }

// log(1 + exp(u)) without overflow.
inline double softplus(double u) { return std::max(u, 0.0) + std::log1p(std::exp(-std::abs(u))); }

inline bool inside(double x, double lo, double hi) { return x >= lo && x <= hi; }

// ---- Losses that are a mean (or sum) over the row of an elementwise term f(y, p). ----

struct SquaredError {
  ValueSlope operator()(double y, double p) const {
    const double e = p - y;
    return {e * e, 2.0 * e};
  }
};

struct AbsoluteError {
  ValueSlope operator()(double y, double p) const { return {std::abs(p - y), sign(p - y)}; }
};

template <typename T>
struct AbsolutePercentageError {
  ValueSlope operator()(double y, double p) const {
    const double scale = 100.0 / std::max(std::abs(y), Bounds<T>::eps);
    return {scale * std::abs(p - y), scale * sign(p - y)};
  }
};

template <typename T>
struct SquaredLogarithmicError {
  ValueSlope operator()(double y, double p) const {
    const double eps = Bounds<T>::eps;
    const double shifted = std::max(p, eps) + 1.0;
    const double diff = std::log(shifted) - std::log(std::max(y, eps) + 1.0);
    return {diff * diff, p >= eps ? 2.0 * diff / shifted : 0.0};
  }
};

// K3 path for probabilities: q = clip(p, eps, 1 - eps), -[y log q + (1 - y) log(1 - q)].
template <typename T>
struct BinaryCrossentropyProbs {
  double label_smoothing;
  ValueSlope operator()(double y, double p) const {
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing;
    const double lo = Bounds<T>::eps, hi = Bounds<T>::one_minus_eps;
    const double q = std::clamp(p, lo, hi);
    const double value = -(y * std::log(q) + (1.0 - y) * std::log(1.0 - q));
    return {value, inside(p, lo, hi) ? (q - y) / (q * (1.0 - q)) : 0.0};
  }
};

// TF's sigmoid_cross_entropy_with_logits: max(z, 0) - z y + log(1 + exp(-|z|)); the slope is
// sigmoid(z) - y, with sigmoid built from the same exp(-|z|).
struct BinaryCrossentropyLogits {
  double label_smoothing;
  ValueSlope operator()(double y, double z) const {
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing;
    const double e = std::exp(-std::abs(z));
    const double sigmoid = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    return {std::max(z, 0.0) - z * y + std::log1p(e), sigmoid - y};
  }
};

struct HuberError {
  double delta;
  ValueSlope operator()(double y, double p) const {
    const double e = p - y, abs_e = std::abs(e);
    if (abs_e <= delta) return {0.5 * e * e, e};
    return {delta * abs_e - 0.5 * delta * delta, delta * sign(e)};
  }
};

// Hinge labels: 0/1 batches are mapped to -1/1 (see binary_labels_only).
struct HingeError {
  bool map_binary_labels;
  ValueSlope operator()(double y, double p) const {
    if (map_binary_labels) y = 2.0 * y - 1.0;
    const double margin = 1.0 - y * p;
    return margin >= 0 ? ValueSlope{margin, -y} : ValueSlope{0.0, 0.0};
  }
};

struct SquaredHingeError {
  bool map_binary_labels;
  ValueSlope operator()(double y, double p) const {
    if (map_binary_labels) y = 2.0 * y - 1.0;
    const double margin = std::max(1.0 - y * p, 0.0);
    return {margin * margin, -2.0 * margin * y};
  }
};

// y and p are clipped to [eps, 1] first; summed, not averaged, over the row.
template <typename T>
struct KLDivergenceTerm {
  ValueSlope operator()(double y, double p) const {
    const double eps = Bounds<T>::eps;
    const double yc = std::clamp(y, eps, 1.0), pc = std::clamp(p, eps, 1.0);
    return {yc * std::log(yc / pc), inside(p, eps, 1.0) ? -yc / pc : 0.0};
  }
};

template <typename T>
struct PoissonTerm {
  ValueSlope operator()(double y, double p) const {
    const double shifted = p + Bounds<T>::eps;
    return {p - y * std::log(shifted), 1.0 - y / shifted};
  }
};

// log(cosh(x)) = x + softplus(-2x) - log 2, stable for large |x|; its derivative is tanh(x).
struct LogCoshError {
  ValueSlope operator()(double y, double p) const {
    const double x = p - y;
    return {x + softplus(-2.0 * x) - std::log(2.0), std::tanh(x)};
  }
};

// Row kernel for sum_c f(y_c, p_c) / divisor; divisor = cols (a mean) or 1 (a sum).
template <typename T, bool kGrad, typename Term>
struct ElementwiseRow {
  Term term;
  bool mean = true;
  double operator()(const T* y, const T* p, Index cols, T* g, double scale) const {
    const double divisor = mean ? double(cols) : 1.0;
    const double slope_scale = scale / divisor;
    double sum = 0.0;
    for (Index c = 0; c < cols; ++c) {
      const ValueSlope vs = term(y[c], p[c]);
      sum += vs.value;
      if constexpr (kGrad) g[c] = T(slope_scale * vs.slope);
    }
    return sum / divisor;
  }
};

// ---- Losses coupling the whole row. ----

// Categorical label smoothing: y (1 - ls) + ls / num_classes.
struct SmoothedLabels {
  double keep, add;
  SmoothedLabels(double label_smoothing, Index cols)
      : keep(1.0 - label_smoothing), add(label_smoothing / double(cols)) {}
  double operator()(double y) const { return y * keep + add; }
};

// Keras renormalizes p to sum to 1, clips it to [eps, 1 - eps], then takes -sum y log q.
// With r = p / s and s = sum p: dl/dp_j = (gr_j - sum_c gr_c r_c) / s, gr_c = dl/dr_c.
template <typename T, bool kGrad>
struct CategoricalCrossentropyProbs {
  double label_smoothing;
  double operator()(const T* y, const T* p, Index cols, T* g, double scale) const {
    const double lo = Bounds<T>::eps, hi = Bounds<T>::one_minus_eps;
    const SmoothedLabels target(label_smoothing, cols);
    double s = 0.0;
    for (Index c = 0; c < cols; ++c) s += p[c];
    auto grad_r = [&](Index c, double r) { return inside(r, lo, hi) ? -target(y[c]) / r : 0.0; };
    double loss = 0.0, grad_dot_r = 0.0;
    for (Index c = 0; c < cols; ++c) {
      const double r = p[c] / s;
      loss -= target(y[c]) * std::log(std::clamp(r, lo, hi));
      if constexpr (kGrad) grad_dot_r += grad_r(c, r) * r;
    }
    if constexpr (kGrad) {
      for (Index c = 0; c < cols; ++c) g[c] = T(scale * (grad_r(c, p[c] / s) - grad_dot_r) / s);
    }
    return loss;
  }
};

// Returns sum_c exp(z_c - max z) and max z. With kGrad the exponentials are parked in the
// gradient row, which the caller then turns into the gradient without a second exp.
template <typename T, bool kGrad>
std::pair<double, double> shifted_exp_sum(const T* z, Index cols, T* g) {
  double z_max = z[0];
  for (Index c = 1; c < cols; ++c) z_max = std::max(z_max, double(z[c]));
  double exp_sum = 0.0;
  for (Index c = 0; c < cols; ++c) {
    const double e = std::exp(z[c] - z_max);
    exp_sum += e;
    if constexpr (kGrad) g[c] = T(e);
  }
  return {exp_sum, z_max};
}

// -sum y log_softmax(z); gradient sum(y) softmax(z) - y.
template <typename T, bool kGrad>
struct CategoricalCrossentropyLogits {
  double label_smoothing;
  double operator()(const T* y, const T* z, Index cols, T* g, double scale) const {
    const SmoothedLabels target(label_smoothing, cols);
    const auto [exp_sum, z_max] = shifted_exp_sum<T, kGrad>(z, cols, g);
    const double log_sum_exp = z_max + std::log(exp_sum);
    double loss = 0.0, y_sum = 0.0;
    for (Index c = 0; c < cols; ++c) {
      loss += target(y[c]) * (log_sum_exp - z[c]);
      y_sum += target(y[c]);
    }
    if constexpr (kGrad) {
      const double softmax_scale = y_sum / exp_sum;
      for (Index c = 0; c < cols; ++c) g[c] = T(scale * (softmax_scale * g[c] - target(y[c])));
    }
    return loss;
  }
};

// Class index stored as a float; validated beforehand by check_sparse_labels.
template <typename T>
inline Index sparse_label(const T* y) { return static_cast<Index>(y[0]); }

// TF feeds log(clip(p)) to the sparse softmax crossentropy: -log(q_k / sum_c q_c).
template <typename T, bool kGrad>
struct SparseCategoricalCrossentropyProbs {
  double operator()(const T* y, const T* p, Index cols, T* g, double scale) const {
    const double lo = Bounds<T>::eps, hi = Bounds<T>::one_minus_eps;
    const Index label = sparse_label(y);
    double q_sum = 0.0;
    for (Index c = 0; c < cols; ++c) q_sum += std::clamp(double(p[c]), lo, hi);
    const double q_label = std::clamp(double(p[label]), lo, hi);
    if constexpr (kGrad) {
      for (Index c = 0; c < cols; ++c) {
        const double d = 1.0 / q_sum - (c == label ? 1.0 / q_label : 0.0);
        g[c] = inside(p[c], lo, hi) ? T(scale * d) : T(0);
      }
    }
    return std::log(q_sum) - std::log(q_label);
  }
};

template <typename T, bool kGrad>
struct SparseCategoricalCrossentropyLogits {
  double operator()(const T* y, const T* z, Index cols, T* g, double scale) const {
    const Index label = sparse_label(y);
    const auto [exp_sum, z_max] = shifted_exp_sum<T, kGrad>(z, cols, g);
    if constexpr (kGrad) {
      for (Index c = 0; c < cols; ++c) g[c] = T(scale * (g[c] / exp_sum - (c == label ? 1.0 : 0.0)));
    }
    return z_max + std::log(exp_sum) - z[label];
  }
};

// max(neg - pos + 1, 0) with pos = sum y p, neg = max_c (1 - y_c) p_c.
template <typename T, bool kGrad>
struct CategoricalHingeRow {
  double operator()(const T* y, const T* p, Index cols, T* g, double scale) const {
    auto negative_part = [&](Index c) { return (1.0 - y[c]) * p[c]; };
    double pos = 0.0, neg = negative_part(0);
    for (Index c = 0; c < cols; ++c) {
      pos += double(y[c]) * p[c];
      neg = std::max(neg, negative_part(c));
    }
    const double margin = neg - pos + 1.0;
    if constexpr (kGrad) {
      Index ties = 0;
      for (Index c = 0; c < cols; ++c) ties += (negative_part(c) == neg);
      for (Index c = 0; c < cols; ++c) {
        const double neg_share = negative_part(c) == neg ? (1.0 - y[c]) / double(ties) : 0.0;
        g[c] = margin >= 0 ? T(scale * (neg_share - y[c])) : T(0);
      }
    }
    return std::max(margin, 0.0);
  }
};

// -sum yhat phat with x_hat = x * min(1/|x|, 1/eps) (keras normalize). Where the cap is not
// active, d/dp_j = -inv_y inv_p (y_j - (y.p) p_j / |p|^2); where it is, inv_p is a constant.
template <typename T, bool kGrad>
struct CosineSimilarityRow {
  double operator()(const T* y, const T* p, Index cols, T* g, double scale) const {
    double yy = 0.0, pp = 0.0, yp = 0.0;
    for (Index c = 0; c < cols; ++c) {
      yy += double(y[c]) * y[c];
      pp += double(p[c]) * p[c];
      yp += double(y[c]) * p[c];
    }
    const double cap = Bounds<T>::max_inv_norm;
    const double inv_y = std::min(1.0 / std::sqrt(yy), cap);
    const double raw_inv_p = 1.0 / std::sqrt(pp);
    const double inv_p = std::min(raw_inv_p, cap);
    if constexpr (kGrad) {
      const double outer = -scale * inv_y * inv_p;
      const double along_p = raw_inv_p <= cap ? yp / pp : 0.0;
      for (Index c = 0; c < cols; ++c) g[c] = T(outer * (y[c] - along_p * p[c]));
    }
    return -yp * inv_y * inv_p;
  }
};

// ---- Batch-level checks and the reduction. ----

// Keras maps hinge labels to -1/1 only when every label in the batch is exactly 0 or 1.
template <typename T>
bool binary_labels_only(const T* y_true, Index n) {
  for (Index i = 0; i < n; ++i)
    if (y_true[i] != T(0) && y_true[i] != T(1)) return false;
  return true;
}

// Labels are truncated to integers like Keras's cast to int64; each must land in [0, cols).
template <typename T>
void check_sparse_labels(const T* y_true, Index rows, Index cols) {
  for (Index i = 0; i < rows; ++i) {
    const T v = y_true[i];
    if (std::isfinite(v) && std::trunc(v) >= 0 && std::trunc(v) < T(cols)) continue;
    std::ostringstream msg;
    msg << "sparse_categorical_crossentropy: y_true[" << i << "] = " << v
        << " is not a class index in [0, " << cols << ") for y_pred of shape " << shape_str(rows, cols);
    throw ShapeError(msg.str());
  }
}

// Sums row_value(i) over rows. The rows are split into a fixed number of chunks whose partial
// sums are added in order, so the result does not depend on the thread count. (fd::parallel_for
// decides on its iteration count, which here is the chunk count, hence the element count given.)
template <typename RowValue>
double parallel_row_sum(Index rows, Index cols, RowValue&& row_value) {
  constexpr Index kChunks = 64;
  double partial[kChunks] = {};
  const Index chunks = std::min(rows, kChunks);
  parallel_for_work(chunks, double(rows) * double(cols), [&](Index chunk) {
    const Index begin = rows * chunk / chunks, end = rows * (chunk + 1) / chunks;
    double sum = 0.0;
    for (Index i = begin; i < end; ++i) sum += row_value(i);
    partial[chunk] = sum;
  });
  double total = 0.0;
  for (Index chunk = 0; chunk < chunks; ++chunk) total += partial[chunk];
  return total;
}

struct Batch {
  Index rows, cols, target_cols;
  double grad_scale;
  double inv_divisor;  // 1 / what the reduction divides sum_i w_i l_i by (0 for a zero divisor)
};

template <typename T>
double reduction_divisor(LossReduction reduction, const T* sample_weight, Index rows) {
  switch (reduction) {
    case LossReduction::Sum: return 1.0;
    case LossReduction::MeanWithSampleWeight: {
      if (!sample_weight) return double(rows);
      double total = 0.0;
      for (Index i = 0; i < rows; ++i) total += double(sample_weight[i]);
      return total;
    }
    case LossReduction::SumOverBatchSize: break;
  }
  return double(rows);
}

// sum_i w_i l_i / divisor, with scale * w_i / divisor * dl_i/dp written to grad when kGrad.
template <typename T, bool kGrad, typename Row>
double reduce_rows(const Row& row, const Batch& b, const T* y_true, const T* y_pred, const T* sample_weight,
                   T* per_sample, T* grad) {
  const double total = parallel_row_sum(b.rows, b.cols, [&](Index i) {
    const double w = sample_weight ? double(sample_weight[i]) : 1.0;
    T* g = kGrad ? grad + i * b.cols : nullptr;
    const double l = row(y_true + i * b.target_cols, y_pred + i * b.cols, b.cols, g,
                         b.grad_scale * w * b.inv_divisor);
    if (per_sample) per_sample[i] = T(l);
    return w * l;
  });
  return total * b.inv_divisor;
}

template <typename T, bool kGrad, typename Term>
ElementwiseRow<T, kGrad, Term> elementwise(Term term, bool mean = true) {
  return ElementwiseRow<T, kGrad, Term>{term, mean};
}

template <typename T, bool kGrad>
double evaluate_kind(const LossSpec& spec, const Batch& b, const T* y_true, const T* y_pred,
                     const T* sample_weight, T* per_sample, T* grad) {
  auto run = [&](const auto& row) { return reduce_rows<T, kGrad>(row, b, y_true, y_pred, sample_weight, per_sample, grad); };
  const double ls = spec.label_smoothing;
  switch (spec.kind) {
    case LossKind::MeanSquaredError: return run(elementwise<T, kGrad>(SquaredError{}));
    case LossKind::MeanAbsoluteError: return run(elementwise<T, kGrad>(AbsoluteError{}));
    case LossKind::MeanAbsolutePercentageError: return run(elementwise<T, kGrad>(AbsolutePercentageError<T>{}));
    case LossKind::MeanSquaredLogarithmicError: return run(elementwise<T, kGrad>(SquaredLogarithmicError<T>{}));
    case LossKind::BinaryCrossentropy:
      if (spec.from_logits) return run(elementwise<T, kGrad>(BinaryCrossentropyLogits{ls}));
      return run(elementwise<T, kGrad>(BinaryCrossentropyProbs<T>{ls}));
    case LossKind::CategoricalCrossentropy:
      if (spec.from_logits) return run(CategoricalCrossentropyLogits<T, kGrad>{ls});
      return run(CategoricalCrossentropyProbs<T, kGrad>{ls});
    case LossKind::SparseCategoricalCrossentropy:
      check_sparse_labels(y_true, b.rows, b.cols);
      if (spec.from_logits) return run(SparseCategoricalCrossentropyLogits<T, kGrad>{});
      return run(SparseCategoricalCrossentropyProbs<T, kGrad>{});
    case LossKind::Huber: return run(elementwise<T, kGrad>(HuberError{spec.delta}));
    case LossKind::Hinge:
      return run(elementwise<T, kGrad>(HingeError{binary_labels_only(y_true, b.rows * b.cols)}));
    case LossKind::SquaredHinge:
      return run(elementwise<T, kGrad>(SquaredHingeError{binary_labels_only(y_true, b.rows * b.cols)}));
    case LossKind::CategoricalHinge: return run(CategoricalHingeRow<T, kGrad>{});
    case LossKind::KLDivergence: return run(elementwise<T, kGrad>(KLDivergenceTerm<T>{}, /*mean=*/false));
    case LossKind::Poisson: return run(elementwise<T, kGrad>(PoissonTerm<T>{}));
    case LossKind::LogCosh: return run(elementwise<T, kGrad>(LogCoshError{}));
    case LossKind::CosineSimilarity: return run(CosineSimilarityRow<T, kGrad>{});
  }
  throw UnknownNameError("loss_evaluate: unknown loss kind");
}

}  // namespace

Index loss_target_cols(const LossSpec& spec, Index pred_cols) {
  return spec.kind == LossKind::SparseCategoricalCrossentropy ? 1 : pred_cols;
}

template <typename T>
double loss_evaluate(const LossSpec& spec, const T* y_true, const T* y_pred, const T* sample_weight,
                     Index rows, Index cols, T* per_sample, T* grad, double grad_scale) {
  if (rows < 0 || cols < 1)
    throw ShapeError("loss_evaluate: y_pred must have at least one column, got shape " + shape_str(rows, cols));
  if (rows == 0) return 0.0;  // Keras divides with divide_no_nan: an empty batch has loss 0.
  if (!y_true || !y_pred) throw ShapeError("loss_evaluate: y_true and y_pred must not be null");
  const double divisor = reduction_divisor(spec.reduction, sample_weight, rows);
  const Batch batch{rows, cols, loss_target_cols(spec, cols), grad_scale, divisor == 0.0 ? 0.0 : 1.0 / divisor};
  if (grad) return evaluate_kind<T, true>(spec, batch, y_true, y_pred, sample_weight, per_sample, grad);
  return evaluate_kind<T, false>(spec, batch, y_true, y_pred, sample_weight, per_sample, grad);
}

template double loss_evaluate<float>(const LossSpec&, const float*, const float*, const float*, Index, Index,
                                     float*, float*, double);
template double loss_evaluate<double>(const LossSpec&, const double*, const double*, const double*, Index, Index,
                                      double*, double*, double);

}  // namespace fd
