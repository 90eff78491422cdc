// The MPI functions fastdense's native gradient hooks call, taken from the libmpi that mpi4py
// has already loaded into the process (dlopen with RTLD_NOLOAD of the path Python found): _core
// never links MPI. Handles follow MPICH's ABI (int handles, MPI_Aint = intptr_t; the constants
// below are MPICH's mpi.h values): the Python side uses these hooks only when mpi4py reports the
// MPICH vendor, and its own mpi4py calls otherwise.
//
// No hangs: every wait is on a non-blocking request (MPI_Iallreduce, MPI_Ibarrier) polled with
// MPI_Test until it completes or the deadline passes; then a RuntimeError names the timeout, and
// the caller's excepthook aborts the job.
#pragma once

#include <dlfcn.h>
#include <sched.h>

#include <chrono>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace fd::bind {

class MpiLibrary {
 public:
  using Aint = std::intptr_t;
  static inline void* const kInPlace = reinterpret_cast<void*>(-1);     // MPI_IN_PLACE
  static inline void* const kStatusIgnore = reinterpret_cast<void*>(1);  // MPI_STATUS_IGNORE
  static constexpr int kInfoNull = 0x1c000000;                           // MPI_INFO_NULL
  static constexpr int kModeNocheck = 1024;                              // MPI_MODE_NOCHECK
  static constexpr int kWinNull = 0x20000000;                            // MPI_WIN_NULL

  MpiLibrary(const std::string& library, double timeout_seconds) : timeout_(timeout_seconds) {
    if (!(timeout_seconds > 0)) throw std::runtime_error("fastdense.horovod: the MPI timeout must be positive");
    handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (!handle_) throw std::runtime_error(library + " is not loaded in this process (import mpi4py first)");
    try {
      load(iallreduce, "MPI_Iallreduce");
      load(test, "MPI_Test");
      load(ibarrier, "MPI_Ibarrier");
      load(comm_rank, "MPI_Comm_rank");
      load(comm_size, "MPI_Comm_size");
      load(win_allocate_shared, "MPI_Win_allocate_shared");
      load(win_shared_query, "MPI_Win_shared_query");
      load(win_lock_all, "MPI_Win_lock_all");
      load(win_unlock_all, "MPI_Win_unlock_all");
      load(win_sync, "MPI_Win_sync");
      load(win_free, "MPI_Win_free");
    } catch (...) {
      dlclose(handle_);
      throw;
    }
  }
  ~MpiLibrary() { dlclose(handle_); }
  MpiLibrary(const MpiLibrary&) = delete;
  MpiLibrary& operator=(const MpiLibrary&) = delete;

  double timeout() const { return timeout_; }

  int (*iallreduce)(const void*, void*, int, int, int, int, int*) = nullptr;
  int (*test)(int*, int*, void*) = nullptr;
  int (*ibarrier)(int, int*) = nullptr;
  int (*comm_rank)(int, int*) = nullptr;
  int (*comm_size)(int, int*) = nullptr;
  int (*win_allocate_shared)(Aint, int, int, int, void*, int*) = nullptr;
  int (*win_shared_query)(int, int, Aint*, int*, void*) = nullptr;
  int (*win_lock_all)(int, int) = nullptr;
  int (*win_unlock_all)(int) = nullptr;
  int (*win_sync)(int) = nullptr;
  int (*win_free)(int*) = nullptr;

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
  void wait(int& request, const char* what) const {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_));
    int done = 0;
    for (;;) {
      check(test(&request, &done, kStatusIgnore), "MPI_Test");
      if (done) return;
      const auto now = Clock::now();
      if (now > deadline) {
        std::ostringstream message;  // the seconds as Python's :g prints them ("3", "0.5")
        message << "fastdense.horovod: " << what << " did not complete within " << timeout_
                << " s (FASTDENSE_MPI_TIMEOUT): another rank died, stalled or left the training loop";
        throw std::runtime_error(message.str());
      }
      if (now - start < std::chrono::microseconds(50)) continue;
      if (now - start < std::chrono::milliseconds(50)) sched_yield();
      else std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  void barrier(int comm, const char* what) const {
    int request = 0;
    check(ibarrier(comm, &request), "MPI_Ibarrier");
    wait(request, what);
  }

 private:
  template <typename F>
  void load(F& function, const char* name) {
    function = reinterpret_cast<F>(dlsym(handle_, name));
    if (!function) throw std::runtime_error(std::string("the loaded MPI library lacks ") + name);
  }

  void* handle_ = nullptr;
  double timeout_;
};

}  // namespace fd::bind
