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

}  // namespace fd::lowp
