// The 64-byte AMX tile configuration (palette 1) that LDTILECFG reads: per tile, its row count
// and bytes per row. Each thread loads it before its first tile instruction.
#pragma once

#include <cstdint>
#include <cstring>

namespace fd::lowp {

struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};

  void set(int tile, int tile_rows, int row_bytes) {
    rows[tile] = std::uint8_t(tile_rows);
    bytes_per_row[tile] = std::uint16_t(row_bytes);
  }
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads exactly 64 bytes");

// GCC's AMX intrinsics (amxtileintrin.h, GCC 11-13) tell the compiler that LDTILECFG reads 8
// bytes and TILELOADD reads no memory at all, so the stores that fill a tile configuration or a
// buffer just before a tile load may be dropped or moved past it (a portable build's tile
// configuration lost its stores and TILEZERO faulted). This compiler-only barrier makes every
// store before it happen first.
inline void tile_memory_barrier() { __asm__ __volatile__("" ::: "memory"); }

}  // namespace fd::lowp
