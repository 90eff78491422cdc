// The optional per-feature scale γ and offset β of the normalization layers (Keras's scale= and
// center= switches), shared by BatchNormalization and LayerNormalization: the shape check, the
// gradient storage, their place in the parameter list, and their values with the neutral γ = 1
// and β = 0 standing in for a switched-off one (which changes no bit of y = x·s + shift).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "Layer.h"

namespace fd {

template <typename T>
class GammaBeta {
 public:
  using ConstRow = Eigen::Map<const RowVector<T>>;

  GammaBeta(const std::string& layer, Index width, std::optional<Parameter<T>> gamma,
            std::optional<Parameter<T>> beta)
      : gamma_(std::move(gamma)), beta_(std::move(beta)), ones_(RowVector<T>::Ones(width)),
        zeros_(RowVector<T>::Zero(width)) {
    for (auto* p : {gamma_ ? &*gamma_ : nullptr, beta_ ? &*beta_ : nullptr}) {
      if (!p) continue;
      if (p->size() != width)
        throw ShapeError(layer + ": a weight has " + std::to_string(p->size()) + " values, expected " +
                         std::to_string(width) + " (one per feature)");
      p->grad.resize(1, width);
    }
  }

  bool has_gamma() const { return gamma_.has_value(); }
  bool has_beta() const { return beta_.has_value(); }
  ConstRow gamma() const { return {gamma_ ? gamma_->value : ones_.data(), ones_.size()}; }
  ConstRow beta() const { return {beta_ ? beta_->value : zeros_.data(), zeros_.size()}; }
  // The gradient rows to write, or nullptr for a weight that is absent or frozen.
  Parameter<T>* trainable_gamma() { return gamma_ && gamma_->trainable ? &*gamma_ : nullptr; }
  Parameter<T>* trainable_beta() { return beta_ && beta_->trainable ? &*beta_ : nullptr; }

  // γ then β, as Keras lists them.
  void append_parameters(std::vector<Parameter<T>*>& params) {
    if (gamma_) params.push_back(&*gamma_);
    if (beta_) params.push_back(&*beta_);
  }

 private:
  std::optional<Parameter<T>> gamma_, beta_;
  RowVector<T> ones_, zeros_;
};

}  // namespace fd
