// A layer that only moves values within each sample: output column j is input column
// source[j] (RepeatVector repeats the input's columns, Permute reorders the axes of each
// sample, both as such a map computed once in Python). Backward adds each output column's
// gradient back to its source column, so a column read several times gets the sum.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "Layer.h"

namespace fd {

template <typename T>
class ColumnGather : public Layer<T> {
  using Base = Layer<T>;

 public:
  ColumnGather(std::string kind, Index input_width, std::vector<Index> source)
      : Base(Index(source.size())), kind_(std::move(kind)), input_width_(input_width), source_(std::move(source)) {}

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<ColumnGather>(*this); }
  std::string kind() const override { return kind_; }

  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override {
    auto x = this->inputs_[0]->value_rows(first, count);
    auto y = this->value_rows(first, count);
    for (Index r = 0; r < count; ++r)
      for (Index j = 0; j < this->width_; ++j) y(r, j) = x(r, source_[size_t(j)]);
  }

  void backward() override {
    if (!this->inputs_[0]->needs_grad) return;
    auto dx = this->inputs_[0]->writable_grad();
    auto dy = this->grad();
    for (Index r = 0; r < this->batch_; ++r)
      for (Index j = 0; j < this->width_; ++j) dx(r, source_[size_t(j)]) += dy(r, j);
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, input_width_);
  }

 private:
  std::string kind_;
  Index input_width_;
  std::vector<Index> source_;
};

}  // namespace fd
