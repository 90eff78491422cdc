// A layer computed outside the engine: a user's layer or activation, run by two callbacks that
// the bindings connect to Python. The engine still owns the node's output and gradient buffers
// and its parameters' gradients, so the optimizer, regularizers and constraints treat its
// weights exactly like those of the built-in layers.
#pragma once

#include <functional>

#include "Layer.h"

namespace fd {

template <typename T>
class CallbackLayer : public Layer<T> {
  using Base = Layer<T>;

 public:
  // forward(inputs, output, training, differentiate) writes the batch's output. differentiate
  // is null when no backward follows this forward (inference, or nothing upstream trains);
  // otherwise (*differentiate)[k] tells whether backward must produce dLoss/dInput k.
  using Forward = std::function<void(const std::vector<ConstMatrixMap<T>>& inputs, MatrixMap<T> output, bool training,
                                     const std::vector<bool>* differentiate)>;
  // backward(output_grad, input_grads, parameter_grads) adds dLoss/dInput k into input_grads[k]
  // (an empty map when that input needs no gradient) and writes dLoss/dParameter j into
  // parameter_grads[j], for the batch of the last forward.
  using Backward = std::function<void(ConstMatrixMap<T> output_grad, std::vector<MatrixMap<T>>& input_grads,
                                      std::vector<MatrixMap<T>>& parameter_grads)>;

  CallbackLayer(Index width, Forward forward, Backward backward, std::vector<Parameter<T>> parameters)
      : Base(width), forward_(std::move(forward)), backward_(std::move(backward)), parameters_(std::move(parameters)) {
    for (auto& p : parameters_) p.grad.resize(p.rows, p.cols);
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<CallbackLayer>(*this); }
  std::string kind() const override { return "Callback"; }

  void forward(bool training, Random&) override {
    std::vector<ConstMatrixMap<T>> inputs;
    for (Layer<T>* in : this->inputs_) inputs.emplace_back(in->value().data(), this->batch_, in->width());
    if (!(training && this->needs_grad)) {
      forward_(inputs, this->value(), training, nullptr);
      return;
    }
    std::vector<bool> differentiate;
    for (Layer<T>* in : this->inputs_) differentiate.push_back(in->needs_grad);
    forward_(inputs, this->value(), training, &differentiate);
  }

  void backward() override {
    std::vector<MatrixMap<T>> input_grads, parameter_grads;
    for (Layer<T>* in : this->inputs_) {
      if (in->needs_grad) input_grads.push_back(in->writable_grad());
      else input_grads.emplace_back(nullptr, 0, 0);
    }
    for (auto& p : parameters_) parameter_grads.emplace_back(p.grad.data(), p.rows, p.cols);
    backward_(ConstMatrixMap<T>(this->grad().data(), this->batch_, this->width_), input_grads, parameter_grads);
  }

  std::vector<Parameter<T>*> parameters() override {
    std::vector<Parameter<T>*> result;
    for (auto& p : parameters_) result.push_back(&p);
    return result;
  }

 private:
  Forward forward_;
  Backward backward_;
  std::vector<Parameter<T>> parameters_;
};

}  // namespace fd
