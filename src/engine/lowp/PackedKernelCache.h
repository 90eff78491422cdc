// A mixed_bfloat16 Dense kernel packed into bf16 between the steps of one Network::train call.
// The optimizer step that updates the kernel also packs it, group of rows by group of rows while
// each is in cache (Network.cpp), into both layouts the next step's products read (GemmBf16.h
// PackedWeightBf16): x·W forward and dz·Wᵀ backward then pack only their other operand. Without
// it each step read the float32 W twice more from memory (64 MB each for 4096x4096).
//
// Never stale: current only from the update that packed it until anything else may change the
// weights. Network::train invalidates it at the start of every call (Python may have assigned
// weights in between) and before every update; any call into Python inside the train call makes
// it stale (ExternalCode.h); it is never filled for a kernel with a constraint (which rewrites W
// after the update) or a frozen one. predict and evaluate never read it.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../ExternalCode.h"
#include "GemmBf16.h"

namespace fd::lowp {

class PackedKernelCache {
 public:
  PackedWeightBf16 packed;

  bool current() const { return filled_ && stamp_ == external_calls().load(std::memory_order_relaxed); }
  void invalidate() { filled_ = false; }
  // Every group of rows of `packed` holds the kernel as the update left it.
  void mark_filled() {
    filled_ = true;
    stamp_ = external_calls().load(std::memory_order_relaxed);
  }

 private:
  bool filled_ = false;
  std::uint64_t stamp_ = 0;
};

// Whether training steps keep packed kernels at all: on unless FASTDENSE_BF16_WEIGHT_CACHE=0 (read
// once); _core.set_bf16_weight_cache switches it (tests compare both: the results are identical).
inline std::atomic<bool>& kernel_caching() {
  static std::atomic<bool> enabled{[] {
    const char* env = std::getenv("FASTDENSE_BF16_WEIGHT_CACHE");
    return !(env && std::strcmp(env, "0") == 0);
  }()};
  return enabled;
}

// How many products have read a packed kernel instead of packing W (tests check that the cache is
// used where it should be, and nowhere else).
inline std::atomic<std::uint64_t>& packed_kernel_reads() {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

}  // namespace fd::lowp
