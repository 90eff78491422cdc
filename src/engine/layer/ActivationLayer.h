// A standalone activation, y = act(x) (Keras's Activation, ReLU, ELU, LeakyReLU, Softmax layers).
#pragma once

#include "Layer.h"

namespace fd {

template <typename T>
class ActivationLayer : public Layer<T> {
 public:
  ActivationLayer(Index width, ActivationSpec activation) : Layer<T>(width), activation_(activation) {}

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<ActivationLayer>(*this); }
  std::string kind() const override { return "Activation"; }
  ActivationKind final_activation() const override { return activation_.kind; }
  MatrixMap<T> logits() override { return this->inputs_[0]->value(); }

  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    activation_forward(activation_, this->inputs_[0]->value_rows(first, count).data(),
                       this->value_rows(first, count).data(), count, this->width_);
  }

  void backward() override {
    auto input = this->inputs_[0];
    if (input->needs_grad) input->add_to_grad(this->preactivation_grad(activation_, input->value().data()));
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, this->width_);
  }

 private:
  ActivationSpec activation_;
};

}  // namespace fd
