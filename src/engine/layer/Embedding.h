// Embedding: each sample is `sequence` ids (stored as floats, as every engine value), each
// replaced by its row of the (input_dim, output_dim) table; output width sequence * output_dim.
// Backward: the table's gradient is dense, zero for rows no id of the batch names, with the
// rows of a repeated id summed. The optimizer then updates the table as it updates any weight,
// so every optimizer takes the step of the same model written as one-hot + Dense(use_bias=False)
// (Keras's torch and jax backends do the same; tf.keras's Adam, RMSprop, Adagrad and Nadam
// square each gathered row before repeated ids are summed, which this deliberately does not).
#pragma once

#include <cmath>
#include <string>
#include <utility>

#include "../Error.h"
#include "Layer.h"

namespace fd {

template <typename T>
class Embedding : public Layer<T> {
  using Base = Layer<T>;

 public:
  Embedding(Parameter<T> table, Index sequence, std::string name)
      : Base(sequence * table.cols), table_(std::move(table)), sequence_(sequence), name_(std::move(name)) {
    table_.grad.resize(table_.rows, table_.cols);
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Embedding>(*this); }
  std::string kind() const override { return "Embedding"; }

  // Batch-wide only: the ids are checked before any row is read, and an error must not be
  // thrown from inside predict's parallel region.
  void forward(bool, Random&) override {
    auto ids = this->inputs_[0]->value();
    check_ids(ids);
    const Index dim = table_.cols;
    auto table = table_.values();
    auto y = this->value();
    for (Index r = 0; r < this->batch_; ++r)
      for (Index p = 0; p < sequence_; ++p)
        y.row(r).segment(p * dim, dim) = table.row(Index(ids(r, p)));
  }

  void backward() override {
    if (!table_.trainable) return;
    auto ids = this->inputs_[0]->value();
    auto dy = this->grad();
    const Index dim = table_.cols;
    table_.grad.setZero();
    for (Index r = 0; r < this->batch_; ++r)
      for (Index p = 0; p < sequence_; ++p)
        table_.grad.row(Index(ids(r, p))) += dy.row(r).segment(p * dim, dim);
    // The ids are not differentiable: the input gets no gradient (Keras's is None too).
  }

  std::vector<Parameter<T>*> parameters() override { return {&table_}; }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, sequence_);
  }

 private:
  void check_ids(const MatrixMap<T>& ids) const {
    for (Index r = 0; r < ids.rows(); ++r)
      for (Index p = 0; p < ids.cols(); ++p) {
        const T id = ids(r, p);
        if (!(id == std::floor(id)))  // also catches NaN and infinities
          throw ConfigError("Embedding '" + name_ + "': ids must be integers, got " + std::to_string(double(id)));
        if (id < 0 || id >= T(table_.rows))
          throw OutOfRangeError("Embedding '" + name_ + "': id " + std::to_string((long long)id) +
                                " is out of range [0, " + std::to_string(table_.rows) + ")");
      }
  }

  Parameter<T> table_;
  Index sequence_;
  std::string name_;
};

}  // namespace fd
