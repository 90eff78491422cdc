// Keras's int8 Dense (keras/src/layers/core/dense.py, quantize("int8") and _int8_call): the kernel
// is int8 with one float scale per output unit (kernel_scale = 127 / max|W[:, j]|), each input row
// is quantized on the fly with its own abs-max scale s_i = 127 / (max|x_i| + 1e-7), and
//   y = act((round(x s) · W_q) / (s_i · kernel_scale_j) + b)
// with the product in exact int32 (GemmInt8). The bias stays trainable; the input gradient uses
// the dequantized kernel, as Keras's custom gradient does.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "../MatrixProduct.h"
#include "../layer/Layer.h"
#include "GemmInt8.h"
#include "Quantize.h"

namespace fd {

template <typename T>
class QuantizedDense : public Layer<T> {
  using Base = Layer<T>;

 public:
  // kernel: (inputs, units) int8, row-major; kernel_scale: units values.
  QuantizedDense(const std::int8_t* kernel, Index inputs, Index units, std::vector<float> kernel_scale,
                 std::optional<Parameter<T>> bias, ActivationSpec activation)
      : Base(units),
        packed_(std::make_shared<const lowp::PackedInt8Matrix>(lowp::pack_int8_matrix(kernel, inputs, units))),
        kernel_scale_(std::make_shared<const std::vector<float>>(std::move(kernel_scale))),
        bias_(std::move(bias)),
        activation_(activation) {
    auto dequantized = std::make_shared<Matrix<T>>(inputs, units);
    for (Index d = 0; d < inputs; ++d)
      for (Index j = 0; j < units; ++j) (*dequantized)(d, j) = T(kernel[d * units + j]) / T((*kernel_scale_)[j]);
    dequantized_ = std::move(dequantized);
    if (bias_) bias_->grad.resize(1, bias_->cols);
  }

  // A predict workspace's copy (Network::predict) shares the int8 kernel, its scales and the
  // dequantized kernel: all three are immutable once built (const through shared_ptr<const>),
  // so the copies of concurrent predict calls only read them. The bias is copied (trainable).
  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<QuantizedDense>(*this); }
  std::string kind() const override { return "Dense"; }
  ActivationKind final_activation() const override { return activation_.kind; }

  void resize(Index batch) override {
    Base::resize(batch);
    if (!linear() && z_.rows() < batch) z_.resize(this->value_.rows(), this->width_);
  }

  MatrixMap<T> logits() override { return linear() ? this->value() : MatrixMap<T>(z_.data(), this->batch_, this->width_); }

  void forward(bool, Random&) override { infer_rows(0, this->batch_); }
  bool infers_by_rows() const override { return true; }

  void infer_rows(Index first, Index count) override {
    if (count == 0) return;
    auto x = this->inputs_[0]->value_rows(first, count);
    auto y = this->value_rows(first, count);
    MatrixMap<T> z = linear() ? y : MatrixMap<T>(z_.data() + first * this->width_, count, this->width_);
    const lowp::Int8Path path = lowp::int8_path();
    // Per thread: predict runs one slice of rows on each.
    static thread_local lowp::Int8Rows rows;
    static thread_local std::vector<float> row_scales;
    static thread_local lowp::AlignedVector<std::int32_t> sums;  // c of the int8 product: tile stores on cache lines
    quantize_rows(x, path, rows, row_scales);
    sums.resize(std::size_t(count * this->width_));
    lowp::gemm_int8_packed(path, rows, *packed_, sums.data());
    const Index units = this->width_;
    const float* kernel_scale = kernel_scale_->data();
    for (Index i = 0; i < count; ++i) {
      const std::int32_t* row = sums.data() + i * units;
      const float row_scale = row_scales[std::size_t(i)];
      T* out = z.data() + i * units;
      // Keras: float32(x_q · W_q) / (kernel_scale * inputs_scale), then + bias.
#pragma omp simd
      for (Index j = 0; j < units; ++j) out[j] = T(float(row[j]) / (kernel_scale[j] * row_scale));
    }
    if (bias_) z.rowwise() += bias_->values().row(0);
    if (!linear()) activation_forward(activation_, z.data(), y.data(), count, units);
  }

  void backward() override {
    auto dz = linear() ? this->grad() : this->preactivation_grad(activation_, z_.data());
    if (bias_ && bias_->trainable) bias_->grad.row(0).noalias() = dz.colwise().sum();
    if (this->inputs_[0]->needs_grad) {
      auto [dx, accumulate] = this->inputs_[0]->grad_destination();
      multiply(dx, dz, Transpose::No, *dequantized_, Transpose::Yes, accumulate);
    }
  }

  std::vector<Parameter<T>*> parameters() override {
    if (bias_) return {&*bias_};
    return {};
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, packed_->k);
  }

 private:
  bool linear() const { return activation_.kind == ActivationKind::Linear; }

  // Each row quantized (lowp::quantize_row) into the layout the GEMM reads for `path`.
  void quantize_rows(const MatrixMap<T>& x, lowp::Int8Path path, lowp::Int8Rows& rows, std::vector<float>& scales) const {
    const Index count = x.rows(), depth = x.cols();
    rows.resize(count, packed_->kp);
    scales.resize(std::size_t(count));
    const int offset = lowp::offsets_activations(path) ? 128 : 0;
    for (Index i = 0; i < rows.mp; ++i) {
      std::int8_t* out = rows.row(i);
      if (i >= count) {
        std::fill(out, out + rows.kp, std::int8_t(std::uint8_t(offset)));
        continue;
      }
      if constexpr (std::is_same_v<T, float>) {
        scales[std::size_t(i)] = lowp::quantize_row(x.data() + i * depth, depth, out, offset);
      } else {
        static thread_local std::vector<float> row;  // float64 networks quantize a float32 copy
        row.assign(x.data() + i * depth, x.data() + (i + 1) * depth);
        scales[std::size_t(i)] = lowp::quantize_row(row.data(), depth, out, offset);
      }
      std::fill(out + depth, out + rows.kp, std::int8_t(std::uint8_t(offset)));
    }
  }

  std::shared_ptr<const lowp::PackedInt8Matrix> packed_;
  std::shared_ptr<const std::vector<float>> kernel_scale_;
  std::shared_ptr<const Matrix<T>> dequantized_;  // W_q / kernel_scale, for the input gradient
  std::optional<Parameter<T>> bias_;
  ActivationSpec activation_;
  Matrix<T> z_;
};

}  // namespace fd
