// Averaging the fused gradient buffer across MPI processes inside the native training step
// (a Network gradient hook that runs without Python, see Network::set_gradient_hook).
//
// _core never links MPI: the MPI functions come from the libmpi that mpi4py has already loaded
// into the process (dlopen with RTLD_NOLOAD of the path Python found), on the communicator
// handle mpi4py gives (`MPI._handleof(comm)`). Handles follow MPICH's ABI (int handles;
// MPI_IN_PLACE is (void*)-1 and MPI_STATUS_IGNORE (MPI_Status*)1 in MPICH's mpi.h): the Python
// side builds this object only when mpi4py reports the MPICH vendor, and uses mpi4py otherwise.
//
// The buffer ends with this process's batch size n_r. Each process multiplies its gradients by
// n_r, one sum-allreduce adds gradients and counts, and the result is divided by Σ n_r: the mean
// gradient of the union batch, exact also when the shards' last batches differ in size.
//
// No hangs: the allreduce is non-blocking (MPI_Iallreduce), polled with MPI_Test until it
// completes or the deadline passes; then a RuntimeError names the timeout, and the caller's
// excepthook aborts the job.
#pragma once

#include <dlfcn.h>
#include <sched.h>

#include <chrono>
#include <climits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "engine/Tensor.h"

namespace fd::bind {

class MpiGradientAllreduce {
 public:
  MpiGradientAllreduce(const std::string& library, int comm, int float_type, int double_type, int sum_op,
                       double timeout_seconds)
      : comm_(comm), float_type_(float_type), double_type_(double_type), sum_op_(sum_op),
        timeout_(timeout_seconds) {
    handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (!handle_)
      throw std::runtime_error("MpiGradientAllreduce: " + library + " is not loaded in this process (import mpi4py first)");
    iallreduce_ = reinterpret_cast<Iallreduce>(dlsym(handle_, "MPI_Iallreduce"));
    test_ = reinterpret_cast<Test>(dlsym(handle_, "MPI_Test"));
    if (!iallreduce_ || !test_) {
      dlclose(handle_);
      throw std::runtime_error("MpiGradientAllreduce: " + library + " lacks MPI_Iallreduce or MPI_Test");
    }
    if (!(timeout_seconds > 0)) throw std::runtime_error("MpiGradientAllreduce: timeout must be positive");
  }
  ~MpiGradientAllreduce() { dlclose(handle_); }
  MpiGradientAllreduce(const MpiGradientAllreduce&) = delete;
  MpiGradientAllreduce& operator=(const MpiGradientAllreduce&) = delete;

  double timeout() const { return timeout_; }

  // buffer[0..size-1): this process's gradients; buffer[size-1]: its sample count. Afterwards
  // the gradients are the sample-weighted mean over all processes and the count their sum.
  template <typename T>
  void average(T* buffer, Index size) {
    if (size - 1 > Index(INT_MAX)) throw std::runtime_error("MpiGradientAllreduce: more than 2^31 gradient values");
    const T count = buffer[size - 1];
    for (Index i = 0; i + 1 < size; ++i) buffer[i] *= count;
    const int type = std::is_same_v<T, float> ? float_type_ : double_type_;
    int request = 0;
    check(iallreduce_(kInPlace, buffer, int(size), type, sum_op_, comm_, &request), "MPI_Iallreduce");
    wait(request);
    const T total = buffer[size - 1];
    if (total <= 0) throw std::runtime_error("MpiGradientAllreduce: the processes' batches hold no samples");
    const T inverse = T(1) / total;
    for (Index i = 0; i + 1 < size; ++i) buffer[i] *= inverse;
  }

 private:
  using Iallreduce = int (*)(const void*, void*, int, int, int, int, int*);
  using Test = int (*)(int*, int*, void*);
  static inline void* const kInPlace = reinterpret_cast<void*>(-1);     // MPICH's MPI_IN_PLACE
  static inline void* const kStatusIgnore = reinterpret_cast<void*>(1);  // MPICH's MPI_STATUS_IGNORE

  void check(int code, const char* what) const {
    if (code != 0)
      throw std::runtime_error(std::string("fastdense.horovod: ") + what + " failed with MPI error code " +
                               std::to_string(code) + " (a rank probably died)");
  }

  // Polls until the request completes: spinning for the first 50 us (ranks that reach the
  // allreduce together finish it within them), then yielding the core until 50 ms (a rank
  // waiting for a peer that the scheduler preempted gives that peer, or another job, the core;
  // with nothing else to run, sched_yield returns at once), then sleeping 0.2 ms between polls.
  // Spinning for 5 ms instead (the earlier policy) trained 784-256-256-10 about a third slower on
  // 2 ranks of a loaded 2-core machine, and an allreduce alone no faster (docs/SCALING.md).
  void wait(int& request) const {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_));
    int done = 0;
    for (;;) {
      check(test_(&request, &done, kStatusIgnore), "MPI_Test");
      if (done) return;
      const auto now = Clock::now();
      if (now > deadline) {
        std::ostringstream message;  // the seconds as Python's :g prints them ("3", "0.5")
        message << "fastdense.horovod: the gradient allreduce did not complete within " << timeout_
                << " s (FASTDENSE_MPI_TIMEOUT): another rank died, stalled or left the training loop";
        throw std::runtime_error(message.str());
      }
      if (now - start < std::chrono::microseconds(50)) continue;
      if (now - start < std::chrono::milliseconds(50)) sched_yield();
      else std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  void* handle_ = nullptr;
  Iallreduce iallreduce_ = nullptr;
  Test test_ = nullptr;
  int comm_, float_type_, double_type_, sum_op_;
  double timeout_;
};

}  // namespace fd::bind
