// Keras 3 activations (TensorFlow backend semantics) and their gradients.
//
// Each activation is a small functor. Elementwise ones have
//   forward(z, y)            y = f(z)
//   backward(z, y, dy, dz)   dz = dy * f'(z)
// over one contiguous block, written as Eigen array expressions so exp/tanh/erf run on Eigen's SIMD
// kernels (the ones TensorFlow's CPU kernels use too). Row-wise ones (softmax, log_softmax) have the
// same methods over one row. The kind is switched on once per call; the loops that follow are
// monomorphic. Where f has a kink, f' is the value TensorFlow's registered gradient gives there.
#include "Activation.h"

#include <unsupported/Eigen/SpecialFunctions>  // Array::erf

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace fd {
namespace {

template <typename T>
using In = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using Out = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

// Elementwise work is cut into blocks long enough for SIMD and short enough to stay in L1.
constexpr Index kBlock = 1024;

// A stack buffer for one elementwise block. Eigen expressions are lazy, so a subexpression used
// twice (say sigmoid(z) in silu's derivative) would be computed twice; evaluating it into Scratch
// once avoids that without a heap allocation. Only for elementwise blocks (at most kBlock long),
// never for the rows of row-wise activations.
template <typename T>
using Scratch = Eigen::Array<T, Eigen::Dynamic, 1, Eigen::ColMajor, kBlock, 1>;

// 1 / (1 + exp(-z)), as accurate as exp over the whole range and exactly 0 or 1 far out. (Eigen 3.4's
// float logistic() is a rational approximation off by up to 7e-4 relative near z = -9.)
template <typename Derived>
auto sigmoid(const Eigen::ArrayBase<Derived>& z) {
  using T = typename Derived::Scalar;
  return T(1) / (T(1) + (-z).exp());
}

// ---------------------------------------------------------------------------------------------
// Elementwise activations

// f(z) = z; f' = 1.
struct Linear {
  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    if (y.data() != z.data()) y = z;
  }
  template <typename T>
  void backward(In<T>, In<T>, In<T> dy, Out<T> dz) const {
    if (dz.data() != dy.data()) dz = dy;
  }
};

// max(z, 0); f' = [z > 0] (TF's ReluGrad: 0 at the kink).
struct Relu {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z.max(T(0)); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const { dz = (z > T(0)).select(dy, T(0)); }
};

// z if z > 0 else slope * z (TF's LeakyRelu kernel); f' = 1 for z > 0, slope from 0 down.
struct LeakyRelu {
  double slope;
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = (z > T(0)).select(z, z * T(slope)); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    dz = (z > T(0)).select(dy, dy * T(slope));
  }
};

// Keras's general relu: clip(z > threshold ? z : 0) - slope * max(threshold - z, 0), where the clip
// is present only with a max_value and is TF's clip_by_value (min with max_value, then max with 0).
// f' = [z > threshold] * [the clip passes z] + slope * [z < threshold]. clip_by_value passes its
// bounds (0 <= z <= max_value); Keras's relu6 shortcut (max_value 6, threshold 0) does not (0 < z < 6).
struct GeneralRelu {
  double slope, threshold, max_value;
  bool capped;    // a max_value was given
  bool open_cap;  // the relu6 kernel: zero gradient at both ends of [0, 6]

  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    const T thr(threshold), cap(max_value), s(slope);
    const auto kept = (z > thr).select(z, T(0));
    const auto leak = s * (thr - z).max(T(0));
    if (capped)
      y = kept.min(cap).max(T(0)) - leak;
    else
      y = kept - leak;
  }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    const T thr(threshold), cap(max_value), s(slope);
    const auto leak_grad = (z < thr).select(s * dy, T(0));
    if (!capped)
      dz = (z > thr).select(dy, leak_grad);
    else if (open_cap)
      dz = (z > thr && z < cap).select(dy, leak_grad);
    else
      dz = (z > thr && z >= T(0) && z <= cap).select(dy, leak_grad);
  }
};

// min(max(z, 0), 6); f' = [0 < z < 6] (TF's Relu6Grad: 0 at both kinks).
struct Relu6 {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z.max(T(0)).min(T(6)); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    dz = (z > T(0) && z < T(6)).select(dy, T(0));
  }
};

// 1 / (1 + exp(-z)); f' = y (1 - y).
struct Sigmoid {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = sigmoid(z); }
  template <typename T>
  void backward(In<T>, In<T> y, In<T> dy, Out<T> dz) const { dz = dy * (y * (T(1) - y)); }
};

// tanh(z); f' = 1 - y².
struct Tanh {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z.tanh(); }
  template <typename T>
  void backward(In<T>, In<T> y, In<T> dy, Out<T> dz) const { dz = dy * (T(1) - y * y); }
};

// z for z > 0, alpha (exp(z) - 1) otherwise, computed branch-free as
// max(z, 0) + alpha (exp(min(z, 0)) - 1). exp - 1 rather than expm1 is what TF's Elu/Selu kernels
// compute (Keras's TF backend), so values match TF's to the bit near 0 too.
// f' = 1 for z > 0, else alpha exp(z) = y + alpha (alpha at 0, as TF's where(z > 0, elu, alpha * elu)
// differentiates).
struct Elu {
  double alpha;
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z.max(T(0)) + T(alpha) * (z.min(T(0)).exp() - T(1)); }
  template <typename T>
  void backward(In<T> z, In<T> y, In<T> dy, Out<T> dz) const {
    dz = (z > T(0)).select(dy, dy * (y + T(alpha)));
  }
};

// scale * elu(z, alpha) with tf.nn.selu's constants, computed like Elu; f' = scale for z >= 0
// (TF's SeluGrad tests z < 0), else scale alpha exp(z) = y + scale alpha.
struct Selu {
  static constexpr double kAlpha = 1.6732632423543772848170429916717;
  static constexpr double kScale = 1.0507009873554804934193349852946;
  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    y = T(kScale) * z.max(T(0)) + T(kScale * kAlpha) * (z.min(T(0)).exp() - T(1));
  }
  template <typename T>
  void backward(In<T> z, In<T> y, In<T> dy, Out<T> dz) const {
    dz = (z < T(0)).select(dy * (y + T(kScale * kAlpha)), dy * T(kScale));
  }
};

// log(1 + exp(z)) as max(z, 0) + log1p(exp(-|z|)): no overflow for large z, and the tiny values for
// very negative z are kept; f' = sigmoid(z).
struct Softplus {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z.max(T(0)) + (-z.abs()).exp().log1p(); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const { dz = dy * sigmoid(z); }
};

// z / (1 + |z|); f' = 1 / (1 + |z|)².
struct Softsign {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z / (T(1) + z.abs()); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    dz = dy / (T(1) + z.abs()).square();
  }
};

// z sigmoid(z); f' = s (1 + z (1 - s)) with s = sigmoid(z) (tf.nn.silu's gradient).
struct Silu {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z * sigmoid(z); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    const Scratch<T> s = sigmoid(z);
    dz = dy * (s * (T(1) + z * (T(1) - s)));
  }
};

// Exact: 0.5 z (1 + erf(z / √2)); f' = Φ(z) + z φ(z), the normal CDF and density.
// Approximate: 0.5 z (1 + tanh(u)), u = √(2/π) (z + 0.044715 z³), computed as z s with
// s = 0.5 (1 + tanh(u)) = sigmoid(2u), which keeps its accuracy in the left tail where 1 + tanh(u)
// cancels; f' = s + z s (1 - s) 2u', with 1 - s = sigmoid(-2u) and u' = √(2/π) (1 + 3 · 0.044715 z²).
struct Gelu {
  static constexpr double kInvSqrt2 = 0.70710678118654752440;
  static constexpr double kInvSqrt2Pi = 0.39894228040143267794;
  static constexpr double kSqrt2OverPi = 0.79788456080286535588;
  static constexpr double kCubic = 0.044715;
  bool approximate;

  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    if (approximate)
      y = z * sigmoid(T(2 * kSqrt2OverPi) * (z + T(kCubic) * z.cube()));
    else
      y = T(0.5) * z * (T(1) + (z * T(kInvSqrt2)).erf());
  }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    if (approximate) {
      const Scratch<T> two_u = T(2 * kSqrt2OverPi) * (z + T(kCubic) * z.cube());
      const Scratch<T> s = sigmoid(two_u);
      const auto two_du = T(2 * kSqrt2OverPi) * (T(1) + T(3 * kCubic) * z.square());
      dz = dy * (s + z * s * sigmoid(-two_u) * two_du);
    } else {
      dz = dy * (T(0.5) * (T(1) + (z * T(kInvSqrt2)).erf()) +
                 T(kInvSqrt2Pi) * z * (T(-0.5) * z.square()).exp());
    }
  }
};

// exp(z); f' = y.
struct Exponential {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z.exp(); }
  template <typename T>
  void backward(In<T>, In<T> y, In<T> dy, Out<T> dz) const { dz = dy * y; }
};

// relu6(z + 3) / 6 (Keras 3); f' = 1/6 where relu6 passes, 0 < z + 3 < 6.
struct HardSigmoid {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = (z + T(3)).max(T(0)).min(T(6)) / T(6); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    const auto shifted = z + T(3);
    dz = (shifted > T(0) && shifted < T(6)).select(dy / T(6), T(0));
  }
};

// z hard_sigmoid(z); f' = hard_sigmoid(z) + z / 6 where hard_sigmoid is not flat (product rule).
struct HardSilu {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z * ((z + T(3)).max(T(0)).min(T(6)) / T(6)); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    const auto shifted = z + T(3);
    const auto hard_sigmoid = shifted.max(T(0)).min(T(6)) / T(6);
    dz = dy * (shifted > T(0) && shifted < T(6)).select(hard_sigmoid + z / T(6), hard_sigmoid);
  }
};

// z tanh(softplus(z)). With e = exp(z), tanh(log(1 + e)) = n / (n + 2) where n = e (e + 2): one exp
// instead of exp, log1p and tanh. f' = t + z (1 - t²) sigmoid(z) with t that ratio,
// 1 - t² = 4 (n + 1) / (n + 2)² (no cancellation as t -> 1) and sigmoid(z) = e / (1 + e).
// z is capped where t is 1 to working precision and (n + 2)² still fits in T.
struct Mish {
  template <typename T>
  static constexpr T kCap = std::is_same_v<T, float> ? T(20) : T(170);

  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    const Scratch<T> e = z.min(kCap<T>).exp();
    const Scratch<T> n = e * (e + T(2));
    y = z * (n / (n + T(2)));
  }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    const Scratch<T> e = z.min(kCap<T>).exp();
    const Scratch<T> n = e * (e + T(2));
    const auto one_minus_t2 = T(4) * (n + T(1)) / (n + T(2)).square();
    dz = dy * (n / (n + T(2)) + z * one_minus_t2 * (e / (T(1) + e)));
  }
};

// max(z, 0) + alpha expm1(min(z, 0) / alpha) (Keras's TF form). f' = [z >= 0] + [z <= 0] exp(z / alpha):
// TF's Maximum and Minimum gradients both pass at the tie, so at z = 0 it is 2, not 1.
struct Celu {
  double alpha;
  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    const T a(alpha);
    y = z.max(T(0)) + a * (z.min(T(0)) / a).expm1();
  }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    const T a(alpha);
    dz = dy * ((z >= T(0)).template cast<T>() + (z <= T(0)).select((z.min(T(0)) / a).exp(), T(0)));
  }
};

// clip(z, -1, 1) (TF's clip_by_value); f' = [-1 <= z <= 1] (clip_by_value passes its bounds).
struct HardTanh {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z.max(T(-1)).min(T(1)); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    dz = (z >= T(-1) && z <= T(1)).select(dy, T(0));
  }
};

// log(sigmoid(z)) = -softplus(-z); f' = sigmoid(-z).
struct LogSigmoid {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z.min(T(0)) - (-z.abs()).exp().log1p(); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const { dz = dy * sigmoid(-z); }
};

// z - t for z > t, z + t for z < -t, 0 between; f' = [|z| > t] (0 at the band's edges, as TF's where).
struct SoftShrink {
  double threshold;
  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    const T t(threshold);
    y = (z > t).select(z - t, (z < -t).select(z + t, T(0)));
  }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    const T t(threshold);
    dz = (z > t || z < -t).select(dy, T(0));
  }
};

// z where |z| > t, else 0; f' = [|z| > t].
struct HardShrink {
  double threshold;
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = (z.abs() > T(threshold)).select(z, T(0)); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    dz = (z.abs() > T(threshold)).select(dy, T(0));
  }
};

// z - tanh(z); f' = tanh(z)².
struct TanhShrink {
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = z - z.tanh(); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const { dz = dy * z.tanh().square(); }
};

// z where z > t, else the default value (TF's where); f' = [z > t].
struct Threshold {
  double threshold, default_value;
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = (z > T(threshold)).select(z, T(default_value)); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const { dz = (z > T(threshold)).select(dy, T(0)); }
};

// (z + sqrt(z² + b)) / 2; f' = (1 + z / sqrt(z² + b)) / 2.
struct Squareplus {
  double b;
  template <typename T>
  void forward(In<T> z, Out<T> y) const { y = (z + (z.square() + T(b)).sqrt()) / T(2); }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    dz = dy * ((T(1) + z / (z.square() + T(b)).sqrt()) / T(2));
  }
};

// 0 for z <= -1, (z + 1)² / 4 for -1 < z < 1, z from 1 on; f' = 0, (z + 1) / 2, 1 on those pieces.
struct SparsePlus {
  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    y = (z <= T(-1)).select(T(0), (z < T(1)).select(T(0.25) * (z + T(1)).square(), z));
  }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    dz = (z <= T(-1)).select(T(0), (z < T(1)).select(dy * ((z + T(1)) / T(2)), dy));
  }
};

// 0 for z <= -1, (z + 1) / 2 for -1 < z < 1, 1 from 1 on; f' = 1/2 strictly inside, else 0.
struct SparseSigmoid {
  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    y = (z <= T(-1)).select(T(0), (z >= T(1)).select(T(1), T(0.5) * (z + T(1))));
  }
  template <typename T>
  void backward(In<T> z, In<T>, In<T> dy, Out<T> dz) const {
    dz = (z > T(-1) && z < T(1)).select(dy * T(0.5), T(0));
  }
};

// ---------------------------------------------------------------------------------------------
// Row-wise activations: each row is normalised along cols.

// exp(z - max) / Σ exp(z - max) (the shift keeps exp from overflowing);
// Jacobian-vector product dz = y ⊙ (dy - <dy, y>).
struct Softmax {
  static constexpr bool kRowwise = true;
  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    const T shift = z.maxCoeff();
    y = (z - shift).exp();
    y *= T(1) / y.sum();
  }
  template <typename T>
  void backward(In<T>, In<T> y, In<T> dy, Out<T> dz) const {
    const T dot = (dy * y).sum();
    dz = y * (dy - dot);
  }
};

// z - max - log Σ exp(z - max); Jacobian-vector product dz = dy - softmax(z) Σ dy, softmax = exp(y).
struct LogSoftmax {
  static constexpr bool kRowwise = true;
  template <typename T>
  void forward(In<T> z, Out<T> y) const {
    y = z - z.maxCoeff();
    y -= std::log(y.exp().sum());
  }
  template <typename T>
  void backward(In<T>, In<T> y, In<T> dy, Out<T> dz) const {
    const T total = dy.sum();
    dz = dy - y.exp() * total;
  }
};

// ---------------------------------------------------------------------------------------------
// Drivers

template <typename Act, typename = void>
struct is_rowwise : std::false_type {};
template <typename Act>
struct is_rowwise<Act, std::void_t<decltype(Act::kRowwise)>> : std::bool_constant<Act::kRowwise> {};

// Calls visit(begin, size) over [0, rows * cols) in elementwise blocks, or one row at a time;
// whether to fork is decided on the element count, not on the number of blocks or rows.
template <typename Act, typename Visit>
void for_each_span(Index rows, Index cols, Visit&& visit) {
  const Index n = rows * cols;
  if constexpr (is_rowwise<Act>::value) {
    parallel_for_work(rows, double(n), [&](Index row) { visit(row * cols, cols); });
  } else {
    parallel_for_work((n + kBlock - 1) / kBlock, double(n), [&](Index block) {
      const Index begin = block * kBlock;
      visit(begin, std::min(kBlock, n - begin));
    });
  }
}

// The relu variant Keras's ReLU.static_call would run for these parameters.
template <typename Visit>
void visit_relu(const ActivationSpec& spec, Visit&& visit) {
  const bool capped = spec.max_value != std::numeric_limits<double>::infinity();
  if (spec.alpha == 0.0 && !capped && spec.threshold == 0.0) return visit(Relu{});
  if (spec.alpha != 0.0 && !capped && spec.threshold == 0.0) return visit(LeakyRelu{spec.alpha});
  const bool relu6_kernel = capped && spec.max_value == 6.0 && spec.threshold == 0.0;
  if (relu6_kernel && spec.alpha == 0.0) return visit(Relu6{});
  visit(GeneralRelu{spec.alpha, spec.threshold, spec.max_value, capped, relu6_kernel});
}

// Calls visit(functor) with the functor for spec: the one switch per call.
template <typename Visit>
void visit_activation(const ActivationSpec& spec, Visit&& visit) {
  switch (spec.kind) {
    case ActivationKind::Linear: return visit(Linear{});
    case ActivationKind::Relu: return visit_relu(spec, visit);
    case ActivationKind::Sigmoid: return visit(Sigmoid{});
    case ActivationKind::Softmax: return visit(Softmax{});
    case ActivationKind::LogSoftmax: return visit(LogSoftmax{});
    case ActivationKind::Tanh: return visit(Tanh{});
    case ActivationKind::Elu: return visit(Elu{spec.alpha});
    case ActivationKind::Selu: return visit(Selu{});
    case ActivationKind::Softplus: return visit(Softplus{});
    case ActivationKind::Softsign: return visit(Softsign{});
    case ActivationKind::Silu: return visit(Silu{});
    case ActivationKind::Gelu: return visit(Gelu{spec.approximate});
    case ActivationKind::Exponential: return visit(Exponential{});
    case ActivationKind::HardSigmoid: return visit(HardSigmoid{});
    case ActivationKind::HardSilu: return visit(HardSilu{});
    case ActivationKind::LeakyRelu: return visit(LeakyRelu{spec.alpha});
    case ActivationKind::Relu6: return visit(Relu6{});
    case ActivationKind::Mish: return visit(Mish{});
    case ActivationKind::Celu: return visit(Celu{spec.alpha});
    case ActivationKind::HardTanh: return visit(HardTanh{});
    case ActivationKind::LogSigmoid: return visit(LogSigmoid{});
    case ActivationKind::SoftShrink: return visit(SoftShrink{spec.threshold});
    case ActivationKind::HardShrink: return visit(HardShrink{spec.threshold});
    case ActivationKind::TanhShrink: return visit(TanhShrink{});
    case ActivationKind::Squareplus: return visit(Squareplus{spec.b});
    case ActivationKind::SparsePlus: return visit(SparsePlus{});
    case ActivationKind::SparseSigmoid: return visit(SparseSigmoid{});
    case ActivationKind::Threshold: return visit(Threshold{spec.threshold, spec.default_value});
  }
  throw std::invalid_argument("activation: unknown ActivationKind " +
                              std::to_string(static_cast<int>(spec.kind)));
}

void check_extent(Index rows, Index cols) {
  if (rows < 0 || cols < 0) throw ShapeError("activation: negative shape " + shape_str(rows, cols));
}

}  // namespace

template <typename T>
void activation_forward(const ActivationSpec& spec, const T* z, T* y, Index rows, Index cols) {
  check_extent(rows, cols);
  if (rows == 0 || cols == 0) return;
  visit_activation(spec, [&](const auto& act) {
    using Act = std::decay_t<decltype(act)>;
    for_each_span<Act>(rows, cols, [&](Index begin, Index size) {
      act.forward(In<T>(z + begin, size), Out<T>(y + begin, size));
    });
  });
}

template <typename T>
void activation_backward(const ActivationSpec& spec, const T* z, const T* y, const T* dy, T* dz,
                         Index rows, Index cols) {
  check_extent(rows, cols);
  if (rows == 0 || cols == 0) return;
  visit_activation(spec, [&](const auto& act) {
    using Act = std::decay_t<decltype(act)>;
    for_each_span<Act>(rows, cols, [&](Index begin, Index size) {
      act.backward(In<T>(z + begin, size), In<T>(y + begin, size), In<T>(dy + begin, size),
                   Out<T>(dz + begin, size));
    });
  });
}

template void activation_forward<float>(const ActivationSpec&, const float*, float*, Index, Index);
template void activation_forward<double>(const ActivationSpec&, const double*, double*, Index, Index);
template void activation_backward<float>(const ActivationSpec&, const float*, const float*,
                                         const float*, float*, Index, Index);
template void activation_backward<double>(const ActivationSpec&, const double*, const double*,
                                          const double*, double*, Index, Index);

}  // namespace fd
