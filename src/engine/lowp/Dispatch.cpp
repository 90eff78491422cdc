#include "Dispatch.h"

#include <cpuid.h>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace fd::lowp {

namespace {

// Linux keeps AMX's 8 KB of tile state off until a process asks for it (arch/x86/include/uapi/asm/prctl.h).
constexpr int kArchReqXcompPerm = 0x1023;
constexpr int kXfeatureXtiledata = 18;

bool request_amx_permission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

unsigned long long xgetbv0() {
  unsigned int eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  if (!osxsave) return f;
  const unsigned long long xcr0 = xgetbv0();
  const bool os_avx = (xcr0 & 0x6) == 0x6;             // XMM and YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_amx = (xcr0 & (3ull << 17)) == (3ull << 17);  // XTILECFG, XTILEDATA
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const unsigned int ebx7 = ebx, ecx7 = ecx, edx7 = edx;
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  const unsigned int eax7_1 = eax;
  f.avx2 = os_avx && (ebx7 & (1u << 5));
  f.avxvnni = os_avx && (eax7_1 & (1u << 4));
  f.avx512f = os_avx512 && (ebx7 & (1u << 16));
  f.avx512bw = f.avx512f && (ebx7 & (1u << 30));
  f.avx512vnni = f.avx512bw && (ecx7 & (1u << 11));
  f.avx512bf16 = f.avx512bw && (eax7_1 & (1u << 5));
  const bool cpu_amx = os_amx && (edx7 & (1u << 24));
  if (cpu_amx && f.avx512bw && request_amx_permission()) {
    f.amx_tile = true;
    f.amx_bf16 = edx7 & (1u << 22);
    f.amx_int8 = edx7 & (1u << 25);
  }
  return f;
}

struct Choice {
  Bf16Path bf16;
  Int8Path int8;
};

Choice best(const CpuFeatures& f) {
  Choice c{Bf16Path::Emulated, Int8Path::Portable};
  if (f.amx_bf16) c.bf16 = Bf16Path::Amx;
  else if (f.avx512bf16) c.bf16 = Bf16Path::Avx512Bf16;
  if (f.amx_int8) c.int8 = Int8Path::Amx;
  else if (f.avx512vnni) c.int8 = Int8Path::Avx512Vnni;
  else if (f.avxvnni) c.int8 = Int8Path::AvxVnni;
  return c;
}

// A forced name selects the first path at or below it that the CPU has.
Choice forced(const CpuFeatures& f, const std::string& name) {
  Choice c = best(f);
  if (name.empty() || name == "auto") return c;
  if (name == "amx") return c;
  if (name == "avx512bf16" || name == "avx512vnni") {
    if (c.bf16 == Bf16Path::Amx) c.bf16 = f.avx512bf16 ? Bf16Path::Avx512Bf16 : Bf16Path::Emulated;
    if (c.int8 == Int8Path::Amx) c.int8 = f.avx512vnni ? Int8Path::Avx512Vnni : (f.avxvnni ? Int8Path::AvxVnni : Int8Path::Portable);
    return c;
  }
  if (name == "avxvnni") {
    c.bf16 = Bf16Path::Emulated;
    c.int8 = f.avxvnni ? Int8Path::AvxVnni : Int8Path::Portable;
    return c;
  }
  if (name == "emulated" || name == "portable") return {Bf16Path::Emulated, Int8Path::Portable};
  throw std::invalid_argument("FASTDENSE_LOWP: expected amx, avx512bf16, avx512vnni, avxvnni or emulated, got '" +
                              name + "'");
}

Choice& current() {
  static Choice choice = [] {
    const char* env = std::getenv("FASTDENSE_LOWP");
    try {
      return forced(cpu_features(), env ? env : "");
    } catch (const std::invalid_argument&) {
      return best(cpu_features());  // an unreadable setting must not stop the module from loading
    }
  }();
  return choice;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

Bf16Path bf16_path() { return current().bf16; }
Int8Path int8_path() { return current().int8; }

void set_forced_path(const std::string& name) { current() = forced(cpu_features(), name); }

std::string name_of(Bf16Path path) {
  switch (path) {
    case Bf16Path::Amx: return "amx";
    case Bf16Path::Avx512Bf16: return "avx512bf16";
    default: return "emulated";
  }
}

std::string name_of(Int8Path path) {
  switch (path) {
    case Int8Path::Amx: return "amx";
    case Int8Path::Avx512Vnni: return "avx512vnni";
    case Int8Path::AvxVnni: return "avxvnni";
    default: return "portable";
  }
}

}  // namespace fd::lowp
