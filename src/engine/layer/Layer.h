// Base of every node in a Network: it owns its output and output-gradient buffers for the
// current batch and knows the layers that feed it.
//
// Gradient bookkeeping: each step starts with every gradient "unwritten". The first consumer
// that contributes to a layer's gradient assigns it and later ones add, so no buffer is zeroed
// per step; a layer whose gradient nobody wrote does not influence the loss.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../Activation.h"
#include "../Constraint.h"
#include "../Random.h"
#include "../Regularizer.h"
#include "../Tensor.h"

namespace fd {

// A weight tensor: the values live in a numpy array owned by Python (updated in place),
// the gradient lives here.
template <typename T>
struct Parameter {
  T* value = nullptr;
  Index rows = 0, cols = 0;
  bool one_dimensional = false;  // stored as one row; constraints take the norm over all values
  bool trainable = true;
  RegularizerSpec regularizer;
  ConstraintSpec constraint;
  CustomPenalty<T> custom_regularizer;   // a user's penalty, added to the built-in one
  CustomConstraint<T> custom_constraint;  // a user's projection, applied after the built-in one
  Matrix<T> grad;

  Index size() const { return rows * cols; }
  MatrixMap<T> values() { return {value, rows, cols}; }
};

template <typename T>
class Layer {
 public:
  explicit Layer(Index width) : width_(width) {}
  virtual ~Layer() = default;
  Layer& operator=(const Layer&) = delete;

  // A copy for inference in another workspace (Network::predict runs each call in its own
  // copies of the layers, so calls from several threads never share a buffer): the same
  // settings and the same parameter values (pointers to the one weight array each), its own
  // buffers, not connected yet. Built by each kind's copy constructor.
  virtual std::unique_ptr<Layer> clone() const = 0;

  virtual std::string kind() const = 0;
  Index width() const { return width_; }
  Index batch() const { return batch_; }

  // Wires the inputs; a layer checks their count and widths here (ShapeError otherwise).
  void connect(std::vector<Layer*> inputs) {
    inputs_ = std::move(inputs);
    check_inputs();
  }
  const std::vector<Layer*>& inputs() const { return inputs_; }

  // Makes room for `batch` rows; reallocates only when the batch outgrows every earlier one.
  virtual void resize(Index batch) {
    if (batch > value_.rows()) {
      value_.resize(batch, width_);
      grad_.resize(batch, width_);
    }
    batch_ = batch;
  }

  virtual void forward(bool training, Random& rng) = 0;
  // Inference on rows [first, first + count) of the batch buffers alone. Layers whose inference
  // output row i depends only on input row i say so with infers_by_rows(); then predict gives each
  // thread its own rows through the whole network, one fork per call instead of several per layer
  // and batch. The others keep infers_by_rows() false and predict runs them batch-wide.
  virtual bool infers_by_rows() const { return false; }
  // Called once before infer_rows on any rows, for what all rows share (BatchNormalization's
  // folded scale and shift), so that infer_rows writes nothing but its own rows.
  virtual void prepare_inference() {}
  virtual void infer_rows(Index /*first*/, Index /*count*/) {}
  // Turns this layer's output gradient into parameter gradients and input gradients
  // (the latter only for inputs with needs_grad).
  virtual void backward() = 0;
  virtual std::vector<Parameter<T>*> parameters() { return {}; }

  MatrixMap<T> value() { return {value_.data(), batch_, width_}; }
  MatrixMap<T> value_rows(Index first, Index count) { return {value_.data() + first * width_, count, width_}; }
  MatrixMap<T> grad() { return {grad_.data(), batch_, width_}; }

  // Adds a contribution to dLoss/dOutput (assigns it if it is the first of this step).
  template <typename Expr>
  void add_to_grad(const Expr& contribution) {
    if (grad_written_) {
      grad().noalias() += contribution;
    } else {
      grad().noalias() = contribution;
      grad_written_ = true;
    }
  }
  // Where a product writes its contribution to dLoss/dOutput: the gradient, and whether to add
  // to it (false for the first contribution of this step, which is assigned).
  std::pair<MatrixMap<T>, bool> grad_destination() {
    const bool accumulate = grad_written_;
    grad_written_ = true;
    return {grad(), accumulate};
  }
  // dLoss/dOutput with any unwritten gradient made zero, for callers that add in place.
  MatrixMap<T> writable_grad() {
    if (!grad_written_) {
      grad().setZero();
      grad_written_ = true;
    }
    return grad();
  }
  // dLoss/dOutput for a loss to assign to; nullptr if a contribution is already there.
  T* claim_grad() {
    if (grad_written_) return nullptr;
    grad_written_ = true;
    return grad_.data();
  }
  T* claim_logits_grad() {
    if (logits_grad_written_) return nullptr;
    return logits_grad().data();
  }
  bool grad_written() const { return grad_written_ || logits_grad_written_; }
  void clear_grad() { grad_written_ = logits_grad_written_ = false; }

  // The crossentropy shortcut: a layer that ends in sigmoid or softmax exposes the values
  // before that activation, and accepts the loss gradient with respect to them directly.
  virtual ActivationKind final_activation() const { return ActivationKind::Linear; }
  virtual MatrixMap<T> logits() { return value(); }
  MatrixMap<T> logits_grad() {
    logits_grad_written_ = true;
    if (logits_grad_.rows() < batch_) logits_grad_.resize(value_.rows(), width_);
    return {logits_grad_.data(), batch_, width_};
  }

  // True when some trainable parameter lies at or upstream of this layer, so its output
  // gradient is needed. Set by the Network.
  bool needs_grad = false;
  RegularizerSpec activity_regularizer;
  CustomPenalty<T> custom_activity_regularizer;  // a user's penalty on the output, like the built-in one
  bool has_activity_penalty() const { return activity_regularizer.active() || bool(custom_activity_regularizer); }

 protected:
  // For clone(): settings only; the buffers start empty and the inputs unconnected.
  Layer(const Layer& other)
      : needs_grad(other.needs_grad),
        activity_regularizer(other.activity_regularizer),
        custom_activity_regularizer(other.custom_activity_regularizer),
        width_(other.width_) {}

  virtual void check_inputs() const {}
  void require_inputs(size_t count) const {
    if (inputs_.size() != count)
      throw ShapeError(kind() + ": expected " + std::to_string(count) + " input(s), got " +
                       std::to_string(inputs_.size()));
  }
  void require_input_width(size_t k, Index expected) const {
    if (inputs_[k]->width() != expected)
      throw ShapeError(kind() + ": input " + std::to_string(k) + " has " + std::to_string(inputs_[k]->width()) +
                       " features, expected " + std::to_string(expected));
  }
  // The gradient to push below the activation: dLoss/dLogits from the loss shortcut plus
  // act'(z) * dLoss/dOutput from the consumers. Returns a view valid until the next step.
  MatrixMap<T> preactivation_grad(const ActivationSpec& act, const T* z);

  bool logits_grad_written_ = false;
  Index width_;
  Index batch_ = 0;
  Matrix<T> value_, grad_, logits_grad_, dz_;
  std::vector<Layer*> inputs_;

 private:
  bool grad_written_ = false;
};

template <typename T>
MatrixMap<T> Layer<T>::preactivation_grad(const ActivationSpec& act, const T* z) {
  if (!grad_written_) return {logits_grad_.data(), batch_, width_};  // only the loss shortcut wrote
  if (dz_.rows() < batch_) dz_.resize(value_.rows(), width_);
  MatrixMap<T> dz(dz_.data(), batch_, width_);
  activation_backward(act, z, value_.data(), grad_.data(), dz.data(), batch_, width_);
  if (logits_grad_written_) dz += MatrixMap<T>(logits_grad_.data(), batch_, width_);
  return dz;
}

// The entry point of the graph: its value is filled by the Network from the user's arrays.
template <typename T>
class InputLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;
  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<InputLayer>(*this); }
  std::string kind() const override { return "InputLayer"; }
  void forward(bool, Random&) override {}
  bool infers_by_rows() const override { return true; }
  void backward() override {}
};

}  // namespace fd

