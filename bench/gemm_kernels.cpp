// fastdense's own float32 kernel (src/engine/kernels/Gemm.h: AVX-512, or AVX2 with `avx2`) against OpenBLAS
// (scipy-openblas32), both single-threaded as the engine runs them (one slab per OpenMP thread),
// on the slabs of the benchmark's Dense products: for x (n×k) and W (k×m), forward x·W,
// dW = xᵀ·dZ and dX = dZ·Wᵀ; and the kernel with op(B) packed beforehand (PackedB: the weights
// during a predict call), whose packing is not timed. The two run alternately, round after round, and each keeps its best
// round, timed in the thread's CPU time: the machine is shared, and neither the time the thread
// waits for a core nor the rounds disturbed most should count.
//
//   SP=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
//   g++ -O3 -march=native -DFASTDENSE_OPENBLAS bench/gemm_kernels.cpp src/engine/kernels/Gemm*.cpp \
//       src/engine/lowp/Dispatch.cpp -o /tmp/gemm_kernels -Isrc -I$SP/scipy_openblas32/include \
//       -L$SP/scipy_openblas32/lib -lscipy_openblas -Wl,-rpath,$SP/scipy_openblas32/lib
//   OPENBLAS_NUM_THREADS=1 /tmp/gemm_kernels [rounds] [all|predict] [avx512|avx2]
// (On an AVX-512 CPU, OPENBLAS_CORETYPE=Haswell holds OpenBLAS to its AVX2 kernels beside `avx2`.)
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "engine/kernels/Gemm.h"

namespace {

double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

struct Product {
  bool ta, tb;
  long m, n, k;  // C (m×n) = op(A) (m×k) · op(B) (k×n)
};

// Seconds per call, over calls repeated for about 20 ms.
template <typename F>
double seconds_per_call(F f, double flops) {
  const long calls = std::max(1L, long(20e-3 * 50e9 / flops));
  const double start = thread_seconds();
  for (long i = 0; i < calls; ++i) f();
  return (thread_seconds() - start) / double(calls);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
  const bool only_chunks = argc > 2 && std::string(argv[2]) == "predict";  // just predict's chunks
  const bool avx2 = argc > 3 && std::string(argv[3]) == "avx2";
  const fd::kernels::Isa isa = avx2 ? fd::kernels::Isa::Avx2 : fd::kernels::Isa::Avx512;
  if (!fd::kernels::gemm_supported(isa)) {
    std::printf("this CPU lacks %s: nothing to compare\n", avx2 ? "AVX2 and FMA" : "AVX-512");
    return 0;
  }
  scipy_openblas_set_num_threads(1);
  // Per-thread slabs on two threads: batch rows split for x·W; dW's rows (k) split; dX's columns (k) split.
  const long layers[][3] = {{32, 784, 256},  {128, 784, 256}, {512, 784, 256},  {128, 256, 256}, {128, 256, 10},
                            {512, 784, 64},  {512, 784, 1024}, {512, 1024, 1024}, {512, 1024, 4096},
                            {512, 4096, 4096}};
  std::vector<Product> products;
  for (const auto& l : layers) {
    if (only_chunks) break;
    const long n = l[0], k = l[1], m = l[2];
    products.push_back({false, false, n / 2, m, k});       // z = x·W, rows split
    products.push_back({true, false, k / 2, m, n});        // dW = xᵀ·dZ, rows split
    products.push_back({false, true, n, k / 2, m});        // dX = dZ·Wᵀ, columns split
  }
  // Predict's chunks: each thread runs a whole batch (128 rows of 784-256-256-10, 512 of
  // 1024-4096-4096-1024) through every layer with the kernel packed once per call (the
  // "B packed" column is the one predict runs).
  const long chunks[][3] = {{128, 784, 256},   {128, 256, 256},   {128, 256, 10},
                            {512, 1024, 4096}, {512, 4096, 4096}, {512, 4096, 1024}};
  for (const auto& l : chunks) products.push_back({false, false, l[0], l[2], l[1]});
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::printf("%-3s %-3s %6s %6s %6s   GFLOP/s: own %-6s   OpenBLAS   ratio   own, B packed   max |diff|\n", "tA", "tB", "m", "n", "k",
              avx2 ? "avx2" : "avx512");
  for (const auto& p : products) {
    const long arows = p.ta ? p.k : p.m, acols = p.ta ? p.m : p.k;
    const long brows = p.tb ? p.n : p.k, bcols = p.tb ? p.k : p.n;
    std::vector<float> a(size_t(arows * acols)), b(size_t(brows * bcols)), c1(size_t(p.m * p.n)), c2(c1.size());
    for (auto& v : a) v = uniform(rng);
    for (auto& v : b) v = uniform(rng);
    const double flops = 2.0 * double(p.m) * double(p.n) * double(p.k);
    const auto own = [&] {
      fd::kernels::sgemm(isa, p.ta, p.tb, p.m, p.n, p.k, a.data(), acols, b.data(), bcols, false, c1.data(), p.n);
    };
    const auto blas = [&] {
      scipy_cblas_sgemm(CblasRowMajor, p.ta ? CblasTrans : CblasNoTrans, p.tb ? CblasTrans : CblasNoTrans, p.m, p.n,
                        p.k, 1.0f, a.data(), acols, b.data(), bcols, 0.0f, c2.data(), p.n);
    };
    fd::kernels::PackedB packed;
    packed.pack(isa, p.tb, b.data(), bcols, p.k, p.n);
    const auto prepacked = [&] {
      fd::kernels::sgemm_packed(p.ta, p.m, a.data(), acols, packed, false, c1.data(), p.n);
    };
    double best_own = 1e30, best_blas = 1e30, best_packed = 1e30;
    for (int r = 0; r < rounds; ++r) {
      best_own = std::min(best_own, seconds_per_call(own, flops));
      best_blas = std::min(best_blas, seconds_per_call(blas, flops));
      best_packed = std::min(best_packed, seconds_per_call(prepacked, flops));
    }
    double diff = 0;  // c1 last written by the packed-B product
    for (size_t i = 0; i < c1.size(); ++i) diff = std::max(diff, double(std::fabs(c1[i] - c2[i])));
    std::printf("%-3s %-3s %6ld %6ld %6ld   %8.1f   %8.1f   %5.2f   %8.1f   %.2g\n", p.ta ? "T" : "N", p.tb ? "T" : "N",
                p.m, p.n, p.k, flops / best_own / 1e9, flops / best_blas / 1e9, best_blas / best_own,
                flops / best_packed / 1e9, diff);
  }
}
