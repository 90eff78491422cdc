// Shared-memory buffers of the ranks on one node, from MPI's own primitives: two windows of
// MPI_Win_allocate_shared on a node communicator (MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)),
// each with one segment per rank that every rank of the node can read and write directly
// (MPI_Win_shared_query). The gradient allreduce (mpi_gradient_allreduce.h) alternates between
// the two windows from one step to the next, so a rank can fill its segment for step k+1 while
// a slower peer still copies results out of step k's: the step-(k+1) barrier that precedes any
// read of the new segments is only passed once every peer has finished with step k.
//
// The windows are never freed (MPI_Win_free is collective, and this object dies at interpreter
// exit, possibly after MPI_Finalize): MPICH releases their memory when the process ends.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "mpi_library.h"

namespace fd::bind {

class MpiSharedWindows {
 public:
  MpiSharedWindows(const MpiLibrary& mpi, int node_comm) : mpi_(mpi), comm_(node_comm) {
    mpi_.check(mpi_.comm_rank(comm_, &rank_), "MPI_Comm_rank");
    mpi_.check(mpi_.comm_size(comm_, &size_), "MPI_Comm_size");
  }
  MpiSharedWindows(const MpiSharedWindows&) = delete;
  MpiSharedWindows& operator=(const MpiSharedWindows&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int comm() const { return comm_; }

  // The next step's segments (one per node rank, each at least `bytes` long). Collective over
  // the node: every rank calls it once per step with the same size (the same model).
  const std::vector<char*>& next(std::size_t bytes) {
    parity_ ^= 1;
    Window& window = windows_[parity_];
    if (window.bytes < bytes) {
      // Both windows at once, so the second step's window does not fault its pages in mid-training.
      grow(windows_[0], bytes);
      grow(windows_[1], bytes);
    }
    return window.segments;
  }

  // This step's segments (those next() returned last).
  const std::vector<char*>& current() const { return windows_[parity_].segments; }

  // Orders this rank's loads and stores to the segments against its peers' (the unified memory
  // model of shared windows: MPI_Win_sync, then a barrier, then MPI_Win_sync again).
  void synchronize(const char* what) const {
    const Window& window = windows_[parity_];
    mpi_.check(mpi_.win_sync(window.handle), "MPI_Win_sync");
    mpi_.barrier(comm_, what);
    mpi_.check(mpi_.win_sync(window.handle), "MPI_Win_sync");
  }

 private:
  struct Window {
    int handle = MpiLibrary::kWinNull;
    std::size_t bytes = 0;
    std::vector<char*> segments;
  };

  void grow(Window& window, std::size_t bytes) {
    constexpr std::size_t kPage = 4096;  // each segment starts on its own page (and cache line)
    bytes = (bytes + kPage - 1) / kPage * kPage;
    // MPI_Win_allocate_shared blocks: first make sure every rank of the node is here.
    mpi_.barrier(comm_, "the gradient allreduce (allocating shared memory)");
    if (window.handle != MpiLibrary::kWinNull) {
      mpi_.check(mpi_.win_unlock_all(window.handle), "MPI_Win_unlock_all");
      mpi_.check(mpi_.win_free(&window.handle), "MPI_Win_free");
      window = Window{};
    }
    char* base = nullptr;
    mpi_.check(mpi_.win_allocate_shared(MpiLibrary::Aint(bytes), 1, MpiLibrary::kInfoNull, comm_, &base, &window.handle),
               "MPI_Win_allocate_shared");
    mpi_.check(mpi_.win_lock_all(MpiLibrary::kModeNocheck, window.handle), "MPI_Win_lock_all");
    window.segments.assign(std::size_t(size_), nullptr);
    for (int peer = 0; peer < size_; ++peer) {
      MpiLibrary::Aint peer_bytes = 0;
      int unit = 0;
      mpi_.check(mpi_.win_shared_query(window.handle, peer, &peer_bytes, &unit, &window.segments[std::size_t(peer)]),
                 "MPI_Win_shared_query");
      if (std::size_t(peer_bytes) < bytes)
        throw std::runtime_error("fastdense.horovod: rank " + std::to_string(peer) +
                                 " of this node has a smaller gradient buffer: the ranks train different models");
    }
    window.bytes = bytes;
    fault_in(window);
  }

  // Maps every page of the window into this process now, at allocation, instead of during a step
  // (for the wide model's 100 MB gradients, the first touches cost ~100 ms in a step of ~850 ms).
  // Each rank first writes its own segment (the kernel places a page where it is first written),
  // then reads one byte per page of its peers' segments.
  void fault_in(const Window& window) const {
    constexpr std::size_t kPage = 4096;
    std::memset(window.segments[std::size_t(rank_)], 0, window.bytes);
    mpi_.barrier(comm_, "the gradient allreduce (allocating shared memory)");
    unsigned char sink = 0;
    for (int peer = 0; peer < size_; ++peer) {
      if (peer == rank_) continue;
      const volatile unsigned char* segment = reinterpret_cast<const unsigned char*>(window.segments[std::size_t(peer)]);
      for (std::size_t at = 0; at < window.bytes; at += kPage) sink = static_cast<unsigned char>(sink ^ segment[at]);
    }
    (void)sink;
  }

  const MpiLibrary& mpi_;
  int comm_;
  int rank_ = 0, size_ = 1;
  int parity_ = 0;
  Window windows_[2];
};

}  // namespace fd::bind
