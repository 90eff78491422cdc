// Keras's int8 Dense (keras/src/layers/core/dense.py, quantize("int8") and _int8_call): the kernel
// is int8 with one float scale per output unit (kernel_scale = 127 / max|W[:, j]|), each input row
// is quantized on the fly with its own abs-max scale s_i = 127 / (max|x_i| + 1e-7), and
//   y = act((round(x s) · W_q) / (s_i · kernel_scale_j) + b)
// with the product in exact int32 (GemmInt8). The bias stays trainable; the input gradient uses
// the dequantized kernel, as Keras's custom gradient does.
//
// On a CPU without AMX or VNNI (the portable int8 path) the same integers are multiplied by the
// float32 product instead (OpenBLAS or fastdense's own kernel): the int32 loops ran 11-14x
// slower than the float32 model there, and issue 17 allows a fallback at most 10% slower. Integer
// operands keep the float sums exact while every partial sum stays below 2^24 (always for up to
// 1,040 inputs, 127^2 * 1040 < 2^24; beyond, unless large same-signed products pile up), and a
// float64 network's sums are exact up to 2^53 (any Dense). Same scales, dequantization and
// epilogue as the int32 path.

#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "../MatrixProduct.h"
#include "../layer/Layer.h"
#include "Blocking.h"
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
    if (lowp::int8_path() == lowp::Int8Path::Portable) {  // the integers as T, for the float product
      auto integers = std::make_shared<Matrix<T>>(inputs, units);
      for (Index d = 0; d < inputs; ++d)
        for (Index j = 0; j < units; ++j) (*integers)(d, j) = T(kernel[d * units + j]);
      if constexpr (std::is_same_v<T, float>) {
        // On fastdense's own kernel, packed once for every call (as predict packs a float Dense's
        // kernel once per call): products of a few rows then read panels, not rows 4 * units
        // bytes apart (the wide model's batch-32 prediction was 0.42x float32 without it, AVX-512).
        if (own_kernel()) {
          auto packed = std::make_shared<kernels::PackedB>();
          packed->pack(own_kernel_isa(), false, integers->data(), units, inputs, units);
          packed_integer_kernel_ = std::move(packed);
        }
      }
      integer_kernel_ = std::move(integers);
    }
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

  // Training keeps the pre-activation for backward; inference (predict's rows) may skip it.
  void forward(bool training, Random&) override { compute_rows(0, this->batch_, training); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override { compute_rows(first, count, false); }

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

  void compute_rows(Index first, Index count, bool keep_preactivation) {
    if (count == 0) return;
    auto x = this->inputs_[0]->value_rows(first, count);
    auto y = this->value_rows(first, count);
    MatrixMap<T> z = linear() ? y : MatrixMap<T>(z_.data() + first * this->width_, count, this->width_);
    const lowp::Int8Path path = lowp::int8_path();
    const Index units = this->width_;
    const float* kernel_scale = kernel_scale_->data();
    const T* bias = bias_ ? bias_->values().data() : nullptr;
    const bool relu_here = activation_.is_plain_relu();
    if (path == lowp::Int8Path::Portable && integer_kernel_) {  // (a path forced after construction takes the int32 loops)
      compute_rows_in_floats(x, z, y, relu_here, keep_preactivation);
      return;
    }
    // Per thread: predict runs one slice of rows on each.
    static thread_local lowp::Int8Rows rows;
    static thread_local std::vector<float> row_scales;
    quantize_rows(x, path, rows, row_scales);
    const float* scales = row_scales.data();  // the lambda runs on the product's threads: their thread_locals differ
    // Each 32x32 block of sums as it is finished, in L1: Keras's float32(x_q · W_q) /
    // (kernel_scale * inputs_scale), then + bias, and a plain relu (the usual hidden layer)
    // applied there too, so that inference writes only y (z is kept when training, for
    // backward); other activations take one pass over z's rows afterwards. This replaces passes
    // over an int32 copy of the product, for the bias and for the activation. (Not an activation
    // call per block: each opens an OpenMP region.)
    T* z_out = linear() || !relu_here || keep_preactivation ? z.data() : nullptr;
    T* y_out = relu_here ? y.data() : nullptr;
    lowp::gemm_int8_packed(path, rows, *packed_, [=](Index i0, Index j0, Index block_rows, Index cols,
                                                     const std::int32_t* sums) {
      for (Index r = 0; r < block_rows; ++r) {
        const Index offset = (i0 + r) * units + j0;
        dequantize_row(sums + r * lowp::kBlock, kernel_scale + j0, scales[i0 + r], bias ? bias + j0 : nullptr,
                       z_out ? z_out + offset : nullptr, y_out ? y_out + offset : nullptr, cols);
      }
    });
    if (!linear() && !relu_here) activation_forward(activation_, z.data(), y.data(), count, units);
  }

  // The portable path: each row quantized as for the int32 product, its integers as T, the
  // product xq · W_q on the float product path into z (y when linear), then the same
  // dequantization per row in blocks across the threads (in place: sums and z are one row).
  void compute_rows_in_floats(const MatrixMap<T>& x, MatrixMap<T> z, MatrixMap<T> y, bool relu_here,
                              bool keep_preactivation) {
    const Index count = x.rows(), depth = x.cols(), units = this->width_;
    // Per thread (predict runs one slice of rows on each), grown to the largest layer and kept.
    static thread_local std::vector<T> integers;
    static thread_local std::vector<float> row_scales;
    static thread_local std::vector<float> row, quantized;  // float64 networks quantize a float32 copy
    if (integers.size() < std::size_t(count * depth)) integers.resize(std::size_t(count * depth));
    row_scales.resize(std::size_t(count));
    for (Index i = 0; i < count; ++i) {
      if constexpr (std::is_same_v<T, float>) {
        row_scales[std::size_t(i)] = lowp::quantize_row(x.data() + i * depth, depth, integers.data() + i * depth);
      } else {
        row.assign(x.data() + i * depth, x.data() + (i + 1) * depth);
        quantized.resize(std::size_t(depth));
        row_scales[std::size_t(i)] = lowp::quantize_row(row.data(), depth, quantized.data());
        std::copy(quantized.begin(), quantized.end(), integers.data() + i * depth);
      }
    }
    const MatrixMap<T> xq(integers.data(), count, depth);
    const float* kernel_scale = kernel_scale_->data();
    const float* scales = row_scales.data();  // read on the product's threads: their thread_locals differ
    const T* bias = bias_ ? bias_->values().data() : nullptr;
    const bool to_z = linear() || !relu_here || keep_preactivation;  // else only y, relu'd, is written
    if constexpr (std::is_same_v<T, float>) {
      if (packed_integer_kernel_ && own_kernel() && packed_integer_kernel_->isa() == own_kernel_isa()) {
        // Dequantization, bias and a plain relu in the kernel's stores (same operations, same order
        // as dequantize_row), in row slabs: the packed kernel is whole.
        T* out = to_z ? z.data() : y.data();
        const auto rows_part = [&](Index part, Index parts) {
          const Index first = count * part / parts, rows = count * (part + 1) / parts - first;
          const kernels::ProductEpilogue epilogue{bias, !to_z, kernel_scale, scales + first};
          kernels::sgemm_packed(false, rows, xq.data() + first * depth, depth, *packed_integer_kernel_, false,
                                out + first * units, units, epilogue);
        };
#ifdef _OPENMP
        const int threads = detail::product_threads(count, depth, units);
        if (threads > 1)
          in_team(threads, rows_part);
        else
#endif
          rows_part(0, 1);
        if (to_z && !linear()) activation_forward(activation_, z.data(), y.data(), count, units);
        return;
      }
    }
    multiply(z, xq, Transpose::No, *integer_kernel_, Transpose::No);
    T* z_data = z.data();
    T* y_out = relu_here ? y.data() : nullptr;
    const Index blocks = (count + kRowsPerBlock - 1) / kRowsPerBlock;
    parallel_for_work(blocks, double(count) * double(units), [&](Index block) {
      for (Index i = block * kRowsPerBlock; i < std::min(count, (block + 1) * kRowsPerBlock); ++i) {
        T* sums = z_data + i * units;
        dequantize_row(sums, kernel_scale, scales[i], bias, to_z ? sums : nullptr, y_out ? y_out + i * units : nullptr,
                       units);
      }
    });
    if (!linear() && !relu_here) activation_forward(activation_, z.data(), y.data(), count, units);
  }
  static constexpr Index kRowsPerBlock = 16;

  // One row of a block: v = T(float(sums[j]) / (kernel_scale[j] * row_scale)) (+ bias[j]) to z
  // and/or max(v, 0) to y (as Eigen's max: (v < 0) ? 0 : v, NaN kept); each variant is its own
  // vector loop. sums are int32 (the int8 paths) or the portable path's exact float sums, which
  // may be z itself.
  template <typename Sum>
  static void dequantize_row(const Sum* sums, const float* kernel_scale, float row_scale, const T* bias, T* z,
                             T* y, Index cols) {
    const auto run = [&](auto with_bias, auto to_z, auto to_y) {
#pragma omp simd
      for (Index j = 0; j < cols; ++j) {
        T v = T(float(sums[j]) / (kernel_scale[j] * row_scale));
        if constexpr (decltype(with_bias)::value) v += bias[j];
        if constexpr (decltype(to_z)::value) z[j] = v;
        if constexpr (decltype(to_y)::value) y[j] = v < T(0) ? T(0) : v;
      }
    };
    using Yes = std::true_type;
    using No = std::false_type;
    if (bias) {
      if (z && y) return run(Yes{}, Yes{}, Yes{});
      if (z) return run(Yes{}, Yes{}, No{});
      return run(Yes{}, No{}, Yes{});
    }
    if (z && y) return run(No{}, Yes{}, Yes{});
    if (z) return run(No{}, Yes{}, No{});
    run(No{}, No{}, Yes{});
  }

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
  std::shared_ptr<const Matrix<T>> integer_kernel_;  // W_q as T, on the portable path only
  std::shared_ptr<const kernels::PackedB> packed_integer_kernel_;  // the same packed, on fastdense's own kernel
  std::optional<Parameter<T>> bias_;
  ActivationSpec activation_;
  Matrix<T> z_;
};

}  // namespace fd
