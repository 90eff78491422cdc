// Parametric ReLU (Keras's PReLU): y = x if x > 0 else α·x, with a learned α per feature, or
// one α shared by all features (shared_axes covering the feature axis).
// Backward: dα = Σ dY·min(x, 0) (summed over rows, and over features when α is shared);
// dX = dY for x > 0, α·dY for x < 0 and 0 at x = 0, as TensorFlow differentiates
// relu(x) − α·relu(−x).
#pragma once

#include "Layer.h"

namespace fd {

template <typename T>
class PReLU : public Layer<T> {
  using Base = Layer<T>;

 public:
  PReLU(Index width, Parameter<T> alpha) : Base(width), alpha_(std::move(alpha)) {
    if (alpha_.size() != width && alpha_.size() != 1)
      throw ShapeError("PReLU: alpha has " + std::to_string(alpha_.size()) + " values, expected " +
                       std::to_string(width) + " (one per feature) or 1 (shared)");
    alpha_.grad.resize(1, alpha_.size());
    alpha_grad_per_feature_.resize(width);
    if (shared()) broadcast_alpha_.resize(width);
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<PReLU>(*this); }
  std::string kind() const override { return "PReLU"; }

  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }
  // Writes no member (a shared α is applied as a scalar), so threads may run disjoint rows.
  void infer_rows(Index first, Index count) override {
    auto x = this->inputs_[0]->value_rows(first, count);
    auto y = this->value_rows(first, count);
    const auto apply = [&](const auto& alpha) {
      parallel_rows(count, this->width_, [&](Index i) {
        auto xi = x.row(i).array();
        y.row(i).array() = (xi > T(0)).select(xi, alpha * xi);
      });
    };
    if (shared())
      apply(alpha_.value[0]);
    else
      apply(ConstRow(alpha_.value, this->width_).array());
  }

  void backward() override {
    auto x = this->inputs_[0]->value();
    auto dy = this->grad();
    if (alpha_.trainable) accumulate_alpha_gradient(x, dy);
    Layer<T>* input = this->inputs_[0];
    if (!input->needs_grad) return;
    auto dx = input->writable_grad();
    const ConstRow alpha = per_feature_alpha();
    parallel_rows(dx.rows(), dx.cols(), [&](Index i) {
      auto xi = x.row(i).array();
      auto dyi = dy.row(i).array();
      dx.row(i).array() += (xi > T(0)).select(dyi, (xi < T(0)).select(alpha.array() * dyi, T(0)));
    });
  }

  std::vector<Parameter<T>*> parameters() override { return {&alpha_}; }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, this->width_);
  }

 private:
  // dα = Σ dY·min(x, 0), summed row by row (rows are contiguous) into one value per feature.
  void accumulate_alpha_gradient(const MatrixMap<T>& x, const MatrixMap<T>& dy) {
    auto& per_feature = alpha_grad_per_feature_;
    per_feature.setZero();
    for (Index i = 0; i < x.rows(); ++i) per_feature.array() += dy.row(i).array() * x.row(i).array().min(T(0));
    if (shared()) alpha_.grad(0, 0) = per_feature.sum();
    else alpha_.grad.row(0) = per_feature;
  }

  using ConstRow = Eigen::Map<const RowVector<T>>;
  bool shared() const { return alpha_.size() == 1 && this->width_ != 1; }
  // α as one value per feature; a shared α is copied across the features once per call.
  ConstRow per_feature_alpha() {
    if (!shared()) return {alpha_.value, this->width_};
    broadcast_alpha_.setConstant(alpha_.value[0]);
    return {broadcast_alpha_.data(), this->width_};
  }

  Parameter<T> alpha_;
  RowVector<T> broadcast_alpha_;  // used only when α is shared
  RowVector<T> alpha_grad_per_feature_;  // Σ dY·min(x, 0) per feature, before a shared α sums it
};

}  // namespace fd
