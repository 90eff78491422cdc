// Fully connected layer, y = act(x W + b), with W of shape (inputs, units) as in Keras.
// Backward: dZ = act'(Z) * dY,  dW = Xᵀ dZ,  db = Σ_rows dZ,  dX = dZ Wᵀ.
#pragma once

#include <optional>

#include "../MatrixProduct.h"
#include "../lowp/ComputePrecision.h"
#include "Layer.h"

namespace fd {

template <typename T>
class Dense : public Layer<T> {
  using Base = Layer<T>;

 public:
  Dense(Parameter<T> kernel, std::optional<Parameter<T>> bias, ActivationSpec activation)
      : Base(kernel.cols), kernel_(std::move(kernel)), bias_(std::move(bias)), activation_(activation) {
    kernel_.grad.resize(kernel_.rows, kernel_.cols);
    if (bias_) bias_->grad.resize(1, bias_->cols);
  }

  std::string kind() const override { return "Dense"; }
  // Reduced precision (lowp): "mixed_bfloat16" layers multiply in bfloat16 (see product()).
  void set_compute_precision(ComputePrecision precision) { precision_ = precision; }
  ActivationKind final_activation() const override { return activation_.kind; }

  void resize(Index batch) override {
    Base::resize(batch);
    if (!linear() && z_.rows() < batch) z_.resize(this->value_.rows(), this->width_);
  }

  MatrixMap<T> logits() override { return linear() ? this->value() : preactivation(); }

  // Training and inference compute the same rows.
  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    auto x = this->inputs_[0]->value_rows(first, count);
    auto y = this->value_rows(first, count);
    MatrixMap<T> z = linear() ? y : MatrixMap<T>(z_.data() + first * this->width_, count, this->width_);
    product(z, x, Transpose::No, kernel_.values(), Transpose::No);
    if (bias_) z.rowwise() += bias_->values().row(0);
    if (!linear()) activation_forward(activation_, z.data(), y.data(), count, this->width_);
  }

  void backward() override {
    auto x = this->inputs_[0]->value();
    auto dz = linear() ? this->grad() : this->preactivation_grad(activation_, preactivation().data());
    if (kernel_.trainable) product(kernel_.grad, x, Transpose::Yes, dz, Transpose::No);
    if (bias_ && bias_->trainable) bias_->grad.row(0).noalias() = dz.colwise().sum();
    if (this->inputs_[0]->needs_grad) {
      auto [dx, accumulate] = this->inputs_[0]->grad_destination();
      product(dx, dz, Transpose::No, kernel_.values(), Transpose::Yes, accumulate);
    }
  }

  std::vector<Parameter<T>*> parameters() override {
    if (bias_) return {&kernel_, &*bias_};
    return {&kernel_};
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, kernel_.rows);
  }

 private:
  bool linear() const { return activation_.kind == ActivationKind::Linear; }
  // Every product of the layer, in its compute precision (lowp dispatch point).
  template <typename C, typename A, typename B>
  void product(C&& c, const A& a, Transpose op_a, const B& b, Transpose op_b, bool accumulate = false) {
    multiply_in(precision_, std::forward<C>(c), a, op_a, b, op_b, accumulate);
  }
  MatrixMap<T> preactivation() { return {z_.data(), this->batch_, this->width_}; }

  Parameter<T> kernel_;
  std::optional<Parameter<T>> bias_;
  ActivationSpec activation_;
  Matrix<T> z_;  // pre-activation x W + b (unused when the activation is linear)
  ComputePrecision precision_ = ComputePrecision::Native;
};

}  // namespace fd
