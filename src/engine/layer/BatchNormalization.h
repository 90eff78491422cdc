// Batch normalization of (batch, features) data over the batch axis (Keras 3's
// BatchNormalization with axis=-1). Per feature, with s = γ / √(σ² + ε):
//   y = x·s + (β − μ·s)                       (TensorFlow's batch_normalization, same rounding)
// Training uses the batch mean μ and the biased batch variance σ², and moves the running
// statistics toward them: m ← m·momentum + μ·(1 − momentum), likewise v with σ². Inference
// uses m and v for μ and σ², and so does a frozen layer (trainable=False) even while training,
// as Keras 3 does.
// Backward in training mode, with x̂ = (x − μ)/√(σ² + ε) and N rows:
//   dβ = Σ dY,  dγ = Σ dY·x̂,  dX = s·(dY − dβ/N − x̂·dγ/N)
// where the last two terms are the gradient flowing through μ and σ². In inference mode the
// statistics are constants: dX = s·dY.
#pragma once

#include <cmath>
#include <optional>

#include "GammaBeta.h"
#include "Layer.h"

namespace fd {

template <typename T>
class BatchNormalization : public Layer<T> {
  using Base = Layer<T>;

 public:
  BatchNormalization(Index width, std::optional<Parameter<T>> gamma, std::optional<Parameter<T>> beta,
                     Parameter<T> moving_mean, Parameter<T> moving_variance, double momentum, double epsilon,
                     bool frozen)
      : Base(width),
        affine_("BatchNormalization", width, std::move(gamma), std::move(beta)),
        moving_mean_(std::move(moving_mean)),
        moving_variance_(std::move(moving_variance)),
        momentum_(momentum),
        epsilon_(epsilon),
        frozen_(frozen) {
    if (!std::isfinite(momentum)) throw ConfigError("BatchNormalization: momentum must be finite");
    if (!(epsilon >= 0.0 && std::isfinite(epsilon)))
      throw ConfigError("BatchNormalization: epsilon must be a finite number >= 0, got " + std::to_string(epsilon));
    for (Parameter<T>* p : {&moving_mean_, &moving_variance_}) require_feature_vector(*p);
    // The running statistics are state, never trained (Keras's non-trainable weights).
    moving_mean_.trainable = moving_variance_.trainable = false;
    for (RowVector<T>* v : {&mean_, &variance_, &inv_std_, &scale_, &shift_, &dy_sum_, &dy_xhat_sum_})
      v->resize(width);
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<BatchNormalization>(*this); }
  std::string kind() const override { return "BatchNormalization"; }

  void forward(bool training, Random&) override {
    batch_statistics_ = training && !frozen_;
    if (!batch_statistics_) {
      prepare_inference();
    } else {
      batch_moments(this->inputs_[0]->value());
      update_moving_statistics();
      fold_scale_and_shift();
    }
    infer_rows(0, this->batch_);
  }

  bool infers_by_rows() const override { return true; }
  void prepare_inference() override {
    batch_statistics_ = false;
    mean_ = moving_mean_.values().row(0);
    variance_ = moving_variance_.values().row(0);
    fold_scale_and_shift();
  }
  // y = x·s + shift with the scale and shift of the last forward or prepare_inference.
  void infer_rows(Index first, Index count) override {
    auto x = this->inputs_[0]->value_rows(first, count);
    auto y = this->value_rows(first, count);
    parallel_rows(count, this->width_, [&](Index i) { y.row(i) = x.row(i).cwiseProduct(scale_) + shift_; });
  }

  void backward() override {
    auto x = this->inputs_[0]->value();
    auto dy = this->grad();
    // Σ dY and Σ dY·x̂ with x̂ = (x − μ)·(1/√(σ²+ε)), the statistics being the batch's or the
    // running ones. Row by row: rows are contiguous, columns are not.
    dy_sum_.setZero();
    dy_xhat_sum_.setZero();
    for (Index i = 0; i < x.rows(); ++i) {
      dy_sum_ += dy.row(i);
      dy_xhat_sum_.array() += (x.row(i) - mean_).array() * dy.row(i).array();
    }
    dy_xhat_sum_.array() *= inv_std_.array();
    if (Parameter<T>* gamma = affine_.trainable_gamma()) gamma->grad.row(0) = dy_xhat_sum_;
    if (Parameter<T>* beta = affine_.trainable_beta()) beta->grad.row(0) = dy_sum_;

    Layer<T>* input = this->inputs_[0];
    if (!input->needs_grad) return;
    auto dx = input->writable_grad();
    if (!batch_statistics_) {
      parallel_rows(dx.rows(), dx.cols(), [&](Index i) { dx.row(i) += dy.row(i).cwiseProduct(scale_); });
      return;
    }
    // The sums become the per-feature factors of dX (the parameter gradients are copied already):
    // dβ/N, and x̂·dγ/N = (x − μ)·c with c = dγ/(N·√(σ²+ε)).
    const T n = T(x.rows());
    auto& mean_dy = dy_sum_;
    mean_dy /= n;
    auto& xhat_factor = dy_xhat_sum_;
    xhat_factor = xhat_factor.cwiseProduct(inv_std_) / n;
    parallel_rows(dx.rows(), dx.cols(), [&](Index i) {
      dx.row(i).array() +=
          (dy.row(i) - mean_dy - (x.row(i) - mean_).cwiseProduct(xhat_factor)).array() * scale_.array();
    });
  }

  std::vector<Parameter<T>*> parameters() override {
    std::vector<Parameter<T>*> params;
    affine_.append_parameters(params);
    params.push_back(&moving_mean_);
    params.push_back(&moving_variance_);
    return params;
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, this->width_);
  }

 private:
  void require_feature_vector(const Parameter<T>& p) const {
    if (p.size() != this->width_)
      throw ShapeError("BatchNormalization: a weight has " + std::to_string(p.size()) + " values, expected " +
                       std::to_string(this->width_) + " (one per feature)");
  }

  // Two passes, as tf.nn.moments: the mean, then the mean squared deviation from it (biased).
  // Summed row by row: rows are contiguous, columns are not.
  // s = γ/√(σ²+ε) and shift = β − μ·s from mean_ and variance_.
  void fold_scale_and_shift() {
    const T eps = T(epsilon_);
    inv_std_ = variance_.unaryExpr([eps](T variance) { return T(1) / std::sqrt(variance + eps); });
    scale_ = inv_std_;
    if (affine_.has_gamma()) scale_.array() *= affine_.gamma().array();
    shift_ = -mean_.cwiseProduct(scale_);
    if (affine_.has_beta()) shift_ += affine_.beta();
  }

  void batch_moments(const MatrixMap<T>& x) {
    const T n = T(x.rows());
    mean_.setZero();
    for (Index i = 0; i < x.rows(); ++i) mean_ += x.row(i);
    mean_ /= n;
    variance_.setZero();
    for (Index i = 0; i < x.rows(); ++i) variance_.array() += (x.row(i) - mean_).array().square();
    variance_ /= n;
  }

  void update_moving_statistics() {
    const T keep = T(momentum_), take = T(1.0 - momentum_);
    auto m = moving_mean_.values().row(0);
    auto v = moving_variance_.values().row(0);
    m = m * keep + mean_ * take;
    v = v * keep + variance_ * take;
  }

  GammaBeta<T> affine_;
  Parameter<T> moving_mean_, moving_variance_;
  double momentum_, epsilon_;
  bool frozen_;
  bool batch_statistics_ = false;  // the last forward normalized with the batch's own statistics
  // Per feature: the statistics used by the last forward, 1/√(σ²+ε), s = γ/√(σ²+ε), the shift
  // β − μ·s, and backward's column sums Σ dY and Σ dY·x̂.
  RowVector<T> mean_, variance_, inv_std_, scale_, shift_, dy_sum_, dy_xhat_sum_;
};

}  // namespace fd
