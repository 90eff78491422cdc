// Averaging the fused gradient buffer across MPI processes inside the native training step
// (a Network gradient hook that runs without Python, see Network::set_gradient_hook), with the
// MPI functions of the libmpi mpi4py loaded (mpi_library.h), on communicator handles mpi4py gives.
//
// The buffer ends with this process's batch size n_r. The result is Σ_r n_r·g_r / Σ_r n_r: the
// mean gradient of the union batch, exact also when the shards' last batches differ in size.
//
// Three ways, chosen by the Python side (fastdense/horovod/process_group.py):
// - "mpi": scale by n_r, one MPI_Iallreduce (SUM) of the whole buffer on the job's
//   communicator, scale by 1 / Σ n_r.
// - "shared" (every rank on one node): each rank's buffer is its segment of a shared-memory
//   window (mpi_shared_windows.h): the network packs into it (gradient_buffer), or average()
//   copies a caller's buffer in. Node rank r sums slice r of every rank's segment, weighted by
//   n_s and in rank order, scales it by 1 / Σ n_s into its own segment, and every rank copies
//   the other slices' sums back. Each value is computed once, so every rank gets bit-identical
//   gradients. MPICH's shared-memory allreduce moves the 100 MB buffer of the wide model through
//   its fixed-size cells several times, and the scaling took two more passes; this reads each
//   rank's buffer once (3.2x faster on 2 ranks, docs/SCALING.md).
// - "hierarchical" (several nodes with the same number of ranks each, Horovod's
//   HOROVOD_HIERARCHICAL_ALLREDUCE): as "shared", but node rank r's unscaled slice sum goes
//   through an MPI_Iallreduce with the ranks of the same node rank on the other nodes before
//   the scaling; one more small MPI_Iallreduce sums the sample counts of the nodes.
// Every wait (allreduce or barrier) is polled against the deadline (MpiLibrary::wait).
#pragma once

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/Tensor.h"
#include "mpi_library.h"
#include "mpi_shared_windows.h"

namespace fd::bind {

class MpiGradientAllreduce {
 public:
  // node_comm: the ranks of this node (shared memory); cross_comm: this node rank's peers on
  // the other nodes (hierarchical). Without node_comm, one MPI_Iallreduce on `comm`.
  MpiGradientAllreduce(const std::string& library, int comm, int float_type, int double_type, int sum_op,
                       double timeout_seconds, std::optional<int> node_comm = std::nullopt,
                       std::optional<int> cross_comm = std::nullopt)
      : mpi_(library, timeout_seconds), comm_(comm), float_type_(float_type), double_type_(double_type),
        sum_op_(sum_op), cross_comm_(cross_comm) {
    if (cross_comm && !node_comm) throw std::runtime_error("MpiGradientAllreduce: cross_comm needs node_comm");
    if (node_comm) windows_ = std::make_unique<MpiSharedWindows>(mpi_, *node_comm);
  }

  double timeout() const { return mpi_.timeout(); }
  bool packs_in_shared_memory() const { return windows_ != nullptr; }

  // The next step's buffer in this rank's shared segment (Network::set_gradient_hook's
  // GradientBuffer): average() then finds the gradients there and copies nothing in, and only
  // the other ranks' slices out.
  template <typename T>
  T* gradient_buffer(Index size) {
    const auto& segments = windows_->next(sizeof(T) * std::size_t(size));
    prepared_ = segments[std::size_t(windows_->rank())];
    prepared_bytes_ = sizeof(T) * std::size_t(size);
    return reinterpret_cast<T*>(prepared_);
  }
  std::string path() const { return !windows_ ? "mpi" : (cross_comm_ ? "hierarchical" : "shared"); }

  // buffer[0..size-1): this process's gradients; buffer[size-1]: its sample count. Afterwards
  // the gradients are the sample-weighted mean over all processes and the count their sum.
  template <typename T>
  void average(T* buffer, Index size) {
    if (size < 1) throw std::runtime_error("MpiGradientAllreduce: the buffer must hold the sample count");
    if (size - 1 > Index(INT_MAX)) throw std::runtime_error("MpiGradientAllreduce: more than 2^31 gradient values");
    if (windows_) average_in_shared_memory(buffer, size);
    else average_with_mpi(buffer, size);
  }

 private:
  template <typename T>
  int type() const {
    return std::is_same_v<T, float> ? float_type_ : double_type_;
  }

  // The node's segments and batch sizes of a step, kept from step to step (no allocation per step).
  template <typename T>
  struct NodeScratch {
    std::vector<const T*> inputs;
    std::vector<T> counts;
  };
  template <typename T>
  NodeScratch<T>& node_scratch() {
    if constexpr (std::is_same_v<T, float>)
      return float_scratch_;
    else
      return double_scratch_;
  }

  template <typename T>
  void allreduce_in_place(T* values, Index count, int comm) {
    int request = 0;
    mpi_.check(mpi_.iallreduce(MpiLibrary::kInPlace, values, int(count), type<T>(), sum_op_, comm, &request),
               "MPI_Iallreduce");
    mpi_.wait(request, "the gradient allreduce");
  }

  template <typename T>
  static T inverse_of(T total) {
    if (!(total > 0)) throw std::runtime_error("MpiGradientAllreduce: the processes' batches hold no samples");
    return T(1) / total;
  }

  template <typename T>
  void average_with_mpi(T* buffer, Index size) {
    const T count = buffer[size - 1];
    for (Index i = 0; i + 1 < size; ++i) buffer[i] *= count;
    allreduce_in_place(buffer, size, comm_);
    const T inverse = inverse_of(buffer[size - 1]);
    for (Index i = 0; i + 1 < size; ++i) buffer[i] *= inverse;
  }

  template <typename T>
  void average_in_shared_memory(T* buffer, Index size) {
    MpiSharedWindows& windows = *windows_;
    const bool packed_in_place = prepared_ == reinterpret_cast<char*>(buffer) && prepared_bytes_ == sizeof(T) * std::size_t(size);
    prepared_ = nullptr;
    const auto& segments = packed_in_place ? windows.current() : windows.next(sizeof(T) * std::size_t(size));
    const int ranks = windows.size(), rank = windows.rank();
    NodeScratch<T>& scratch = node_scratch<T>();
    std::vector<const T*>& inputs = scratch.inputs;
    std::vector<T>& counts = scratch.counts;
    inputs.resize(static_cast<std::size_t>(ranks));
    counts.resize(static_cast<std::size_t>(ranks));
    for (int s = 0; s < ranks; ++s) inputs[std::size_t(s)] = reinterpret_cast<const T*>(segments[std::size_t(s)]);
    T* mine = reinterpret_cast<T*>(segments[std::size_t(rank)]);
    if (!packed_in_place) std::memcpy(mine, buffer, sizeof(T) * std::size_t(size));
    windows.synchronize("the gradient allreduce (gradients in shared memory)");

    T node_total = 0;  // in rank order: the same value on every rank
    for (int s = 0; s < ranks; ++s) node_total += (counts[std::size_t(s)] = inputs[std::size_t(s)][size - 1]);
    T total = node_total;
    if (cross_comm_) allreduce_in_place(&total, 1, *cross_comm_);
    const T inverse = inverse_of(total);

    const Index values = size - 1;
    const auto [begin, end] = slice(values, ranks, rank);
    if (cross_comm_) {
      weighted_sum(inputs, counts, T(1), mine, begin, end);
      allreduce_in_place(mine + begin, end - begin, *cross_comm_);
      for (Index i = begin; i < end; ++i) mine[i] *= inverse;
    } else {
      weighted_sum(inputs, counts, inverse, mine, begin, end);
    }
    windows.synchronize("the gradient allreduce (sums in shared memory)");

    for (int s = 0; s < ranks; ++s) {
      if (s == rank && packed_in_place) continue;
      const auto [from, to] = slice(values, ranks, s);
      std::memcpy(buffer + from, inputs[std::size_t(s)] + from, sizeof(T) * std::size_t(to - from));
    }
    buffer[size - 1] = total;
  }

  // Node rank r's share of `values` gradients: contiguous, whole cache lines except the last.
  static std::pair<Index, Index> slice(Index values, int ranks, int rank) {
    constexpr Index kLine = 16;
    const Index per_rank = ((values + ranks - 1) / ranks + kLine - 1) / kLine * kLine;
    const Index begin = std::min(values, per_rank * rank);
    return {begin, std::min(values, begin + per_rank)};
  }

  // out[i] = (Σ_s weights[s]·inputs[s][i], summed in rank order) · scale for i in [begin, end),
  // block by block so the partial sums stay in L1 and every input is read once. out may be one
  // of the inputs (this rank's segment): each block is read before it is written.
  template <typename T>
  static void weighted_sum(const std::vector<const T*>& inputs, const std::vector<T>& weights, T scale, T* out,
                           Index begin, Index end) {
    constexpr Index kBlock = 1024;
    alignas(64) T sum[kBlock];
    for (Index at = begin; at < end; at += kBlock) {
      const Index n = std::min(kBlock, end - at);
      const T* first = inputs[0] + at;
      const T w0 = weights[0];
      for (Index i = 0; i < n; ++i) sum[i] = first[i] * w0;
      for (std::size_t s = 1; s < inputs.size(); ++s) {
        const T* in = inputs[s] + at;
        const T w = weights[s];
        for (Index i = 0; i < n; ++i) sum[i] += in[i] * w;
      }
      T* o = out + at;
      for (Index i = 0; i < n; ++i) o[i] = sum[i] * scale;
    }
  }

  MpiLibrary mpi_;
  int comm_, float_type_, double_type_, sum_op_;
  std::optional<int> cross_comm_;
  std::unique_ptr<MpiSharedWindows> windows_;
  NodeScratch<float> float_scratch_;
  NodeScratch<double> double_scratch_;
  char* prepared_ = nullptr;  // the segment gradient_buffer handed out for the coming average()
  std::size_t prepared_bytes_ = 0;
};

}  // namespace fd::bind
