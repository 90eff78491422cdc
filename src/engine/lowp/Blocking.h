// How the reduced-precision GEMMs (GemmBf16, GemmInt8) walk c: in 32x32 blocks (2x2 AMX tiles of
// 16x16, or the vector kernels' 8x32 / 4x32 steps), each thread over its own slab of blocks, in a
// cache-blocked order. The kernels differ in their operands' types and packing; the walk is this one.
#pragma once

#include <algorithm>

#include "../Tensor.h"  // Index, fork_pays, engine_threads

namespace fd::lowp {

constexpr Index kBlock = 32;  // rows and columns of c per block
constexpr Index kPanel = 16;  // columns per packed panel of b (one AMX tile's width)

inline Index round_up(Index x, Index to) { return (x + to - 1) / to * to; }

// A thread's slab of c in units of blocks: rows [ib, ie) x columns [jb, je).
struct BlockRange {
  Index ib = 0, ie = 0, jb = 0, je = 0;
  bool empty() const { return ib == ie || jb == je; }
};

// Part `part` of `parts`: a slab of rows when c is tall, of columns when it is wide, so that
// each thread reads only its share of the larger operand.
inline BlockRange thread_share(Index row_blocks, Index col_blocks, int part, int parts) {
  const bool split_rows = row_blocks >= col_blocks;
  const Index extent = split_rows ? row_blocks : col_blocks;
  const Index begin = extent * part / parts, end = extent * (part + 1) / parts;
  if (split_rows) return {begin, end, 0, col_blocks};
  return {0, row_blocks, begin, end};
}

// Cache blocking, outermost first: a slab of `columns` columns of c; the depth in slices of
// `slice`; every 32-row block of a; the blocks of the slab's columns. A block of a (32 x slice)
// is read once from memory and reused for every block of the slab's columns, the slab's slice
// of b stays in L2 while all of a passes over it, and the slab of c stays in L2 from one depth
// slice to the next (its tiles are reloaded per slice).
// block(i0, j0, d0, depth, load_c) for every block of `range`, every depth slice of [0, kp) in
// turn; load_c is false on the first slice (the block starts from zero) unless `accumulate`.
template <typename Block>
void for_each_block(const BlockRange& range, Index kp, Index slice, Index columns, bool accumulate,
                    const Block& block) {
  const Index slab = columns / kBlock;
  for (Index jc = range.jb; jc < range.je; jc += slab)
    for (Index d0 = 0; d0 < kp; d0 += slice) {
      const Index depth = std::min(slice, kp - d0);
      for (Index i = range.ib; i < range.ie; ++i)
        for (Index j = jc; j < std::min(range.je, jc + slab); ++j)
          block(i * kBlock, j * kBlock, d0, depth, accumulate || d0 > 0);
    }
}

// run(part, parts) on the engine's threads when a product of `work` multiply-adds pays for the
// fork, else run(0, 1) on this thread (predict's per-thread slices land here: no nested fork).
template <typename Run>
void run_in_parts(double work, const Run& run) {
#ifdef _OPENMP
  if (fork_pays(work, kParallelProductWork)) {
    in_team(engine_threads(), [&](Index part, Index parts) { run(int(part), int(parts)); });
    return;
  }
#endif
  (void)work;
  run(0, 1);
}

}  // namespace fd::lowp
