// Inverted dropout: while training, each value is kept with probability 1 - rate and scaled
// by 1 / (1 - rate); at inference the layer is the identity. dX = mask * dY.
#pragma once

#include "Layer.h"

namespace fd {

template <typename T>
class Dropout : public Layer<T> {
 public:
  Dropout(Index width, double rate) : Layer<T>(width), rate_(rate) {
    if (!(rate >= 0.0 && rate < 1.0)) throw ConfigError("Dropout: rate must be in [0, 1), got " + std::to_string(rate));
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Dropout>(*this); }
  std::string kind() const override { return "Dropout"; }

  void resize(Index batch) override {
    Layer<T>::resize(batch);
    if (mask_.rows() < batch) mask_.resize(this->value_.rows(), this->width_);
  }

  void forward(bool training, Random& rng) override {
    active_ = training && rate_ > 0.0;
    if (!active_) return infer_rows(0, this->batch_);
    auto x = this->inputs_[0]->value();
    auto mask = current_mask();
    const T scale = T(1.0 / (1.0 - rate_));
    T* m = mask.data();
    for (Index i = 0, n = mask.size(); i < n; ++i) m[i] = rng.uniform() >= rate_ ? scale : T(0);
    this->value() = x.cwiseProduct(mask);
  }

  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    this->value_rows(first, count) = this->inputs_[0]->value_rows(first, count);
  }

  void backward() override {
    auto input = this->inputs_[0];
    if (!input->needs_grad) return;
    if (active_)
      input->add_to_grad(this->grad().cwiseProduct(current_mask()));
    else
      input->add_to_grad(this->grad());
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, this->width_);
  }

 private:
  MatrixMap<T> current_mask() { return {mask_.data(), this->batch_, this->width_}; }

  double rate_;
  bool active_ = false;
  Matrix<T> mask_;
};

// Additive zero-mean Gaussian noise while training (Keras's GaussianNoise); identity otherwise.
template <typename T>
class GaussianNoise : public Layer<T> {
 public:
  GaussianNoise(Index width, double stddev) : Layer<T>(width), stddev_(stddev) {}

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<GaussianNoise>(*this); }
  std::string kind() const override { return "GaussianNoise"; }

  void forward(bool training, Random& rng) override {
    infer_rows(0, this->batch_);
    if (!training || stddev_ == 0.0) return;
    T* v = this->value().data();
    for (Index i = 0, n = this->value().size(); i < n; ++i) v[i] += T(stddev_ * rng.normal());
  }

  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    this->value_rows(first, count) = this->inputs_[0]->value_rows(first, count);
  }

  void backward() override {
    if (this->inputs_[0]->needs_grad) this->inputs_[0]->add_to_grad(this->grad());
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, this->width_);
  }

 private:
  double stddev_;
};

}  // namespace fd
