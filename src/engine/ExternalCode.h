// Code outside the engine that runs inside a training step (a user's Python layer, loss, penalty,
// constraint or gradient hook: src/bindings/python_callbacks.h and Network.set_gradient_hook) may
// change any weight array: Python's Variable.assign copies into the very memory the engine reads.
// Every entry into such code is counted here, so that what a train call derives from the weights
// (the bf16 packed kernels of lowp/PackedKernelCache.h) can tell whether it may still match them.
#pragma once

#include <atomic>
#include <cstdint>

namespace fd {

inline std::atomic<std::uint64_t>& external_calls() {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

// Called by the bindings before each call into Python from engine code.
inline void count_external_call() { external_calls().fetch_add(1, std::memory_order_relaxed); }

}  // namespace fd
