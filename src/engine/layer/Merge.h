// Layers that combine several inputs of the same width elementwise (Add, Subtract, Multiply,
// Average, Maximum, Minimum), and Concatenate, which joins them along the feature axis.
#pragma once

#include <cstdint>

#include "Layer.h"

namespace fd {

enum class MergeKind { Add, Subtract, Multiply, Average, Maximum, Minimum };

template <typename T>
class ElementwiseMerge : public Layer<T> {
 public:
  ElementwiseMerge(Index width, MergeKind kind) : Layer<T>(width), merge_(kind) {}

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<ElementwiseMerge>(*this); }
  std::string kind() const override {
    static const char* names[] = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"};
    return names[int(merge_)];
  }

  void resize(Index batch) override {
    Layer<T>::resize(batch);
    if (picks_max_or_min() && winner_.rows() < batch) winner_.resize(this->value_.rows(), this->width_);
    if (merge_ == MergeKind::Multiply && product_.rows() < batch) product_.resize(this->value_.rows(), this->width_);
  }

  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    auto y = this->value_rows(first, count);
    const auto rows_of = [&](size_t k) { return this->inputs_[k]->value_rows(first, count); };
    y = rows_of(0);
    const size_t n = this->inputs_.size();
    switch (merge_) {
      case MergeKind::Add:
        for (size_t k = 1; k < n; ++k) y += rows_of(k);
        break;
      case MergeKind::Subtract:
        y -= rows_of(1);
        break;
      case MergeKind::Multiply:
        for (size_t k = 1; k < n; ++k) y = y.cwiseProduct(rows_of(k));
        break;
      case MergeKind::Average:
        for (size_t k = 1; k < n; ++k) y += rows_of(k);
        y *= T(1.0 / double(n));
        break;
      case MergeKind::Maximum:
      case MergeKind::Minimum:
        track_winners(first, count);
        break;
    }
  }

  // Add/Average pass dY through (scaled); Subtract negates it for the second input;
  // Multiply: dXk = dY * Π_{j≠k} Xj; Maximum/Minimum route dY to the input that won.
  void backward() override {
    const size_t n = this->inputs_.size();
    auto dy = this->grad();
    for (size_t k = 0; k < n; ++k) {
      Layer<T>* in = this->inputs_[k];
      if (!in->needs_grad) continue;
      switch (merge_) {
        case MergeKind::Add: in->add_to_grad(dy); break;
        case MergeKind::Subtract: in->add_to_grad(k == 0 ? T(1) * dy : T(-1) * dy); break;
        case MergeKind::Average: in->add_to_grad(T(1.0 / double(n)) * dy); break;
        case MergeKind::Multiply: {
          MatrixMap<T> others(product_.data(), this->batch_, this->width_);
          others = dy;
          for (size_t j = 0; j < n; ++j)
            if (j != k) others.array() *= input(j).array();
          in->add_to_grad(others);
          break;
        }
        case MergeKind::Maximum:
        case MergeKind::Minimum: {
          auto won = winners().array() == uint8_t(k);
          in->add_to_grad(won.select(dy, Matrix<T>::Zero(dy.rows(), dy.cols())));
          break;
        }
      }
    }
  }

 protected:
  void check_inputs() const override {
    const size_t needed = merge_ == MergeKind::Subtract ? 2 : 0;
    if (needed) this->require_inputs(needed);
    if (this->inputs_.size() < 2 && !needed)
      throw ShapeError(kind() + ": expected at least 2 inputs, got " + std::to_string(this->inputs_.size()));
    if (this->inputs_.size() > 255) throw ShapeError(kind() + ": at most 255 inputs are supported");
    for (size_t k = 0; k < this->inputs_.size(); ++k) this->require_input_width(k, this->width_);
  }

 private:
  using WinnerMatrix = Eigen::Matrix<uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  bool picks_max_or_min() const { return merge_ == MergeKind::Maximum || merge_ == MergeKind::Minimum; }
  MatrixMap<T> input(size_t k) { return this->inputs_[k]->value(); }
  Eigen::Map<WinnerMatrix> winners() { return {winner_.data(), this->batch_, this->width_}; }

  // Keras folds max/min pairwise from the left and TensorFlow sends a tie's gradient to the
  // left operand, so the first input holding the extreme value wins.
  void track_winners(Index first, Index count) {
    auto y = this->value_rows(first, count);
    Eigen::Map<WinnerMatrix> won(winner_.data() + first * this->width_, count, this->width_);
    won.setZero();
    const bool is_max = merge_ == MergeKind::Maximum;
    for (size_t k = 1; k < this->inputs_.size(); ++k) {
      auto x = this->inputs_[k]->value_rows(first, count);
      for (Index i = 0; i < y.rows(); ++i)
        for (Index j = 0; j < y.cols(); ++j)
          if (is_max ? x(i, j) > y(i, j) : x(i, j) < y(i, j)) {
            y(i, j) = x(i, j);
            won(i, j) = uint8_t(k);
          }
    }
  }

  MergeKind merge_;
  WinnerMatrix winner_;
  Matrix<T> product_;  // Multiply's scratch: dY times the other inputs
};

// Joins the inputs along the feature axis; dXk is the matching column block of dY.
template <typename T>
class Concatenate : public Layer<T> {
 public:
  explicit Concatenate(Index width) : Layer<T>(width) {}
  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Concatenate>(*this); }
  std::string kind() const override { return "Concatenate"; }

  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    auto y = this->value_rows(first, count);
    Index offset = 0;
    for (Layer<T>* in : this->inputs_) {
      y.middleCols(offset, in->width()) = in->value_rows(first, count);
      offset += in->width();
    }
  }

  void backward() override {
    auto dy = this->grad();
    Index offset = 0;
    for (Layer<T>* in : this->inputs_) {
      if (in->needs_grad) in->add_to_grad(dy.middleCols(offset, in->width()));
      offset += in->width();
    }
  }

 protected:
  void check_inputs() const override {
    Index total = 0;
    for (Layer<T>* in : this->inputs_) total += in->width();
    if (this->inputs_.empty() || total != this->width_)
      throw ShapeError("Concatenate: input widths sum to " + std::to_string(total) + ", expected " +
                       std::to_string(this->width_));
  }
};

}  // namespace fd
