// A fixed per-feature affine map, the engine's form of Keras's Normalization and Rescaling:
//   MultiplyAdd:     y = x * a + b      (Rescaling: a = scale, b = offset; Normalization with
//                                        invert=True: a = std, b = mean, Keras's mean + x * std)
//   SubtractDivide:  y = (x - a) / b    (Normalization: a = mean, b = max(sqrt(variance), eps))
// Each form computes exactly Keras's expression (keras/src/layers/preprocessing/rescaling.py,
// normalization.py), so the native result equals the Python one bit for bit.
// a and b (one value per feature) are owned by Python and read in place on every call, so an
// adapt() after the network was built reaches it; they are not parameters (nothing trains
// them). Backward passes the gradient through the scale: dX = a * dY or dY / b.
#pragma once

#include "Layer.h"

namespace fd {

enum class AffineKind { MultiplyAdd, SubtractDivide };

template <typename T>
class Affine : public Layer<T> {
  using Base = Layer<T>;
  using ConstRow = Eigen::Map<const RowVector<T>>;

 public:
  Affine(Index width, AffineKind kind, const T* a, const T* b) : Base(width), kind_(kind), a_(a), b_(b) {}

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Affine>(*this); }
  std::string kind() const override { return "Affine"; }

  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    auto x = this->inputs_[0]->value_rows(first, count);
    auto y = this->value_rows(first, count);
    const ConstRow a(a_, this->width_), b(b_, this->width_);
    if (kind_ == AffineKind::MultiplyAdd)
      parallel_rows(count, this->width_, [&](Index i) { y.row(i).array() = x.row(i).array() * a.array() + b.array(); });
    else
      parallel_rows(count, this->width_,
                    [&](Index i) { y.row(i).array() = (x.row(i).array() - a.array()) / b.array(); });
  }

  void backward() override {
    Layer<T>* input = this->inputs_[0];
    if (!input->needs_grad) return;
    auto dy = this->grad();
    auto dx = input->writable_grad();
    const ConstRow a(a_, this->width_), b(b_, this->width_);
    if (kind_ == AffineKind::MultiplyAdd)
      parallel_rows(dx.rows(), dx.cols(), [&](Index i) { dx.row(i).array() += dy.row(i).array() * a.array(); });
    else
      parallel_rows(dx.rows(), dx.cols(), [&](Index i) { dx.row(i).array() += dy.row(i).array() / b.array(); });
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, this->width_);
  }

 private:
  AffineKind kind_;
  const T* a_;  // per-feature values in a Python-owned array (the binding keeps it alive)
  const T* b_;
};

}  // namespace fd
