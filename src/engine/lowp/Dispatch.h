// Which reduced-precision kernels this machine runs: detected once from cpuid (and, for AMX, the
// operating system's permission to use the tile registers), or forced with the environment
// variable FASTDENSE_LOWP=amx|avx512bf16|avx512vnni|avxvnni|emulated (a path the CPU lacks falls
// back to the best one it has, so a forced setting never crashes on another machine).
#pragma once

#include <string>

namespace fd::lowp {

// bfloat16 x bfloat16 -> float32 products.
enum class Bf16Path { Amx, Avx512Bf16, Emulated };
// int8 x int8 -> int32 products.
enum class Int8Path { Amx, Avx512Vnni, AvxVnni, Portable };

struct CpuFeatures {
  bool amx_tile = false, amx_bf16 = false, amx_int8 = false;  // cpuid, and the kernel granted the tiles
  bool avx512f = false, avx512bw = false, avx512bf16 = false, avx512vnni = false, avxvnni = false, avx2 = false;
};

// Detected once; AMX's features are true only after arch_prctl(ARCH_REQ_XCOMP_PERM) succeeded.
const CpuFeatures& cpu_features();

// The paths in use (FASTDENSE_LOWP, read once, narrows them; set_forced_path changes it later).
Bf16Path bf16_path();
Int8Path int8_path();
// Forces both paths by name ("" = automatic); tests use it to run every available path.
// Throws std::invalid_argument for an unknown name.
void set_forced_path(const std::string& name);

std::string name_of(Bf16Path path);
std::string name_of(Int8Path path);

}  // namespace fd::lowp
