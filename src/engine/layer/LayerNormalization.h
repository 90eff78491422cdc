// Layer normalization of each sample over its features (Keras 3's LayerNormalization with
// axis=-1, rms_scaling=False). Per row, with its mean μ and biased variance σ², and
// s_j = γ_j / √(σ² + ε):
//   y_j = x_j·s_j + (β_j − μ·s_j)             (Keras's layer_normalization, same rounding)
// Backward, with x̂ = (x − μ)/√(σ² + ε), g = dY·γ and means taken over the row's features:
//   dβ = Σ_rows dY,  dγ = Σ_rows dY·x̂,  dX = (g − mean(g) − x̂·mean(g·x̂)) / √(σ² + ε)
// where the two subtracted terms are the gradient flowing through μ and σ².
#pragma once

#include <cmath>
#include <optional>

#include "GammaBeta.h"
#include "Layer.h"

namespace fd {

template <typename T>
class LayerNormalization : public Layer<T> {
  using Base = Layer<T>;

 public:
  LayerNormalization(Index width, std::optional<Parameter<T>> gamma, std::optional<Parameter<T>> beta,
                     double epsilon)
      : Base(width), affine_("LayerNormalization", width, std::move(gamma), std::move(beta)), epsilon_(epsilon) {
    if (!(epsilon >= 0.0 && std::isfinite(epsilon)))
      throw ConfigError("LayerNormalization: epsilon must be a finite number >= 0, got " + std::to_string(epsilon));
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<LayerNormalization>(*this); }
  std::string kind() const override { return "LayerNormalization"; }

  void resize(Index batch) override {
    Base::resize(batch);
    if (mean_.size() < batch) {
      mean_.resize(this->value_.rows());
      inv_std_.resize(this->value_.rows());
    }
  }

  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    auto x = this->inputs_[0]->value_rows(first, count);
    auto y = this->value_rows(first, count);
    const T eps = T(epsilon_);
    const ConstRow gamma = affine_.gamma(), beta = affine_.beta();
    parallel_rows(count, this->width_, [&](Index i) {
      // Two passes, as tf.nn.moments: the mean, then the mean squared deviation from it.
      const T mean = x.row(i).mean();
      const T variance = (x.row(i).array() - mean).square().mean();
      const T inv_std = T(1) / std::sqrt(variance + eps);
      mean_[first + i] = mean;
      inv_std_[first + i] = inv_std;
      auto s = gamma.array() * inv_std;
      y.row(i).array() = x.row(i).array() * s + (beta.array() - mean * s);
    });
  }

  void backward() override {
    auto x = this->inputs_[0]->value();
    auto dy = this->grad();
    const Index n = x.rows();
    accumulate_parameter_gradients(x, dy);

    Layer<T>* input = this->inputs_[0];
    if (!input->needs_grad) return;
    auto dx = input->writable_grad();
    const T width = T(this->width_);
    const ConstRow gamma = affine_.gamma();
    parallel_rows(n, this->width_, [&](Index i) {
      auto xhat = (x.row(i).array() - mean_[i]) * inv_std_[i];
      auto g = dy.row(i).array() * gamma.array();
      const T mean_g = g.sum() / width, mean_g_xhat = (g * xhat).sum() / width;
      dx.row(i).array() += (g - mean_g - xhat * mean_g_xhat) * inv_std_[i];
    });
  }

  std::vector<Parameter<T>*> parameters() override {
    std::vector<Parameter<T>*> params;
    affine_.append_parameters(params);
    return params;
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, this->width_);
  }

 private:
  // dγ = Σ dY·x̂ and dβ = Σ dY over the rows, summed row by row (rows are contiguous).
  void accumulate_parameter_gradients(const MatrixMap<T>& x, const MatrixMap<T>& dy) {
    Parameter<T>* gamma = affine_.trainable_gamma();
    Parameter<T>* beta = affine_.trainable_beta();
    if (gamma) gamma->grad.setZero();
    if (beta) beta->grad.setZero();
    for (Index i = 0; i < x.rows(); ++i) {
      if (gamma) gamma->grad.row(0).array() += (x.row(i).array() - mean_[i]) * inv_std_[i] * dy.row(i).array();
      if (beta) beta->grad.row(0) += dy.row(i);
    }
  }

  using ConstRow = typename GammaBeta<T>::ConstRow;

  GammaBeta<T> affine_;
  double epsilon_;
  // Per row of the last forward: its mean and 1/√(σ²+ε).
  Eigen::Matrix<T, Eigen::Dynamic, 1> mean_, inv_std_;
};

}  // namespace fd
