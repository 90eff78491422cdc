// Fully connected layer, y = act(x W + b), with W of shape (inputs, units) as in Keras.
// Backward: dZ = act'(Z) * dY,  dW = Xᵀ dZ,  db = Σ_rows dZ,  dX = dZ Wᵀ.
// On inputs of rank > 2 the leading axes are rows, as in Keras: a sample of shape (s, inputs)
// is stored flat and row-major, so a batch of them is already the (batch * s, inputs) matrix
// the products take; rows_per_sample = s.
#pragma once

#include <optional>
#include <utility>

#include "../MatrixProduct.h"
#include "../lowp/ComputePrecision.h"
#include "../lowp/PackedKernelCache.h"
#include "Layer.h"

namespace fd {

template <typename T>
class Dense : public Layer<T> {
  using Base = Layer<T>;

 public:
  Dense(Parameter<T> kernel, std::optional<Parameter<T>> bias, ActivationSpec activation, Index rows_per_sample = 1)
      : Base(kernel.cols * rows_per_sample),
        kernel_(std::move(kernel)),
        bias_(std::move(bias)),
        activation_(activation),
        rows_per_sample_(rows_per_sample) {
    if (rows_per_sample_ > 1 && activation_.is_rowwise())  // it would normalize across the rows of a sample
      throw ConfigError("Dense: a softmax activation on inputs of rank > 2 runs as a separate layer");
    kernel_.grad.resize(kernel_.rows, kernel_.cols);
    if (bias_) bias_->grad.resize(1, bias_->cols);
  }

  // A clone (predict's workspaces) never reads the training steps' packed kernel.
  std::unique_ptr<Layer<T>> clone() const override {
    auto copy = std::make_unique<Dense>(*this);
    copy->kernel_cache_ = nullptr;
    return copy;
  }
  std::string kind() const override { return "Dense"; }
  // Reduced precision (lowp): "mixed_bfloat16" layers multiply in bfloat16 (see product()).
  void set_compute_precision(ComputePrecision precision) { precision_ = precision; }
  ActivationKind final_activation() const override { return activation_.kind; }
  // The kernel a training step may keep packed in bf16 (a "mixed_bfloat16" layer's), else null.
  const Parameter<T>* bf16_kernel() const {
    return precision_ == ComputePrecision::Bfloat16 ? &kernel_ : nullptr;
  }
  // Whether backward computes dX = dZ Wᵀ (and so would read Wᵀ's packed layout).
  bool computes_input_grad() const { return this->inputs_[0]->needs_grad; }
  // The packed kernel training steps read while it is current (Network owns it; null: none).
  void use_kernel_cache(const lowp::PackedKernelCache* cache) { kernel_cache_ = cache; }

  void resize(Index batch) override {
    Base::resize(batch);
    if (keeps_z() && z_.rows() < batch) z_.resize(this->value_.rows(), this->width_);
  }

  MatrixMap<T> logits() override { return linear() ? this->value() : preactivation(); }

  // Training and inference compute the same rows; a training step may find W packed already.
  void forward(bool training, Random&) override {
    begin_emulation();
    compute_rows(0, this->batch_, training ? current_packed_kernel(false) : nullptr);
  }
  // Before predict's threads start: they read one rounded copy of the kernel and write their rows
  // of x's.
  void prepare_inference() override { begin_emulation(); }
  bool infers_by_rows() const override { return true; }
  void infer_rows(Index first, Index count) override { compute_rows(first, count, nullptr); }

  // For a predict call that runs several chunks of rows on each thread (Network::predict): the
  // kernel is packed once into fastdense's own kernel's panels, shared by every chunk and thread,
  // instead of once per chunk and thread (a 64-row chunk of 784x256 measured 1.2x faster, a
  // 16-row one 1.7x). reserve_packed_kernel(true) sizes the packed form and says whether the layer
  // wants one; the call's threads then each pack their share with pack_kernel_part (the 64 MB of
  // a 4096x4096 kernel take ~11 ms on one thread) and wait for each other before the first product.
  // With pack false, or on another path, any packed kernel is dropped: the weights may change
  // between calls. Layers under 16k weights keep the plain product (the tutorial's latency path).
  bool reserve_packed_kernel(bool pack) {
    packed_kernel_.clear();
    if constexpr (std::is_same_v<T, float>) {
      if (pack && precision_ == ComputePrecision::Native && own_kernel() && kernel_.size() >= (1 << 14)) {
        packed_kernel_.reserve(own_kernel_isa(), kernel_.rows, kernel_.cols);
        return true;
      }
    }
    return false;
  }
  void pack_kernel_part(int part, int parts) {
    if constexpr (std::is_same_v<T, float>) packed_kernel_.pack_part(false, kernel_.value, kernel_.cols, part, parts);
  }

  void backward() override {
    auto x = rows_of(this->inputs_[0]->value(), kernel_.rows);
#ifdef _OPENMP
    if (computes_as_float32() && backward_in_one_region()) return;
#endif
    auto dz = rows_of(linear() ? this->grad() : this->preactivation_grad(activation_, preactivation().data()),
                      kernel_.cols);
    if (kernel_.trainable) product(kernel_.grad, x, Transpose::Yes, dz, Transpose::No);
    if (bias_ && bias_->trainable) {
      if (precision_ == ComputePrecision::Native)
        bias_->grad.row(0).noalias() = dz.colwise().sum();
      else
        bias_gradient(dz);
    }
    if (this->inputs_[0]->needs_grad) {
      auto [dx, accumulate] = this->inputs_[0]->grad_destination();
      if constexpr (std::is_same_v<T, float>) {
        if (const lowp::PackedWeightBf16* packed = current_packed_kernel(true)) {
          lowp::gemm_bf16(lowp::bf16_path(), false, dz.rows(), dz.data(), *packed, true, dx.data(), accumulate);
          return;
        }
      }
      product(rows_of(dx, kernel_.rows), dz, Transpose::No, kernel_.values(), Transpose::Yes, accumulate);
    }
  }

  std::vector<Parameter<T>*> parameters() override {
    if (bias_) return {&kernel_, &*bias_};
    return {&kernel_};
  }

 protected:
  void check_inputs() const override {
    this->require_inputs(1);
    this->require_input_width(0, kernel_.rows * rows_per_sample_);
  }

 private:
  // Rows [first, first + count): z = x W (with `packed`, W's bf16 layout, when given), then bias
  // and activation.
  void compute_rows(Index first, Index count, const lowp::PackedWeightBf16* packed) {
    auto x = rows_of(this->inputs_[0]->value_rows(first, count), kernel_.rows);
    auto y = rows_of(this->value_rows(first, count), kernel_.cols);
    MatrixMap<T> z = keeps_z() ? rows_of(MatrixMap<T>(z_.data() + first * this->width_, count, this->width_), kernel_.cols) : y;
    const BiasRelu<T> store{bias_ ? bias_->value : nullptr, !linear()};  // used when !keeps_z()
    const auto bias_and_activation = [&](Index begin, Index end) {
      auto rows = z.middleRows(begin, end - begin);
      if (bias_) rows.rowwise() += bias_->values().row(0);
      if (!linear())
        activation_forward(activation_, rows.data(), y.data() + begin * kernel_.cols, end - begin, kernel_.cols);
    };
    if (!computes_as_float32()) {  // reduced precision: the lowp product, then bias + activation
      if constexpr (std::is_same_v<T, float>) {
        if (packed) lowp::gemm_bf16(lowp::bf16_path(), false, z.rows(), x.data(), *packed, false, z.data(), false);
      }
      if (!packed) product(z, x, Transpose::No, kernel_.values(), Transpose::No);
      // In blocks of rows across the threads, each block's z read once for both: Eigen's bias
      // addition over the whole z ran on one thread (~1.5 ms of a wide step), then the
      // activation read z again.
      const Index blocks = (z.rows() + kRowsPerBlock - 1) / kRowsPerBlock;
      parallel_for_work(blocks, double(z.size()), [&](Index block) {
        bias_and_activation(block * kRowsPerBlock, std::min(z.rows(), (block + 1) * kRowsPerBlock));
      });
      return;
    }
    // A relu or no activation runs in the product's own stores (BiasRelu), z being y; any other
    // activation, with the bias, on finished rows of z inside the product's parallel region (one
    // fork per layer instead of one for the product and another for the activation).
    if constexpr (std::is_same_v<T, float>) {
      if (!packed_kernel_.empty()) {  // predict's chunks: the kernel packed once per call
        const kernels::ProductEpilogue in_stores = keeps_z() ? kernels::ProductEpilogue{}
                                                             : kernels::ProductEpilogue{store.bias, store.relu};
        kernels::sgemm_packed(false, x.rows(), x.data(), kernel_.rows, packed_kernel_, false, z.data(), kernel_.cols,
                              in_stores);
        if (keeps_z()) bias_and_activation(0, z.rows());
        return;
      }
    }
    // Emulation::Copies: the rows of x rounded into their rows of the copy, multiplied by the rounded W.
    const bool copies = emulation_ == Emulation::Copies;
    T* rounded = copies ? rounded_x_.data() + first * rows_per_sample_ * kernel_.rows : nullptr;
    if constexpr (std::is_same_v<T, float>) {
      if (copies) lowp::round_floats_to_bf16(x.data(), rounded, x.size());
    }
    const MatrixMap<T> x_product = copies ? MatrixMap<T>(rounded, x.rows(), x.cols()) : x;
    const MatrixMap<T> kernel_product =
        copies ? MatrixMap<T>(rounded_w_.data(), kernel_.rows, kernel_.cols) : kernel_.values();
    if (keeps_z())
      multiply(z, x_product, Transpose::No, kernel_product, Transpose::No, false, bias_and_activation, rounding());
    else
      multiply(y, x_product, Transpose::No, kernel_product, Transpose::No, false, NoEpilogue{}, rounding(), store);
  }
  // Whether the layer keeps its pre-activation z = x W + b apart from its output y: not for no
  // activation (z is y) nor for a plain relu, computed in the product's stores straight into y,
  // whose gradient (Activation.cpp's Relu: dY where z > 0) reads y in z's place: y > 0 exactly
  // where z > 0, and y is NaN where z is. Its logits() are then y, which no loss reads (Network's
  // use_logits takes logits only before a sigmoid or softmax).
  bool keeps_z() const { return !linear() && !activation_.is_plain_relu(); }
  // Whether this layer's step runs the float32 code (its fused parallel regions): a float32 layer,
  // or an emulated mixed_bfloat16 one (emulation_). Through the lowp products instead, with their
  // own forks for the products, the bias and the activation, the emulated 784-256-256-10 step
  // took 0.76x float32's time (FASTDENSE_LOWP=emulated on the Sapphire Rapids VM).
  bool computes_as_float32() const { return precision_ == ComputePrecision::Native || emulation_ != Emulation::None; }
  // How an emulated mixed_bfloat16 layer rounds its operands to bfloat16: in fastdense's own kernel's
  // packing, or (another product path: OpenBLAS) into copies made once per step, x and W in
  // forward, dZ in backward, which the float32 products then read (through the lowp product each
  // of the step's three products rounded both its operands: six copies, 0.82-0.86x float32).
  enum class Emulation { None, InKernel, Copies };
  Emulation emulation() const {
    if constexpr (std::is_same_v<T, float>) {
      if (precision_ == ComputePrecision::Bfloat16 && lowp::bf16_path() == lowp::Bf16Path::Emulated)
        return own_kernel() ? Emulation::InKernel : Emulation::Copies;
    }
    return Emulation::None;
  }
  OperandRounding rounding() const {
    return emulation_ == Emulation::InKernel ? OperandRounding::Bfloat16 : OperandRounding::None;
  }
  // The emulation of this step or predict call, decided once by forward or prepare_inference
  // (single-threaded, before any row is computed): backward then reads the copies its forward made
  // even if the path is switched meanwhile, and predict's threads find them sized and W rounded.
  void begin_emulation() {
    emulation_ = emulation();
    if (emulation_ != Emulation::Copies) return;
    if (rounded_x_.rows() < this->value_.rows() * rows_per_sample_)
      rounded_x_.resize(this->value_.rows() * rows_per_sample_, kernel_.rows);
    round_kernel();
  }
  void round_kernel() {
    if constexpr (std::is_same_v<T, float>) {
      if (rounded_w_.rows() != kernel_.rows || rounded_w_.cols() != kernel_.cols) rounded_w_.resize(kernel_.rows, kernel_.cols);
      lowp::round_floats_to_bf16(kernel_.value, rounded_w_.data(), kernel_.size());
    }
  }
  bool linear() const { return activation_.kind == ActivationKind::Linear; }
  // A (batch, rows_per_sample * cols) buffer as the (batch * rows_per_sample, cols) matrix it stores.
  MatrixMap<T> rows_of(MatrixMap<T> m, Index cols) const {
    return {m.data(), m.rows() * rows_per_sample_, cols};
  }

#ifdef _OPENMP
  // The backward step in one parallel region when its products are large enough to split: each
  // thread takes its rows of dZ = act'(Z) * dY, then (after one barrier) its slabs of dW = Xᵀ dZ
  // and dX = dZ Wᵀ and its columns of db. One fork per layer instead of one for the activation's
  // gradient and one per product. False (nothing done) when the step stays on one thread, or when
  // the loss shortcut wrote dLoss/dZ (an output layer: Layer::preactivation_grad handles that).
  bool backward_in_one_region() {
    const Index batch = this->batch_ * rows_per_sample_, width = kernel_.cols;
    const bool kernel_grad = kernel_.trainable, bias_grad = bias_ && bias_->trainable;
    const bool input_grad = this->inputs_[0]->needs_grad;
    const double work = double(batch) * double(kernel_.rows) * double(width) * (double(kernel_grad) + double(input_grad));
    if (this->logits_grad_written_ || !fork_pays(work, kParallelProductWork)) return false;
    if (!linear() && this->dz_.rows() < this->batch_) this->dz_.resize(this->value_.rows(), this->width_);
    MatrixMap<T> dz = linear() ? rows_of(this->grad(), width) : MatrixMap<T>(this->dz_.data(), batch, width);
    auto x = rows_of(this->inputs_[0]->value(), kernel_.rows);
    // Plain variables, not a structured binding: a lambda cannot capture those in C++17.
    const std::pair<MatrixMap<T>, bool> destination =
        input_grad ? this->inputs_[0]->grad_destination() : std::pair<MatrixMap<T>, bool>{dz, false};
    MatrixMap<T> dx = input_grad ? rows_of(destination.first, kernel_.rows) : destination.first;
    const bool accumulate = destination.second;
    const T* z = linear() ? nullptr : preactivation().data();
    const OperandRounding rounding = this->rounding();
    // Emulation::Copies: the products read forward's rounded x and W and dZ rounded here (the bias
    // gradient sums dZ itself, as the lowp path does).
    const bool copies = emulation_ == Emulation::Copies;
    if (copies && rounded_dz_.rows() < batch) rounded_dz_.resize(batch, width);
    const MatrixMap<T> dz_product = copies ? MatrixMap<T>(rounded_dz_.data(), batch, width) : dz;
    const MatrixMap<T> x_product = copies ? MatrixMap<T>(rounded_x_.data(), batch, kernel_.rows) : x;
    const MatrixMap<T> kernel_product = copies ? MatrixMap<T>(rounded_w_.data(), kernel_.rows, width) : kernel_.values();
    in_team(engine_threads(), [&](Index part, Index parts) {
      const Index first = batch * part / parts, offset = first * width, rows = batch * (part + 1) / parts - first;
      if (!linear())
        activation_backward(activation_, z + offset, this->value_.data() + offset, this->grad_.data() + offset,
                            dz.data() + offset, rows, width);
      if constexpr (std::is_same_v<T, float>) {
        if (copies) lowp::round_floats_to_bf16(dz.data() + offset, rounded_dz_.data() + offset, rows * width);
      }
      if (!linear() || copies) {
#pragma omp barrier
      }
      if (kernel_grad)
        multiply_part(kernel_.grad, x_product, Transpose::Yes, dz_product, Transpose::No, false, part, parts, rounding);
      if (bias_grad) {
        const Index first = width * part / parts, count = width * (part + 1) / parts - first;
        bias_->grad.block(0, first, 1, count).noalias() = dz.middleCols(first, count).colwise().sum();
      }
      if (input_grad)
        multiply_part(dx, dz_product, Transpose::No, kernel_product, Transpose::Yes, accumulate, part, parts, rounding);
    });
    return true;
  }
#endif
  // The training steps' packed kernel (with Wᵀ's layout when `transposed`), when it is current
  // and the bf16 path reads packed operands (counted: the caller reads it); else null (the product
  // packs W itself).
  const lowp::PackedWeightBf16* current_packed_kernel(bool transposed) const {
    if (!kernel_cache_ || !kernel_cache_->current() || lowp::bf16_path() == lowp::Bf16Path::Emulated) return nullptr;
    if (transposed && !kernel_cache_->packed.has_transposed()) return nullptr;
    lowp::packed_kernel_reads().fetch_add(1, std::memory_order_relaxed);
    return &kernel_cache_->packed;
  }
  // Every product of the layer, in its compute precision (lowp dispatch point).
  template <typename C, typename A, typename B>
  void product(C&& c, const A& a, Transpose op_a, const B& b, Transpose op_b, bool accumulate = false) {
    multiply_in(precision_, std::forward<C>(c), a, op_a, b, op_b, accumulate);
  }
  // db = Σ_rows dZ for the reduced-precision step, streaming whole rows of dZ, in blocks of
  // columns across the threads. Eigen's column sum of a row-major matrix reads each vector of
  // columns down all the rows (at 4096 units, 512 rows 16 KB apart) on one thread: ~3.2 ms of a
  // wide bf16 step on one core, 1.3 ms this way (perf samples, one thread, 20 steps). The float32
  // path keeps Eigen's call (its one-region backward splits it across the threads already).
  void bias_gradient(const MatrixMap<T>& dz) {
    const Index rows = dz.rows(), width = dz.cols(), blocks = (width + kColumnsPerBlock - 1) / kColumnsPerBlock;
    parallel_for_work(blocks, double(dz.size()), [&](Index block) {
      const Index first = block * kColumnsPerBlock, count = std::min(kColumnsPerBlock, width - first);
      auto db = bias_->grad.block(0, first, 1, count).array();
      db.setZero();
      for (Index r = 0; r < rows; ++r) db += dz.block(r, first, 1, count).array();
    });
  }
  static constexpr Index kColumnsPerBlock = 256;  // bias gradient: 1 KB of each row per block
  static constexpr Index kRowsPerBlock = 16;       // bias + activation: 256 KB of z at 4096 units
  MatrixMap<T> preactivation() { return keeps_z() ? MatrixMap<T>(z_.data(), this->batch_, this->width_) : this->value(); }

  Parameter<T> kernel_;
  std::optional<Parameter<T>> bias_;
  ActivationSpec activation_;
  Index rows_per_sample_;  // > 1 on inputs of rank > 2
  Matrix<T> z_;  // pre-activation x W + b (unused when the activation is linear)
  ComputePrecision precision_ = ComputePrecision::Native;
  Emulation emulation_ = Emulation::None;  // of the current step or predict call (begin_emulation)
  Matrix<T> rounded_x_, rounded_w_, rounded_dz_;  // Emulation::Copies: the operands rounded to bfloat16
  kernels::PackedB packed_kernel_;  // set for one predict call (reserve_packed_kernel); a clone starts empty
  const lowp::PackedKernelCache* kernel_cache_ = nullptr;  // training steps only (use_kernel_cache)
};

}  // namespace fd
