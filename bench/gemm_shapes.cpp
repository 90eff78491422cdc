// Eigen's matrix product, OpenBLAS (scipy-openblas32) with its own threads, and the engine's
// fd::multiply (OpenBLAS single-threaded in one OpenMP slab per thread) on the benchmark's Dense
// shapes: the measurement behind src/engine/MatrixProduct.h. For x (n×k) and W (k×m) it times the
// three products of a Dense layer, forward x·W, dW = xᵀ·dZ and dX = dZ·Wᵀ, and prints GFLOP/s.
//
//   SP=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
//   g++ -O3 -march=native -fopenmp -DEIGEN_NO_DEBUG -DFASTDENSE_OPENBLAS bench/gemm_shapes.cpp \
//       src/engine/kernels/Gemm*.cpp src/engine/lowp/Dispatch.cpp -o /tmp/gemm_shapes \
//       -Isrc -I$SP/cmeel.prefix/include/eigen3 -I$SP/scipy_openblas32/include \
//       -L$SP/scipy_openblas32/lib -lscipy_openblas -Wl,-rpath,$SP/scipy_openblas32/lib
//   OMP_WAIT_POLICY=PASSIVE GOMP_SPINCOUNT=3000 /tmp/gemm_shapes 2    # threads; fastdense's wait policy
// (The engine's column is the default path: on a CPU with AVX2, its small float32 slabs run on
// fastdense's own kernel, hence the kernel sources; FASTDENSE_KERNEL is not read here.)
#include <Eigen/Core>
#include <cblas.h>

#include "engine/MatrixProduct.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// GFLOP/s of `product`, timed over repetitions doubling until they take 0.3 s.
template <typename Product>
double gflops(Product product, double flops) {
  product();
  for (long reps = 1;; reps *= 2) {
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < reps; ++i) product();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 0.3) return flops * reps / seconds / 1e9;
  }
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  fd::engine_threads() = threads;
  const int shapes[][3] = {{32, 784, 256},   {128, 784, 256},  {512, 784, 256},   {128, 256, 256},
                           {128, 256, 10},   {512, 1024, 4096}, {512, 4096, 4096}, {512, 4096, 1024},
                           {4096, 4096, 4096}};
  std::printf("threads %d; GFLOP/s of x·W, xᵀ·dZ, dZ·Wᵀ (engine: OpenBLAS in OpenMP slabs)\n", threads);
  for (const auto& shape : shapes) {
    const int n = shape[0], k = shape[1], m = shape[2];
    Matrix x = Matrix::Random(n, k), w = Matrix::Random(k, m), dz = Matrix::Random(n, m);
    Matrix z(n, m), dw(k, m), dx(n, k);
    const double flops = 2.0 * n * k * m;
    Eigen::setNbThreads(threads);
    const double eigen[3] = {gflops([&] { z.noalias() = x * w; }, flops),
                             gflops([&] { dw.noalias() = x.transpose() * dz; }, flops),
                             gflops([&] { dx.noalias() = dz * w.transpose(); }, flops)};
    scipy_openblas_set_num_threads(threads);  // OpenBLAS's own pool
    const double blas[3] = {
        gflops([&] { scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, k, 1, x.data(), k, w.data(), m,
                                       0, z.data(), m); }, flops),
        gflops([&] { scipy_cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, m, n, 1, x.data(), k, dz.data(), m,
                                       0, dw.data(), m); }, flops),
        gflops([&] { scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, m, 1, dz.data(), m, w.data(), m,
                                       0, dx.data(), k); }, flops)};
    // The engine runs OpenBLAS single-threaded inside its OpenMP slabs (configure_matrix_products):
    // left at `threads`, OpenBLAS would start its own pool inside each slab, two pools on the cores.
    scipy_openblas_set_num_threads(1);
    using fd::Transpose;
    const double engine[3] = {gflops([&] { fd::multiply(z, x, Transpose::No, w, Transpose::No); }, flops),
                              gflops([&] { fd::multiply(dw, x, Transpose::Yes, dz, Transpose::No); }, flops),
                              gflops([&] { fd::multiply(dx, dz, Transpose::No, w, Transpose::Yes); }, flops)};
    std::printf("%5d x %5d x %5d   Eigen %6.1f %6.1f %6.1f   OpenBLAS %6.1f %6.1f %6.1f   engine %6.1f %6.1f %6.1f\n",
                n, k, m, eigen[0], eigen[1], eigen[2], blas[0], blas[1], blas[2], engine[0], engine[1], engine[2]);
  }
}
